// createApp + listen, as `strata start` and `strata worker serve` use them, on a real port.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { SinkRecord } from '../../src/ingest/ingest.ts'
import { createApp, listen } from '../../src/serving/app.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { config, mergedScenario, openStore } from './fixture.ts'

test("createApp serves the config's views and ingests with the source's time field, on a real port", async (t) => {
  const defer = deferrer(t)
  const store = await openStore(t)
  await mergedScenario(store)
  const written: SinkRecord[] = []
  const sink = {
    async append(records: SinkRecord[]) {
      return records.map((r) => ({ partition: 0, offset: written.push(r) - 1 }))
    },
  }
  const app = await createApp({ config, store, sink, endOffsets: async () => [15, 6, 0, 0, 0, 0] })
  defer(() => app.close())
  const { url } = await listen(app, { port: 0 })
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)

  const posted = await fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: `${JSON.stringify({ type: 'page_view', url: '/a', user: 'u1', ts: '2026-01-01T00:00:00Z' })}\n`,
  })
  assert.equal(posted.status, 202)
  assert.equal(written.length, 1)

  const views = (await (await fetch(`${url}/views`)).json()) as any
  assert.deepEqual(
    views.views.map((v: { name: string }) => v.name),
    config.views.map((v) => v.name),
  )
  assert.deepEqual(views.views[0].lag, [0, 0, 0, 0, 0, 0])

  const answer = (await (
    await fetch(`${url}/views/pageviews_by_url/${encodeURIComponent('/a')}`)
  ).json()) as any
  assert.deepEqual(
    answer.windows.map((w: { value: number }) => w.value),
    [9, 5, 1],
  )
  assert.equal((await fetch(`${url}/health`)).status, 200)
})

test('a serve-only app has no POST /events', async (t) => {
  const defer = deferrer(t)
  const store = await openStore(t)
  const app = await createApp({ config, store })
  defer(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/events', payload: {} })
  assert.equal(res.statusCode, 404)
  assert.equal((await app.inject('/views')).statusCode, 200)
})
