// A batch run's answer given to the LMDB store keyed (BatchStage.putKeyed: each distinct key once,
// a key number per entry; lmdb-batch.ts groups them by a counting sort) must make the very rows
// the per-entry columns make (putColumns: grouped by a map of the key strings): every entry once,
// none dropped, none doubled, in the same rows, in the same order.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import fc from 'fast-check'
import { BatchRows, ROW_WINDOWS } from '../../src/store/lmdb-batch.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import type { EntryColumns, KeyedColumns } from '../../src/store/store.ts'
import { deferrer } from '../helpers/cleanup.ts'

// Distinct keys (a long one among them, stored by its hash), and entries that use some of them:
// windows in any order, a window of a key repeated now and then (a later entry of a group wins),
// and sometimes one key with more windows than a row holds.
const keyedColumns = fc
  .record({
    keys: fc.uniqueArray(fc.oneof(fc.string({ maxLength: 6 }), fc.constant('x'.repeat(600))), {
      minLength: 1,
      maxLength: 12,
    }),
    picks: fc.array(
      fc.tuple(fc.nat(), fc.integer({ min: -5, max: 40 }), fc.oneof(fc.double(), fc.string())),
      {
        maxLength: 200,
      },
    ),
    long: fc.boolean(),
  })
  .map(({ keys, picks, long }): KeyedColumns => {
    const keyIndex: number[] = []
    const windows: number[] = []
    const states: unknown[] = []
    for (const [k, w, s] of picks) {
      keyIndex.push(k % keys.length)
      windows.push(w * 3_600_000)
      states.push(s)
    }
    if (long) {
      for (let w = ROW_WINDOWS + 30; w >= 0; w--) {
        keyIndex.push(0)
        windows.push(w)
        states.push(w)
      }
    }
    return { keys, keyIndex: Uint32Array.from(keyIndex), windows, states }
  })

function perEntry({ keys, keyIndex, windows, states }: KeyedColumns): EntryColumns {
  return { keys: Array.from(keyIndex, (k) => keys[k]!), windows, states }
}

test('keyed columns make the rows the per-entry columns make, entry for entry', () => {
  fc.assert(
    fc.property(keyedColumns, (keyed) => {
      const byMap = new BatchRows()
      byMap.addColumns(perEntry(keyed))
      const byNumber = new BatchRows()
      byNumber.addKeyed(keyed)
      assert.deepEqual([...byNumber.rows()], [...byMap.rows()])
      assert.equal(byNumber.size, byMap.size)
    }),
    { numRuns: 300 },
  )
})

test('keyed columns after other puts, twice, or with a key twice, still make the same rows', () => {
  fc.assert(
    fc.property(keyedColumns, keyedColumns, (a, b) => {
      const expected = new BatchRows()
      expected.addColumns(perEntry(a))
      expected.addColumns(perEntry(b))
      const twice = new BatchRows()
      twice.addKeyed(a)
      twice.addKeyed(b)
      assert.deepEqual([...twice.rows()], [...expected.rows()])
      const mixed = new BatchRows()
      mixed.addColumns(perEntry(a))
      mixed.addKeyed(b)
      assert.deepEqual([...mixed.rows()], [...expected.rows()])
      // The same key under two numbers: the map's grouping, not two rows of one key.
      const doubled: KeyedColumns = {
        ...a,
        keys: [...a.keys, a.keys[0]!],
        keyIndex: a.keyIndex.map((k, i) => (i % 2 === 0 && k === 0 ? a.keys.length : k)),
      }
      const one = new BatchRows()
      one.addColumns(perEntry(doubled))
      const keyed = new BatchRows()
      keyed.addKeyed(doubled)
      assert.deepEqual([...keyed.rows()], [...one.rows()])
    }),
    { numRuns: 200 },
  )
})

test('a key number past the keys is refused, not dropped', () => {
  const rows = new BatchRows()
  assert.throws(() =>
    rows.addKeyed({ keys: ['a'], keyIndex: Uint32Array.of(0, 1), windows: [0, 0], states: [1, 2] }),
  )
  assert.throws(() =>
    rows.addKeyed({ keys: ['a'], keyIndex: Uint32Array.of(0), windows: [0, 1], states: [1] }),
  )
})

test('a version staged keyed stores what the same entries staged as columns store', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-lmdb-keyed-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const store = await openLmdbStore(dir)
  defer(() => store.close())
  const meta = { codeHash: 'h', horizon: [1], events: 1, groups: 0, startedAt: 0, completedAt: 1 }
  const scan = async (view: string, version: number) => {
    const out: unknown[] = []
    for await (const e of store.scanBatch(view, version)) out.push(e)
    return out
  }
  await fc.assert(
    fc.asyncProperty(keyedColumns, async (keyed) => {
      const columns = await store.stageBatch('columns')
      await columns.putColumns!(perEntry(keyed))
      const a = await columns.commit(meta)
      const byKey = await store.stageBatch('keyed')
      await byKey.putKeyed!(keyed)
      const b = await byKey.commit(meta)
      const stored = await scan('keyed', b.version)
      assert.deepEqual(stored, await scan('columns', a.version))
      // Every distinct (key, window) of the input once, whatever the row split.
      const groups = new Set(
        Array.from(keyed.keyIndex, (k, i) => `${keyed.keys[k]}\u0000${keyed.windows[i]}`),
      )
      assert.equal(stored.length, groups.size)
    }),
    { numRuns: 40 },
  )
})

test('keyed columns with no key, or keys no entry uses, make no row', () => {
  const none = new BatchRows()
  none.addKeyed({ keys: [], keyIndex: new Uint32Array(0), windows: [], states: [] })
  assert.deepEqual([...none.rows()], [])
  assert.equal(none.size, 0)
  const unused = new BatchRows()
  unused.addKeyed({ keys: ['a', 'b', 'c'], keyIndex: Uint32Array.of(2, 2), windows: [0, 1], states: [1, 2] })
  assert.deepEqual(
    [...unused.rows()],
    [
      [
        'c',
        [
          [
            0,
            [
              [0, 1],
              [1, 2],
            ],
          ],
        ],
      ],
    ],
  )
  assert.equal(unused.size, 1)
})

test('a version staged keyed and aborted is never served, and the next one is', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-lmdb-keyed-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const store = await openLmdbStore(dir)
  defer(() => store.close())
  const meta = { codeHash: 'h', horizon: [1], events: 1, groups: 1, startedAt: 0, completedAt: 1 }
  const keyed = { keys: ['a', 'b'], keyIndex: Uint32Array.of(0, 1, 0), windows: [0, 0, 1], states: [1, 2, 3] }
  const aborted = await store.stageBatch('v')
  await aborted.putKeyed!(keyed)
  await aborted.abort()
  await assert.rejects(aborted.putKeyed!(keyed))
  assert.deepEqual(await store.listBatchViews(), [])
  const stored: unknown[] = []
  for await (const e of store.scanBatch('v', aborted.version)) stored.push(e)
  assert.deepEqual(stored, [])
  const next = await store.stageBatch('v')
  await next.putKeyed!({ ...keyed, states: [4, 5, 6] })
  const served = await next.commit(meta)
  assert.deepEqual(
    (await store.listBatchViews()).map((m) => m.version),
    [served.version],
  )
  const entries: unknown[] = []
  for await (const e of store.scanBatch('v', served.version)) entries.push(e)
  assert.deepEqual(entries, [
    { key: 'a', window: 0, state: 4 },
    { key: 'a', window: 1, state: 6 },
    { key: 'b', window: 0, state: 5 },
  ])
})
