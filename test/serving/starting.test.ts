// The port is bound before the layers start (serving/starting.ts): until the gate opens, every
// route answers 503 STRATA_ERR_STARTING with Retry-After and /health says "starting"; the store
// and the sink, made after the app, are stand-ins that forward once set; then it serves as usual.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { EventSink, SinkRecord } from '../../src/ingest/ingest.ts'
import { createApp, listen } from '../../src/serving/app.ts'
import { createStartingGate, later } from '../../src/serving/starting.ts'
import type { Store } from '../../src/store/store.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { config, mergedScenario, openStore } from './fixture.ts'

test('routes answer 503 STRATA_ERR_STARTING until the layers are up, then serve', async (t) => {
  const defer = deferrer(t)
  const starting = createStartingGate()
  const store = later<Store>()
  const sink = later<EventSink>()
  // Opened before the app, so that the app (which reads it once the gate opens) is closed first.
  const real = await openStore(t)
  const app = await createApp({ config, store: store.value, sink: sink.value, starting })
  defer(() => app.close())
  const { url } = await listen(app, { port: 0 })
  const event = `${JSON.stringify({ type: 'page_view', url: '/a', user: 'u1', ts: '2026-01-01T00:00:00Z' })}\n`
  const postEvent = () =>
    fetch(`${url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: event,
    })

  const health = await fetch(`${url}/health`)
  assert.equal(health.status, 503)
  assert.deepEqual(await health.json(), { status: 'starting' })
  for (const response of [await fetch(`${url}/views`), await postEvent(), await fetch(`${url}/metrics`)]) {
    assert.equal(response.status, 503)
    assert.equal(response.headers.get('retry-after'), '1')
    assert.equal(((await response.json()) as any).error.code, 'STRATA_ERR_STARTING')
  }

  await mergedScenario(real)
  const written: SinkRecord[] = []
  store.set(real)
  sink.set({ append: async (records) => records.map((r) => ({ partition: 0, offset: written.push(r) - 1 })) })
  starting.open()
  assert.equal((await fetch(`${url}/health`)).status, 200)
  assert.equal((await postEvent()).status, 202)
  assert.equal(written.length, 1)
  const answer = (await (
    await fetch(`${url}/views/pageviews_by_url/${encodeURIComponent('/a')}`)
  ).json()) as any
  assert.deepEqual(
    answer.windows.map((w: { value: number }) => w.value),
    [9, 5, 1],
  )
})

test('a port in use is STRATA_ERR_PORT_IN_USE', async (t) => {
  const defer = deferrer(t)
  const first = await createApp({ config, store: await openStore(t) })
  defer(() => first.close())
  const { url } = await listen(first, { port: 0 })
  const second = await createApp({ config, store: await openStore(t) })
  defer(() => second.close())
  await assert.rejects(listen(second, { port: Number(new URL(url).port) }), {
    code: 'STRATA_ERR_PORT_IN_USE',
    message: /port \d+ on 127\.0\.0\.1 is in use .*give another --port/,
  })
})
