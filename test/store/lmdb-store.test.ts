import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { open } from 'lmdb'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import type { Store } from '../../src/store/store.ts'
import { speedContract } from './speed-contract.ts'
import { type OpenStore, storeContract } from './store-contract.ts'

const openStore: OpenStore = async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-lmdb-'))
  let current: Store = await openLmdbStore(dir)
  t.after(async () => {
    await current.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return {
    store: current,
    reopen: async () => {
      await current.close()
      current = await openLmdbStore(dir)
      return current
    },
  }
}

storeContract(test, openStore)
speedContract(test, openStore)

// Regression: opening the store dropped every staged version, including one that another live
// process sharing the folder (`strata batch` beside `strata start`) was still writing.
test('a version staged by another live process survives an open', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-lmdb-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const writer = await openLmdbStore(dir)
  const stage = await writer.stageBatch('v')
  await stage.put([{ key: 'k', window: 0, state: 1 }])
  // Mark the stage as owned by a live process other than this one: our parent.
  const raw = open<unknown, (string | number)[]>({ path: dir, compression: false })
  await raw.put(['staged', 'v', stage.version], process.ppid)
  const other = await openLmdbStore(dir)
  const served = await stage.commit({
    codeHash: 'h',
    horizon: [1],
    events: 1,
    groups: 1,
    startedAt: 0,
    completedAt: 1,
  })
  assert.deepEqual(
    (await other.readBatch('v', served.version, 'k')).map((e) => e.state),
    [1],
  )
  await other.close()
  await writer.close()
  await raw.close()
})

// The epoch index is one row per commit and epoch, not one per state row; GC must still remove
// every state row of a collected epoch, whichever commit created it.
test('speed GC removes every row of a collected epoch', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-lmdb-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const store = await openLmdbStore(dir)
  const add = (_view: string, a: unknown, b: unknown) => (a as number) + (b as number)
  const row = (epoch: number, key: string, state: number) => ({ view: 'hits', epoch, key, window: 0, state })
  const base = { partition: 0, owner: 1, hashes: { hits: 'h1' } }
  await store.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 1)
  await store.claimPartition(0, 0)
  await store.commitSpeed(
    { ...base, from: 0, offset: 5, deltas: [row(0, '/a', 1), row(0, '/b', 1)], seals: [] },
    add,
  )
  await store.commitSpeed(
    { ...base, from: 5, offset: 9, deltas: [row(0, '/a', 1), row(0, '/c', 1)], seals: [] },
    add,
  )
  await store.commitSpeed(
    { ...base, from: 9, offset: 12, deltas: [row(0, '/d', 1), row(10, '/a', 1)], seals: [10] },
    add,
  )
  const raw = open<unknown, (string | number)[]>({ path: dir, compression: false })
  await store.collectEpochs([10])
  const left = (prefix: string) =>
    [...raw.getKeys({ start: [prefix], end: [prefix, '\uffff'] })].map((k) => JSON.stringify(k))
  assert.deepEqual(left('rt'), [JSON.stringify(['rt', 'hits', '/a', 0, 0, 10])])
  assert.deepEqual(left('re'), [JSON.stringify(['re', 0, 10, 12])])
  assert.deepEqual((await store.snapshot('hits', '/a')).realtime, [
    { partition: 0, epoch: 10, window: 0, state: 1 },
  ])
  await raw.close()
  await store.close()
})

// Regression: lmdb-js runs the transactions queued together in one LMDB transaction and kept the
// writes of a commit whose callback threw halfway (here the combine of its second row), so the
// rows it had written stayed while its offset did not move: the retry would count them twice.
test('a speed commit that throws halfway writes nothing, beside commits that share its transaction', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-lmdb-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const store = await openLmdbStore(dir)
  t.after(() => store.close())
  const add = (_view: string, a: unknown, b: unknown) => (a as number) + (b as number)
  const failing = () => {
    throw new Error('combine failed')
  }
  const row = (key: string, state: number) => ({ view: 'hits', epoch: 0, key, window: 0, state })
  await store.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 2)
  for (const p of [0, 1]) await store.claimPartition(p, 0)
  const base = (partition: number) => ({ partition, owner: 1, hashes: { hits: 'h1' }, seals: [] })
  await store.commitSpeed({ ...base(0), from: 0, offset: 1, deltas: [row('/b', 1)] }, add)
  const results = await Promise.allSettled([
    store.commitSpeed({ ...base(1), from: 0, offset: 3, deltas: [row('/a', 1)] }, add),
    // New row /a, then /b exists and its combine throws.
    store.commitSpeed({ ...base(0), from: 1, offset: 4, deltas: [row('/a', 5), row('/b', 5)] }, failing),
    store.commitSpeed({ ...base(1), from: 3, offset: 6, deltas: [row('/c', 1)] }, add),
  ])
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  )
  const offsets = (await store.speedPartitions()).map((p) => [p.partition, p.offset])
  assert.deepEqual(offsets, [
    [0, 1],
    [1, 6],
  ])
  const a = (await store.snapshot('hits', '/a')).realtime
  assert.deepEqual(a, [{ partition: 1, epoch: 0, window: 0, state: 1 }])
  assert.deepEqual((await store.snapshot('hits', '/b')).realtime, [
    { partition: 0, epoch: 0, window: 0, state: 1 },
  ])
  // The retry with a working combine counts each event once.
  await store.commitSpeed({ ...base(0), from: 1, offset: 4, deltas: [row('/a', 5), row('/b', 5)] }, add)
  assert.deepEqual(
    (await store.snapshot('hits', '/b')).realtime.map((r) => r.state),
    [6],
  )
})
