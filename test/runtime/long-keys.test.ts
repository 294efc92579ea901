// Issue 12, item 1: one valid event whose key is 3,000 characters (past LMDB's 1,978-byte keys)
// used to stop its partition's speed layer and every batch run for good. Now it is counted like
// any other key, in both layers, and answered by GET /views/:view/:key and /top.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { deferrer } from '../helpers/cleanup.ts'
import { exampleConfig, startStrata, waitFor } from './start-helpers.ts'

test('a 3,000-character key is folded, recomputed and answered like any other', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-long-key-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const strata = await startStrata(
    dir,
    ['--config', exampleConfig, '--data', join(dir, 'data'), '--batch-interval', '1s', '--segment-age', '1s'],
    1,
  )
  defer(() => {
    strata.child.kill('SIGKILL')
  })
  const long = `/${'a'.repeat(2999)}`
  const ts = Date.UTC(2026, 0, 1, 10)
  const events = [
    ...Array.from({ length: 3 }, (_, i) => ({ type: 'page_view', url: long, user: `u${i}`, ts })),
    { type: 'page_view', url: '/short', user: 'u9', ts },
  ]
  const posted = await fetch(`${strata.url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: events.map((e) => JSON.stringify(e)).join('\n'),
  })
  assert.equal(posted.status, 202)
  const value = async (key: string) => {
    const response = await fetch(`${strata.url}/views/pageviews_by_url/${encodeURIComponent(key)}`)
    assert.equal(response.status, 200)
    return (await response.json()) as { key: string; windows: Array<{ value: number }>; batch: unknown }
  }
  await waitFor(
    async () => (await value('/short')).windows[0]?.value === 1,
    'the short key in the speed layer',
  )
  assert.equal((await value(long)).windows[0]?.value, 3)
  assert.equal((await value(long)).key, long)
  // A batch version covers them (the batch run did not fail on the long key).
  await waitFor(async () => (await value(long)).batch !== null, 'a batch version', 30_000)
  assert.equal((await value(long)).windows[0]?.value, 3)
  const top = (await (await fetch(`${strata.url}/views/top_urls/all`)).json()) as {
    value: Array<{ item: string }>
  }
  assert.ok(JSON.stringify(top).includes(long))
  const ranked = (await (await fetch(`${strata.url}/views/pageviews_by_url/top?limit=5`)).json()) as {
    items: Array<{ key: string; value: number }>
  }
  assert.deepEqual(ranked.items[0], { key: long, value: 3 })
})
