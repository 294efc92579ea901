// One writer per data folder (issue 11): on main, two `strata start --data same` both answered 202
// and lost a part of what they acknowledged; a second start that died on "port in use" had first
// claimed the speed partitions. Now the second is refused at start (STRATA_ERR_DATA_LOCKED, the
// holder's pid) or on the port (STRATA_ERR_PORT_IN_USE) before touching anything, and the first
// keeps every event it acknowledged. kill -9 of the holder frees the folder (the OS lets go).
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { readHolder } from '../../src/runtime/data-lock.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { freePort, spawnStrata } from '../helpers/process.ts'
import {
  answer,
  covered,
  exampleConfig,
  hourlyCounts,
  type PageView,
  pageViews,
  type Started,
  startStrata,
  waitFor,
  windowsOf,
} from './start-helpers.ts'

async function scratch(t: TestContext): Promise<string> {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-one-writer-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  return dir
}

const argsFor = (dir: string) => [
  '--config',
  exampleConfig,
  '--data',
  dir,
  '--batch-interval',
  '2s',
  '--segment-age',
  '1s',
]

/** POSTs the events; resolves with those acknowledged (202). */
async function post(url: string, events: PageView[]): Promise<PageView[]> {
  const res = await fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: events.map((e) => JSON.stringify(e)).join('\n'),
  }).catch(() => undefined)
  await res?.text()
  return res?.status === 202 ? events : []
}

/** Waits until the answers cover every acknowledged event, then they must be exact. */
async function assertExact(url: string, acknowledged: PageView[]): Promise<void> {
  await waitFor(
    async () => covered(await answer(url, 'pageviews_by_url', '/a')) >= acknowledged.length,
    'the answers to cover every acknowledged event',
  )
  for (const key of ['/a', '/b', '/c', '/d']) {
    const got = await answer(url, 'pageviews_by_url', key)
    assert.equal(covered(got), acknowledged.length, key)
    assert.deepEqual(windowsOf(got), hourlyCounts(acknowledged, key), key)
  }
}

/** Runs `strata <args>` to its end; returns its exit code and the lines it printed. */
async function runToEnd(args: string[]): Promise<{ code: number | null; lines: string[] }> {
  const run = spawnStrata(args)
  const code = await run.exited
  return { code, lines: run.output().split('\n').filter(Boolean) }
}

function stopAfter(t: TestContext, get: () => Started) {
  const defer = deferrer(t)
  defer(async () => {
    get().child.kill('SIGKILL')
    await get().exited
  })
}

test('a second strata start on the same data folder is refused naming the holder; the first keeps all it acknowledged', async (t) => {
  const dir = await scratch(t)
  const args = argsFor(dir)
  let first = await startStrata(dir, args, 1)
  stopAfter(t, () => first)
  const port = new URL(first.url).port
  const events = pageViews(6000, 11)
  const acknowledged: PageView[] = []
  // Traffic all along, as a user's clients would send it.
  let sending = true
  const traffic = (async () => {
    for (let i = 0; sending && i < 20; i++) {
      acknowledged.push(...(await post(first.url, events.slice(i * 200, (i + 1) * 200))))
    }
  })()

  for (const second of [
    ['start', '--port', String(await freePort()), ...args], // same data, another port
    ['start', '--port', port, ...args], // same data, same port
  ]) {
    const { code, lines } = await runToEnd(second)
    assert.equal(code, 1, lines.join('\n'))
    const refusals = lines.filter((line) => line.includes('STRATA_ERR_DATA_LOCKED'))
    assert.equal(refusals.length, 1, lines.join('\n'))
    assert.match(refusals[0], new RegExp(`in use by strata pid ${first.child.pid} \\(strata start, since `))
  }
  sending = false
  await traffic
  assert.ok(acknowledged.length > 0)
  await assertExact(first.url, acknowledged)
  acknowledged.push(...(await post(first.url, events.slice(4000, 5000))))
  await assertExact(first.url, acknowledged)

  // kill -9 of the holder: the OS releases the lock; a new start takes it and serves exactly
  // what was acknowledged.
  first.child.kill('SIGKILL')
  await first.exited
  first = await startStrata(dir, args, 2)
  assert.equal(readHolder(dir)?.pid, first.child.pid)
  await assertExact(first.url, acknowledged)
  // The master dataset holds them too, ungarbled: a batch run over it serves, still exact.
  await waitFor(
    async () => (await answer(first.url, 'pageviews_by_url', '/a')).batch !== null,
    'a batch version over the master dataset',
  )
  await assertExact(first.url, acknowledged)
})

test('a second strata start on a port in use fails before it writes anything; the first goes on counting', async (t) => {
  const dir = await scratch(t)
  const other = await scratch(t)
  const first = await startStrata(dir, argsFor(dir), 1)
  stopAfter(t, () => first)
  const port = new URL(first.url).port
  const events = pageViews(2000, 12)
  const acknowledged = await post(first.url, events.slice(0, 1000))

  const { code, lines } = await runToEnd(['start', '--port', port, ...argsFor(other)])
  assert.equal(code, 1, lines.join('\n'))
  assert.equal(lines.filter((line) => line.includes('STRATA_ERR_PORT_IN_USE')).length, 1, lines.join('\n'))
  assert.equal(existsSync(join(other, 'master')), false, 'no master dataset was opened')
  assert.equal(readHolder(other), undefined, 'the lock was released')

  acknowledged.push(...(await post(first.url, events.slice(1000))))
  await assertExact(first.url, acknowledged)
})
