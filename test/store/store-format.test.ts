// A store written by another Strata version is refused with STRATA_ERR_STORE_FORMAT before
// anything is read or dropped; an empty store takes this version's layout; a store written
// before the layout was recorded (0.1.0) is layout 1. LMDB on a temporary folder, PostgreSQL on
// a schema of its own.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { open } from 'lmdb'
import { BATCH_MIGRATION, migrateBatchChunk } from '../../src/store/lmdb-batch.ts'
import { ChecksummedValues } from '../../src/store/lmdb-checksum.ts'
import { rowOf } from '../../src/store/lmdb-speed-log.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import { migrations } from '../../src/store/postgres/migrations.ts'
import type { RealtimeDelta } from '../../src/store/store.ts'
import { checkLmdbFormat, LMDB_FORMAT, LMDB_MIGRATES } from '../../src/store/store-format.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { schemaStores, withClient } from './postgres-helpers.ts'

const refusedAs = (pattern: RegExp) => (error: unknown) => {
  assert.equal((error as { code?: string }).code, 'STRATA_ERR_STORE_FORMAT')
  assert.match((error as Error).message, pattern)
  return true
}

test('the layout rule: stamp an empty store, migrate layouts 1, 2 and 3, refuse others', () => {
  assert.equal(checkLmdbFormat(undefined, true, '/s'), 'stamp')
  assert.equal(checkLmdbFormat(LMDB_FORMAT, false, '/s'), 'ok')
  assert.equal(checkLmdbFormat(LMDB_FORMAT, true, '/s'), 'ok')
  // 0.1.0 wrote no record: its rows are layout 1, which this version migrates (no speed log).
  assert.ok(LMDB_MIGRATES.has(1) && LMDB_MIGRATES.has(2))
  assert.equal(checkLmdbFormat(undefined, false, '/s'), 'migrate')
  assert.equal(checkLmdbFormat(1, false, '/s'), 'migrate')
  assert.equal(checkLmdbFormat(2, false, '/s'), 'migrate')
  assert.equal(checkLmdbFormat(3, false, '/s'), 'migrate')
  // A later version that no longer migrates layout 1 refuses it, naming the way out.
  assert.throws(
    () => checkLmdbFormat(undefined, false, '/s', 4, new Set([3])),
    refusedAs(/older Strata in layout 1.*move it aside/),
  )
  assert.equal(checkLmdbFormat(3, false, '/s', 4, new Set([3])), 'migrate')
  assert.throws(() => checkLmdbFormat(LMDB_FORMAT + 1, false, '/s'), refusedAs(/newer Strata/))
  assert.throws(() => checkLmdbFormat('x', false, '/s'), refusedAs(/no Strata writes/))
  assert.throws(() => checkLmdbFormat(0, false, '/s'), refusedAs(/no Strata writes/))
})

function tempDir(t: TestContext): string {
  const defer = deferrer(t)
  const dir = mkdtempSync(join(tmpdir(), 'strata-format-'))
  defer(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

test('lmdb: a new store records its layout, and keeps it through clear()', async (t) => {
  const dir = tempDir(t)
  const store = await openLmdbStore(dir)
  await store.claimMeta('x', 1)
  await store.clear()
  await store.close()
  const raw = open({ path: dir, compression: false, encoder: new ChecksummedValues() })
  assert.equal(raw.get(['format']), LMDB_FORMAT)
  await raw.close()
  // Reopening a cleared store is not mistaken for a 0.1.0 one.
  await (await openLmdbStore(dir)).close()
})

test('lmdb: a store of a newer layout is refused, and left as it was', async (t) => {
  const dir = tempDir(t)
  const raw = open({ path: dir, compression: false, encoder: new ChecksummedValues() })
  await raw.put(['format'], LMDB_FORMAT + 1)
  await raw.put(['staged', 'v', 3], 999_999_999) // a dead stager's stage: an open would drop it
  await raw.close()
  await assert.rejects(openLmdbStore(dir), refusedAs(new RegExp(`newer Strata in layout ${LMDB_FORMAT + 1}`)))
  const after = open({ path: dir, compression: false, encoder: new ChecksummedValues() })
  assert.equal(after.get(['staged', 'v', 3]), 999_999_999)
  assert.equal(after.get(['format']), LMDB_FORMAT + 1)
  await after.close()
})

test('lmdb: a store written before the layout was recorded (0.1.0) is read, and stamped current', async (t) => {
  const dir = tempDir(t)
  const raw = open({ path: dir, compression: false, encoder: new ChecksummedValues() })
  await raw.put(['meta', 'source'], { kind: 'embedded' })
  await raw.close()
  const store = await openLmdbStore(dir)
  assert.deepEqual(await store.readMeta('source'), { kind: 'embedded' })
  await store.close()
  const after = open({ path: dir, compression: false, encoder: new ChecksummedValues() })
  assert.equal(after.get(['format']), LMDB_FORMAT)
  await after.close()
})

test('lmdb: a layout-2 store (no snapshot version row, one batch row per window) is migrated at open, and its queries see later writes', async (t) => {
  const defer = deferrer(t)
  const dir = tempDir(t)
  // What layout 2 wrote: a served version, a claimed partition, a registered view, no ['snapshot'].
  const raw = open({ path: dir, compression: false, encoder: new ChecksummedValues() })
  const served = { view: 'hits', version: 1, codeHash: 'h1', horizon: [0], events: 3, groups: 1 }
  await raw.transaction(() => {
    raw.put(['format'], 2)
    raw.put(['served', 'hits'], { ...served, startedAt: 0, completedAt: 1 })
    raw.put(['next', 'hits'], 2)
    raw.put(['b', 'hits', 1, '/a', 0], 3)
    raw.put(['sv', 'hits'], { view: 'hits', codeHash: 'h1', start: [0] })
    raw.put(['sp', 0], { partition: 0, owner: 1, offset: 0, epochs: [0], required: [] })
  })
  await raw.close()
  const store = await openLmdbStore(dir, { compactor: { auto: false } })
  defer(() => store.close())
  const before = await store.snapshot('hits', '/a')
  assert.equal(before.batch?.version, 1)
  assert.deepEqual(
    before.batchEntries.map((e) => e.state),
    [3],
  )
  const check = open({ path: dir, compression: false, encoder: new ChecksummedValues() })
  defer(() => check.close())
  assert.equal(check.get(['format']), LMDB_FORMAT)
  const version = check.get(['snapshot'])
  assert.equal(typeof version, 'number')
  // The memo now lasts across turns; a speed commit and a flip after the migration are seen.
  await store.commitSpeed(
    {
      partition: 0,
      owner: 1,
      from: 0,
      offset: 4,
      hashes: { hits: 'h1' },
      deltas: [{ view: 'hits', epoch: 0, key: '/a', window: 0, state: 4 }],
      seals: [],
    },
    (_v, a, b) => (a as number) + (b as number),
  )
  const committed = await store.snapshot('hits', '/a')
  assert.equal(committed.speed[0]?.offset, 4)
  assert.deepEqual(
    committed.realtime.map((r) => r.state),
    [4],
  )
  const stage = await store.stageBatch('hits')
  await stage.put([{ key: '/a', window: 0, state: 7 }])
  await stage.commit({ codeHash: 'h1', horizon: [4], events: 7, groups: 1, startedAt: 0, completedAt: 2 })
  const flipped = await store.snapshot('hits', '/a')
  assert.equal(flipped.batch?.version, 2)
  assert.deepEqual(flipped.realtime, [])
  assert.notEqual(check.get(['snapshot']), version)
})

test('lmdb: a layout-3 store (no key rows version) is stamped current at open, no row under another key, and a compaction pass after it is seen', async (t) => {
  const defer = deferrer(t)
  const dir = tempDir(t)
  const add = (_v: string, a: unknown, b: unknown) => (a as number) + (b as number)
  const commit = (from: number, offset: number, state: number) => ({
    partition: 0,
    owner: 1,
    from,
    offset,
    hashes: { hits: 'h1' },
    deltas: [{ view: 'hits', epoch: 0, key: '/a', window: 0, state }],
    seals: [],
  })
  // A layout-3 store: what this version writes, less the key rows version and its ['kt'] rows.
  const first = await openLmdbStore(dir, { compactor: { auto: false } })
  await first.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 1)
  await first.claimPartition(0, 0)
  await first.commitSpeed(commit(0, 5, 2), add)
  await first.compactSpeed(add)
  await first.close()
  const raw = open<unknown, (string | number)[]>({
    path: dir,
    compression: false,
    encoder: new ChecksummedValues(),
  })
  await raw.transaction(() => {
    raw.put(['format'], 3)
    raw.remove(['snapshot', 'keys'])
    for (const key of raw.getKeys({ start: ['kt'], end: ['kt', '\uffff'] })) raw.remove(key)
  })
  await raw.close()
  const store = await openLmdbStore(dir, { compactor: { auto: false } })
  defer(() => store.close())
  const check = open<unknown, (string | number)[]>({
    path: dir,
    compression: false,
    encoder: new ChecksummedValues(),
  })
  defer(() => check.close())
  assert.equal(check.get(['format']), LMDB_FORMAT)
  assert.equal(check.get(['migrating']), undefined)
  const version = check.get(['snapshot', 'keys'])
  assert.equal(typeof version, 'number')
  assert.equal(check.get(['kt', version as number]), true)
  assert.deepEqual(
    (await store.snapshot('hits', '/a')).realtime.map((r) => r.state),
    [2],
  )
  // The key's state row is kept now; the next pass folds into it and names the key.
  await store.commitSpeed(commit(5, 6, 3), add)
  await store.compactSpeed(add)
  assert.deepEqual(
    (await store.snapshot('hits', '/a')).realtime.map((r) => r.state),
    [5],
  )
})

// Layout 5 wrote each speed log row as one flat list (`d`); layout 6 writes columns
// (lmdb-log-row.ts) and reads both, so a layout-5 store is only stamped: its old rows are answered
// and folded as they are, beside the new rows written after the open.
test('lmdb: a layout-5 store with speed log rows of the flat form is stamped current, answers them, and folds them with new rows', async (t) => {
  const defer = deferrer(t)
  const dir = tempDir(t)
  const add = (_v: string, a: unknown, b: unknown) => (a as number) + (b as number)
  const commit = (from: number, offset: number, deltas: RealtimeDelta[]) => ({
    partition: 0,
    owner: 1,
    from,
    offset,
    hashes: { hits: 'h1', other: 'h2' },
    deltas,
    seals: [],
  })
  const delta = (view: string, key: string, window: number, state: number) => ({
    view,
    epoch: 0,
    key,
    window,
    state,
  })
  const first = await openLmdbStore(dir, { compactor: { auto: false } })
  await first.registerSpeedViews(
    [
      { view: 'hits', codeHash: 'h1' },
      { view: 'other', codeHash: 'h2' },
    ],
    1,
  )
  await first.claimPartition(0, 0)
  await first.commitSpeed(
    commit(0, 5, [delta('hits', '/a', 0, 2), delta('other', '/a', 0, 7), delta('hits', '/b', 3_600_000, 4)]),
    add,
  )
  await first.commitSpeed(commit(5, 8, [delta('hits', '/a', 0, 1)]), add)
  await first.close()
  // Each log row written again as layout 5 wrote it: [view index, epoch, key, window, state] × n.
  const raw = open<unknown, (string | number)[]>({
    path: dir,
    compression: false,
    encoder: new ChecksummedValues(),
  })
  let rewritten = 0
  await raw.transaction(() => {
    raw.put(['format'], 5)
    for (const { key, value } of raw.getRange({ start: ['rl'], end: ['rl', '\uffff'] })) {
      const row = rowOf(value)
      const d: unknown[] = []
      for (let i = 0; i < row.keys.length; i++)
        d.push(row.view[i], row.epochs[i], row.keys[i], row.windows[i], row.states[i])
      raw.put(key as (string | number)[], { p: row.p, o: row.o, v: row.v, d })
      rewritten++
    }
  })
  await raw.close()
  assert.equal(rewritten, 2)

  const store = await openLmdbStore(dir, { compactor: { auto: false } })
  defer(() => store.close())
  const check = open<unknown, (string | number)[]>({
    path: dir,
    compression: false,
    encoder: new ChecksummedValues(),
  })
  defer(() => check.close())
  assert.equal(check.get(['format']), LMDB_FORMAT)
  assert.equal(check.get(['migrating']), undefined, 'no row moves from layout 5')
  const flat = () => {
    check.resetReadTxn()
    return [...check.getRange({ start: ['rl'], end: ['rl', '\uffff'] })].filter(({ value }) =>
      Array.isArray((value as { d?: unknown }).d),
    ).length
  }
  assert.equal(flat(), 2, 'the old rows are left as they were')
  const listed = async (keys: AsyncIterable<string>) => {
    const out: string[] = []
    for await (const key of keys) out.push(key)
    return out.sort()
  }
  const answers = async () => ({
    a: (await store.snapshot('hits', '/a')).realtime.reduce((s, r) => s + (r.state as number), 0),
    b: (await store.snapshot('hits', '/b')).realtime.map((r) => [r.window, r.state]),
    other: (await store.snapshot('other', '/a')).realtime.map((r) => r.state),
    keys: await listed(store.realtimeKeys('hits')),
  })
  assert.deepEqual(await answers(), { a: 3, b: [[3_600_000, 4]], other: [7], keys: ['/a', '/b'] })
  // A new row beside the old ones, then everything folded: the same answers, the log empty.
  await store.commitSpeed(commit(8, 9, [delta('hits', '/a', 0, 10)]), add)
  assert.deepEqual(await answers(), { a: 13, b: [[3_600_000, 4]], other: [7], keys: ['/a', '/b'] })
  await store.compactSpeed(add)
  check.resetReadTxn()
  assert.deepEqual([...check.getKeys({ start: ['rl'], end: ['rl', '\uffff'] })], [])
  assert.deepEqual(await answers(), { a: 13, b: [[3_600_000, 4]], other: [7], keys: ['/a', '/b'] })
})

// Layouts 1 and 2 wrote one row per (key, window) under the key shape layout 3 gives a key's
// windows: a store opened by this version answers the same entries after its rewrite.
test("lmdb: a layout-2 store's batch versions are rewritten at open and answer the same entries", async (t) => {
  const dir = tempDir(t)
  const raw = open({ path: dir, compression: false, encoder: new ChecksummedValues() })
  const served = {
    view: 'v',
    version: 4,
    codeHash: 'h',
    horizon: [9],
    events: 9,
    groups: 0,
    startedAt: 1,
    completedAt: 2,
  }
  const old: Array<[string, number, unknown]> = [
    ['/a', 0, 3],
    ['/a', 3_600_000, { type: 'hll', version: 1, registers: 'AAE=' }],
    ['/b', -1_800_000, [1, 2]],
  ]
  // A key with more windows than one row holds.
  for (let w = 0; w < 300; w++) old.push(['/many', w * 60_000, w])
  await raw.transaction(() => {
    raw.put(['format'], 2)
    raw.put(['served', 'v'], { ...served, groups: old.length })
    raw.put(['next', 'v'], 5)
    for (const [key, window, state] of old) raw.put(['b', 'v', 4, key, window], state)
  })
  await raw.close()
  const store = await openLmdbStore(dir)
  const scanned = []
  for await (const e of store.scanBatch('v', 4)) scanned.push([e.key, e.window, e.state])
  const expected = [...old].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] - y[1]))
  assert.deepEqual(scanned, expected)
  assert.deepEqual(
    (await store.readBatch('v', 4, '/many', { from: 200 * 60_000, to: 260 * 60_000 })).map((e) => e.state),
    Array.from({ length: 60 }, (_, i) => 200 + i),
  )
  assert.deepEqual((await store.snapshot('v', '/a')).batchEntries, [
    { key: '/a', window: 0, state: 3 },
    { key: '/a', window: 3_600_000, state: { type: 'hll', version: 1, registers: 'AAE=' } },
  ])
  await store.close()
  const after = open({ path: dir, compression: false, encoder: new ChecksummedValues() })
  assert.equal(after.get(['format']), LMDB_FORMAT)
  await after.close()
})

// A large store's batch rows move in chunks of whole keys, each with the cursor that says where
// the new shape ends (the two shapes share one key form): a migration cut short after a chunk is
// finished by the next open, every entry once, none read in the wrong shape.
test('lmdb: batch rows migrate in chunks of whole keys; a migration cut short after a chunk is finished by the next open', async (t) => {
  const defer = deferrer(t)
  const dir = tempDir(t)
  const raw = open<unknown, (string | number | boolean)[]>({
    path: dir,
    compression: false,
    encoder: new ChecksummedValues(),
  })
  const old: Array<[string, number, number]> = []
  for (let k = 0; k < 40; k++)
    for (let w = 0; w < (k % 5) + 1; w++) old.push([`/k${k}`, w * 3_600_000 - 7_200_000, k * 10 + w])
  for (let w = 0; w < 300; w++) old.push(['/many', w * 60_000, w])
  const served = {
    view: 'v',
    version: 4,
    codeHash: 'h',
    horizon: [9],
    events: 9,
    startedAt: 1,
    completedAt: 2,
  }
  await raw.transaction(() => {
    raw.put(['format'], 2)
    raw.put(['served', 'v'], { ...served, groups: old.length })
    raw.put(['next', 'v'], 5)
    for (const [key, window, state] of old) raw.put(['b', 'v', 4, key, window], state)
    // What the stamping transaction of a layout-2 store writes, then one chunk of 7 rows moved.
    raw.put(['format'], LMDB_FORMAT)
    raw.put(['migrating'], 2)
    raw.put(BATCH_MIGRATION, [])
  })
  assert.equal(await raw.transaction(() => migrateBatchChunk(raw as never, 7)), true)
  const cursor = raw.get(BATCH_MIGRATION) as unknown[]
  assert.equal(cursor.length, 3, 'the cursor names the last key moved')
  await raw.close()
  const store = await openLmdbStore(dir, { compactor: { auto: false } })
  defer(() => store.close())
  const scanned = []
  for await (const e of store.scanBatch('v', 4)) scanned.push([e.key, e.window, e.state])
  const expected = [...old].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] - y[1]))
  assert.deepEqual(scanned, expected)
  const check = open<unknown, (string | number | boolean)[]>({
    path: dir,
    compression: false,
    encoder: new ChecksummedValues(),
  })
  defer(() => check.close())
  assert.equal(check.get(BATCH_MIGRATION), undefined)
  assert.equal(check.get(['migrating']), undefined)
})

// Layout 2 (before issue 15's compact state rows): ['rt', view, key, window, partition, epoch]
// state rows and an epoch index of [view, key, window] triples. Opened, the store answers the same,
// its rows are moved (in chunks: more rows than one chunk here), and rule 6 still finds them.
test('lmdb: a layout-2 store is migrated at open: the same answers, its state rows moved, GC still finds them', async (t) => {
  const defer = deferrer(t)
  const dir = tempDir(t)
  const raw = open<unknown, (string | number)[]>({
    path: dir,
    compression: false,
    encoder: new ChecksummedValues(),
  })
  const rows = 25_000
  await raw.transaction(() => {
    raw.put(['format'], 2)
    raw.put(['sv', 'hits'], { view: 'hits', codeHash: 'h1', start: [0, 0] })
    raw.put(['sv', 'other'], { view: 'other', codeHash: 'o1', start: [0, 0] })
    for (const p of [0, 1])
      raw.put(['sp', p], { partition: p, owner: 1, offset: 40, epochs: [0, 20], required: [] })
    const index: Array<[string, string, number]> = []
    for (let i = 0; i < rows; i++) {
      raw.put(['rt', 'hits', `/k${i}`, 3_600_000, i % 2, i % 3 === 0 ? 0 : 20], i + 1)
      if (i % 3 === 0 && i % 2 === 0) index.push(['hits', `/k${i}`, 3_600_000])
    }
    raw.put(['rt', 'other', '/k0', 0, 0, 0], 7)
    index.push(['other', '/k0', 0])
    raw.put(['re', 0, 0, 30], index)
  })
  await raw.close()
  const store = await openLmdbStore(dir, { compactor: { auto: false } })
  defer(() => store.close())
  assert.deepEqual((await store.snapshot('hits', '/k6')).realtime, [
    { partition: 0, epoch: 0, window: 3_600_000, state: 7 },
  ])
  assert.deepEqual((await store.snapshot('hits', '/k7', { from: 0, to: 7_200_000 })).realtime, [
    { partition: 1, epoch: 20, window: 3_600_000, state: 8 },
  ])
  assert.deepEqual((await store.snapshot('other', '/k0')).realtime, [
    { partition: 0, epoch: 0, window: 0, state: 7 },
  ])
  let listed = 0
  for await (const _ of store.realtimeKeys('hits')) listed++
  assert.equal(listed, rows)
  const after = open<unknown, (string | number)[]>({
    path: dir,
    compression: false,
    encoder: new ChecksummedValues(),
  })
  defer(() => after.close())
  assert.equal(after.get(['format']), LMDB_FORMAT)
  assert.equal(after.get(['migrating']), undefined)
  assert.equal([...after.getKeys({ start: ['rt'], end: ['rt', '\uffff'] })].length, 0)
  assert.equal([...after.getKeys({ start: ['rs'], end: ['rs', '\uffff'] })].length, rows + 1)
  // Rule 6 reads the migrated index: epoch 0 of partition 0 collected below a served horizon.
  const stage = await store.stageBatch('hits')
  await stage.commit({ codeHash: 'h1', horizon: [20, 0], events: 0, groups: 0, startedAt: 0, completedAt: 1 })
  await store.collectEpochs([])
  assert.deepEqual((await store.snapshot('hits', '/k6')).realtime, [])
  assert.deepEqual((await store.snapshot('hits', '/k0')).realtime, [])
  assert.deepEqual((await store.snapshot('hits', '/k3')).realtime, [
    { partition: 1, epoch: 0, window: 3_600_000, state: 4 },
  ])
})

test('lmdb: a migration cut short is finished by the next open, and an older Strata refuses the store meanwhile', async (t) => {
  const defer = deferrer(t)
  const dir = tempDir(t)
  const raw = open<unknown, (string | number)[]>({
    path: dir,
    compression: false,
    encoder: new ChecksummedValues(),
  })
  await raw.transaction(() => {
    raw.put(['format'], LMDB_FORMAT)
    raw.put(['migrating'], 2)
    raw.put(['sv', 'hits'], { view: 'hits', codeHash: 'h1', start: [0] })
    raw.put(['sp', 0], { partition: 0, owner: 1, offset: 40, epochs: [0], required: [] })
    raw.put(['vn'], 1)
    raw.put(['vc', 'hits'], '1')
    raw.put(['rs', '1', '/a', 0, '0:0'], 2)
    raw.put(['rt', 'hits', '/b', 0, 0, 0], 3)
    raw.put(['re', 0, 0, 5], ['1', '/a', 0])
    raw.put(['re', 0, 0, 9], [['hits', '/b', 0]])
  })
  await raw.close()
  assert.throws(() => checkLmdbFormat(LMDB_FORMAT, false, '/s', 2, new Set([1])), refusedAs(/newer Strata/))
  const store = await openLmdbStore(dir, { compactor: { auto: false } })
  defer(() => store.close())
  assert.deepEqual((await store.snapshot('hits', '/a')).realtime, [
    { partition: 0, epoch: 0, window: 0, state: 2 },
  ])
  assert.deepEqual((await store.snapshot('hits', '/b')).realtime, [
    { partition: 0, epoch: 0, window: 0, state: 3 },
  ])
  const after = open<unknown, (string | number)[]>({
    path: dir,
    compression: false,
    encoder: new ChecksummedValues(),
  })
  defer(() => after.close())
  assert.equal(after.get(['migrating']), undefined)
  assert.deepEqual(after.get(['re', 0, 0, 5]), ['1', '/a', 0])
  assert.deepEqual(after.get(['re', 0, 0, 9]), ['1', '/b', 0])
})

test('postgres: a schema migrated by a newer Strata is refused, and left as it was', async (t) => {
  const { schema, open: openStore } = schemaStores(t)
  await (await openStore()).close()
  const next = Math.max(...migrations.map((m) => m.id)) + 1
  await withClient((c) =>
    c.query(`INSERT INTO "${schema}".strata_migrations (id, name) VALUES ($1, 'from the future')`, [next]),
  )
  await assert.rejects(openStore(), refusedAs(new RegExp(`migration ${next} "from the future"`)))
  const rows = await withClient(
    async (c) => (await c.query(`SELECT id FROM "${schema}".strata_migrations ORDER BY id`)).rows,
  )
  assert.deepEqual(
    rows.map((r) => r.id),
    [...migrations.map((m) => m.id), next],
  )
})
