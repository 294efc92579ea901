// The embedded default end to end (issue 5): `strata start` with no Kafka, events over HTTP,
// kill -9, start again — every answer exact, before and after batch runs.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import {
  answer,
  covered,
  exampleConfig,
  hourlyCounts,
  pageViews,
  startStrata,
  waitFor,
  windowsOf,
} from './start-helpers.ts'

test('embedded default: exact answers across kill -9, restart and batch runs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-start-'))
  const args = ['--config', exampleConfig, '--data', dir, '--batch-interval', '2s', '--segment-age', '1s']
  let current = await startStrata(dir, args, 1)
  t.after(async () => {
    current.child.kill('SIGKILL')
    await current.exited
    await rm(dir, { recursive: true, force: true })
  })
  const events = pageViews(3000, 5)
  const post = async (slice: typeof events) => {
    const res = await fetch(`${current.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: slice.map((e) => JSON.stringify(e)).join('\n'),
    })
    assert.equal(res.status, 202, await res.text())
  }
  const exactFor = async (sent: typeof events) => {
    // Wait until the answer covers every accepted offset, then it must be exact.
    await waitFor(
      async () => covered(await answer(current.url, 'pageviews_by_url', '/a')) >= sent.length,
      'asOf to cover the events',
    )
    for (const url of ['/a', '/b', '/c', '/d']) {
      const got = await answer(current.url, 'pageviews_by_url', url)
      assert.equal(covered(got), sent.length)
      assert.deepEqual(windowsOf(got), hourlyCounts(sent, url), url)
    }
  }

  await post(events.slice(0, 1000))
  await exactFor(events.slice(0, 1000))

  current.child.kill('SIGKILL')
  await current.exited
  current = await startStrata(dir, args, 2)
  await exactFor(events.slice(0, 1000))

  await post(events.slice(1000, 2000))
  await post(events.slice(2000))
  await exactFor(events)
  // A batch run serves a version, and answers stay exact with batch ⊕ realtime.
  await waitFor(
    async () => (await answer(current.url, 'pageviews_by_url', '/a')).batch !== null,
    'a batch version',
  )
  await exactFor(events)
  current.child.kill('SIGKILL')
  await current.exited
  current = await startStrata(dir, args, 3)
  await exactFor(events)
})
