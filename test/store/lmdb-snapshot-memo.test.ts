// The snapshot memo (src/store/lmdb-snapshot-memo.ts) keeps the served batch record, the speed
// partitions, the speed view and the log rows of one read snapshot for every query in it. These
// fail if it ever serves what the current snapshot no longer holds: a flip, a commit or another
// handle's write (the speed layer's thread writes through a handle of its own).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { open } from 'lmdb'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import type { SpeedCommit, Store } from '../../src/store/store.ts'

const add = (_view: string, a: unknown, b: unknown) => (a as number) + (b as number)

async function openStore(t: TestContext): Promise<{ store: Store; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-memo-'))
  const store = await openLmdbStore(dir, { compactor: { auto: false } })
  t.after(async () => {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return { store, dir }
}

async function flip(store: Store, state: number, horizon: number): Promise<number> {
  const stage = await store.stageBatch('hits')
  await stage.put([{ key: '/a', window: 0, state }])
  const served = await stage.commit({
    codeHash: 'h1',
    horizon: [horizon],
    events: state,
    groups: 1,
    startedAt: 0,
    completedAt: Date.now(),
  })
  return served.version
}

function commit(from: number, offset: number, state: number): SpeedCommit {
  return {
    partition: 0,
    owner: 1,
    from,
    offset,
    hashes: { hits: 'h1' },
    deltas: [{ view: 'hits', epoch: 0, key: '/a', window: 0, state }],
    seals: [],
  }
}

test('a query right after a flip of this process reads the new version, not the memo of the old', async (t) => {
  const { store } = await openStore(t)
  const first = await flip(store, 1, 0)
  // Two queries of the snapshot: the second is answered from the memo.
  assert.equal((await store.snapshot('hits', '/b')).batch?.version, first)
  const before = await store.snapshot('hits', '/a')
  assert.equal(before.batch?.version, first)
  assert.deepEqual(
    before.batchEntries.map((e) => e.state),
    [1],
  )
  const second = await flip(store, 7, 0)
  const after = await store.snapshot('hits', '/a')
  assert.equal(after.batch?.version, second)
  assert.deepEqual(
    after.batchEntries.map((e) => e.state),
    [7],
  )
})

test('a speed commit moves the partition and adds its logged delta for the next query', async (t) => {
  const { store } = await openStore(t)
  await store.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 1)
  await store.claimPartition(0, 0)
  await store.commitSpeed(commit(0, 5, 2), add)
  const before = await store.snapshot('hits', '/a')
  assert.equal(before.speed[0]?.offset, 5)
  assert.deepEqual(
    before.realtime.map((r) => r.state),
    [2],
  )
  await store.commitSpeed(commit(5, 9, 3), add)
  const after = await store.snapshot('hits', '/a')
  assert.equal(after.speed[0]?.offset, 9)
  assert.deepEqual(
    after.realtime.map((r) => r.state),
    [2, 3],
  )
})

test("another handle's flip is seen by the first query of the next event-loop turn", async (t) => {
  const { store, dir } = await openStore(t)
  const first = await flip(store, 1, 0)
  assert.equal((await store.snapshot('hits', '/a')).batch?.version, first)
  // A second handle on the same folder, as the speed layer's thread (or another process) has:
  // its writes reset nothing of this handle's read transaction.
  const other = open<unknown, (string | number)[]>({ path: dir, compression: false })
  t.after(() => other.close())
  const served = (await store.servedBatch('hits'))!
  await other.transaction(() => {
    other.put(['b', 'hits', 99, '/a', 0], [[0], [42]]) // one key's windows and states (lmdb-batch.ts)
    other.put(['served', 'hits'], { ...served, version: 99 })
  })
  await sleep(5)
  const after = await store.snapshot('hits', '/a')
  assert.equal(after.batch?.version, 99)
  assert.deepEqual(
    after.batchEntries.map((e) => e.state),
    [42],
  )
})

test('the queries of one snapshot share its reads, and each sees its own key', async (t) => {
  const { store } = await openStore(t)
  const version = await flip(store, 4, 0)
  const [a, b] = await Promise.all([store.snapshot('hits', '/a'), store.snapshot('hits', '/b')])
  assert.equal(a.batch, b.batch) // one decoded record
  assert.equal(a.batch?.version, version)
  assert.deepEqual(
    a.batchEntries.map((e) => e.state),
    [4],
  )
  assert.deepEqual(b.batchEntries, [])
})
