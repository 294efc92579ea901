// The programmatic API (issue 14), as a program embedding Strata uses it: imported from the package
// root, the embedded pipeline started from code on a free port and a temp data folder, events in
// over HTTP, exact answers out; a second instance on the same data
// folder refused with STRATA_ERR_DATA_LOCKED; close() frees the port and the lock.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { isStrataError, startStrata } from '../../src/index.ts'
import { deferrer } from '../helpers/cleanup.ts'
import {
  answer,
  covered,
  exampleConfig,
  hourlyCounts,
  pageViews,
  waitFor,
  windowsOf,
} from './start-helpers.ts'

/** Whether a TCP port on loopback can be bound now. */
async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

test('startStrata runs the embedded pipeline from code: exact answers, one writer, close frees all', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-api-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const options = { config: exampleConfig, data: dir, port: 0, segmentAge: '1s', batchInterval: '2s' }
  const strata = await startStrata(options)
  defer(() => strata.close())
  assert.match(strata.url ?? '', /^http:\/\/127\.0\.0\.1:\d+$/)
  const url = strata.url!
  const port = Number(new URL(url).port)
  assert.notEqual(port, 8080, 'port 0 picks a free port')

  const events = pageViews(1200, 14)
  const post = async (contentType: string, body: string) => {
    const res = await fetch(`${url}/events`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    })
    assert.equal(res.status, 202, await res.clone().text())
    return ((await res.json()) as { count: number }).count
  }
  // NDJSON, and one event as application/json (the README's curl examples).
  const ndjson = events.slice(0, -1)
  assert.equal(
    await post('application/x-ndjson', ndjson.map((e) => JSON.stringify(e)).join('\n')),
    ndjson.length,
  )
  assert.equal(await post('application/json', JSON.stringify(events.at(-1))), 1)

  await waitFor(
    async () => covered(await answer(url, 'pageviews_by_url', '/a')) >= events.length,
    'asOf to cover every event',
  )
  for (const key of ['/a', '/b', '/c', '/d']) {
    const got = await answer(url, 'pageviews_by_url', key)
    assert.equal(covered(got), events.length)
    assert.deepEqual(windowsOf(got), hourlyCounts(events, key), key)
  }
  const health = await strata.health()
  assert.equal(health.healthy, true, JSON.stringify(health))
  assert.deepEqual(
    health.roles.map((r) => r.role).sort(),
    ['batch', 'log', 'speed'].sort(),
    JSON.stringify(health.roles),
  )

  // One writer per data folder: a second instance on it is refused, and binds nothing.
  const refused = await startStrata({ ...options, port: 0 }).then(
    (other) => {
      void other.close()
      assert.fail('a second instance started on the same data folder')
    },
    (error: unknown) => error,
  )
  assert.ok(isStrataError(refused), String(refused))
  assert.equal(refused.code, 'STRATA_ERR_DATA_LOCKED')
  assert.match(refused.message, new RegExp(`strata pid ${process.pid}`))

  await strata.close()
  await strata.close() // idempotent
  assert.equal(await portIsFree(port), true, 'the port is free after close()')
  // The lock is released: the same data folder starts again, and answers what it had.
  const again = await startStrata({ ...options, port })
  try {
    assert.equal(again.url, url)
    const got = await answer(url, 'pageviews_by_url', '/a')
    assert.deepEqual(windowsOf(got), hourlyCounts(events, '/a'))
  } finally {
    await again.close()
  }
})
