// A layout-4 store's speed log rows are of layout 5's flat form (the log had that one form from
// layout 2 to 5); the migration to layout 6 rewrites every value with its checksum and leaves the
// rows flat. They are answered, a compaction pass cut after one row folds part of one and writes
// what it keeps back as columns, and the rest is folded in commit order beside a row written
// after the upgrade (string states, whose combine is not commutative: an order changed shows).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { open } from 'lmdb'
import { ChecksummedValues } from '../../src/store/lmdb-checksum.ts'
import { compactLog, rowOf } from '../../src/store/lmdb-speed-log.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import type { RealtimeDelta } from '../../src/store/store.ts'
import { LMDB_FORMAT } from '../../src/store/store-format.ts'
import { deferrer } from '../helpers/cleanup.ts'

type Key = (string | number)[]

test('a layout-4 store with flat speed log rows is migrated, answered, folded in part and then in commit order', async (t) => {
  const defer = deferrer(t)
  const dir = mkdtempSync(join(tmpdir(), 'strata-log-row-'))
  defer(() => rmSync(dir, { recursive: true, force: true }))
  const combine = (_view: string, a: unknown, b: unknown) => (a as string) + (b as string)
  const both = { hits: 'h1', other: 'o1' }
  // A window per view, so a window read from the wrong place of a flat row shows.
  const row = (view: string, key: string, state: unknown): RealtimeDelta => ({
    view,
    epoch: 0,
    key,
    window: view === 'other' ? 3_600_000 : 0,
    state,
  })
  const commitOn = (
    store: Awaited<ReturnType<typeof openLmdbStore>>,
    from: number,
    offset: number,
    deltas: RealtimeDelta[],
  ) => store.commitSpeed({ partition: 0, owner: 1, hashes: both, seals: [], from, offset, deltas }, combine)

  const first = await openLmdbStore(dir, { compactor: { auto: false } })
  await first.registerSpeedViews(
    [
      { view: 'hits', codeHash: 'h1' },
      { view: 'other', codeHash: 'o1' },
    ],
    1,
  )
  await first.claimPartition(0, 0)
  await commitOn(first, 0, 4, [row('hits', '/a', 'A1'), row('other', '/a', 4)])
  await commitOn(first, 4, 6, [row('other', '/a', 2), row('hits', '/b', 'B2')])
  await commitOn(first, 6, 7, [row('hits', '/a', 'A3')])
  await first.close()

  // Every row as layout 4 wrote it: lmdb-js's own MessagePack, no checksum, log rows flat.
  const checked = open<unknown, Key>({ path: dir, compression: false, encoder: new ChecksummedValues() })
  const rows = [...checked.getRange({})].map(({ key, value }) => {
    if ((key as Key)[0] !== 'rl') return { key: key as Key, value }
    const r = rowOf(value)
    const d: unknown[] = []
    for (let i = 0; i < r.keys.length; i++)
      d.push(r.view[i], r.epochs[i], r.keys[i], r.windows[i], r.states[i])
    return { key: key as Key, value: { p: r.p, o: r.o, v: r.v, d } }
  })
  await checked.close()
  const plain = open<unknown, Key>({ path: dir, compression: false })
  await plain.transaction(() => {
    for (const { key, value } of rows) plain.put(key, value)
    plain.put(['format'], 4)
  })
  await plain.close()

  const store = await openLmdbStore(dir, { compactor: { auto: false } })
  defer(() => store.close())
  const raw = open<unknown, Key>({ path: dir, compression: false, encoder: new ChecksummedValues() })
  defer(() => raw.close())
  assert.equal(raw.get(['format']), LMDB_FORMAT)
  assert.equal(raw.get(['migrating']), undefined)
  const log = () => {
    raw.resetReadTxn()
    return [...raw.getRange({ start: ['rl'], end: ['rl', '\uffff'] })].map(({ key, value }) => {
      const r = rowOf(value)
      return [key[1], 'd' in (value as object) ? 'flat' : 'columns', r.v, Array.from(r.states)]
    })
  }
  assert.deepEqual(log(), [
    [1, 'flat', ['hits', 'other'], ['A1', 4]],
    [2, 'flat', ['other', 'hits'], [2, 'B2']],
    [3, 'flat', ['hits'], ['A3']],
  ])
  const answers = async () => ({
    a: (await store.snapshot('hits', '/a')).realtime.map((r) => r.state),
    b: (await store.snapshot('hits', '/b')).realtime.map((r) => r.state),
    other: (await store.snapshot('other', '/a')).realtime.reduce((s, r) => s + (r.state as number), 0),
    otherWindows: [...new Set((await store.snapshot('other', '/a')).realtime.map((r) => r.window))],
  })
  const before = await answers()
  assert.deepEqual(before, { a: ['A1', 'A3'], b: ['B2'], other: 6, otherWindows: [3_600_000] })

  // A process that knows only `other`, one row a pass: the first row's `other` delta is folded,
  // its `hits` delta kept in its place, now as columns.
  assert.deepEqual(await compactLog(raw as never, (view) => (view === 'other' ? combine : undefined), 1), {
    rows: 1,
    deltas: 1,
  })
  assert.deepEqual(log(), [
    [1, 'columns', ['hits'], ['A1']],
    [2, 'flat', ['other', 'hits'], [2, 'B2']],
    [3, 'flat', ['hits'], ['A3']],
  ])
  assert.deepEqual(await answers(), before)

  // A row of the new form after the old ones; a process that knows both folds all in commit order.
  await commitOn(store, 7, 8, [row('hits', '/a', 'A4')])
  assert.deepEqual(await answers(), { a: ['A1', 'A3', 'A4'], b: ['B2'], other: 6, otherWindows: [3_600_000] })
  assert.equal(await store.compactSpeed(combine), 4)
  assert.deepEqual(log(), [])
  assert.deepEqual(await answers(), { a: ['A1A3A4'], b: ['B2'], other: 6, otherWindows: [3_600_000] })
})
