// A speed log row's key filter is written beside it when the row is appended (putLogRow,
// lmdb-speed-log.ts, session 20), so that a listing reads it instead of decoding the row. It must
// be the filter a listing would build from the row's deltas (keyFilterOf) as it decodes them: the
// same bits, so no key of the row answers "no" — also for a key that is not well-formed UTF-16,
// which msgpack does not give back as written. A filter stored in another format is never read; the compactor
// removes a row's filter with it and writes one for a row it rewrites; a store commit leaves one
// per row.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import fc from 'fast-check'
import { open } from 'lmdb'
import { ChecksummedValues } from '../../src/store/lmdb-checksum.ts'
import { keyHash } from '../../src/store/lmdb-snapshot-version.ts'
import {
  appendLog,
  compactLog,
  LogCache,
  type LogRow,
  loggedRows,
  logRowOf,
  putLogRow,
  rowOf,
  storedFilterOf,
} from '../../src/store/lmdb-speed-log.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import { FILTER_FORMAT, filterOf, keyFilterOf, storedFilter } from '../../src/store/log-key-filter.ts'
import type { CombineEncoded, SpeedCommit } from '../../src/store/store.ts'
import { deferrer } from '../helpers/cleanup.ts'

type Key = (string | number | boolean)[]

function scratchDb(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'strata-stored-filter-'))
  const db = open<unknown, Key>({ path: dir })
  t.after(async () => {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return db
}

const VIEWS = ['v', 'views', 'vi\u00e9w', 'v\u{1f600}', 'v\0x']
const deltaArb = fc.record({
  view: fc.constantFrom(...VIEWS),
  key: fc.oneof(
    fc.string({ unit: 'binary', maxLength: 8 }),
    fc.constantFrom('a', '\0', '\ud800', '\u{10ffff}'),
    fc.string({ minLength: 100, maxLength: 300 }),
  ),
  state: fc.integer({ min: 1, max: 9 }),
})

const rowWith = (offset: number, deltas: Array<{ view: string; key: string; state: number }>): LogRow =>
  logRowOf(
    { partition: 0, offset, deltas: deltas.map((d) => ({ ...d, epoch: 0, window: 0 })) } as never,
    (k) => k,
  )

const bitsOf = (filter: { bytesView(): Uint8Array }) => [...filter.bytesView()]

test('the filter stored at append has the bits of the one built from the stored row, and holds every key', async (t) => {
  const db = scratchDb(t)
  let seq = 0
  await fc.assert(
    fc.asyncProperty(fc.array(deltaArb, { minLength: 1, maxLength: 2_000 }), async (deltas) => {
      seq++
      const keys = await db.transaction(() => appendLog(db as never, rowWith(seq, deltas)))
      const logKey = keys.find((k) => k[0] === 'rl')!
      const stored = storedFilterOf(db as never, logKey)
      assert.ok(stored, 'a filter is stored beside the row')
      // Built lazily, as a listing of a row with no stored filter does: from the row read back.
      const read = rowOf(db.get(logKey))
      assert.deepEqual(bitsOf(stored), bitsOf(keyFilterOf(read)))
      // Every key as a reader decodes it (a lone surrogate does not come back as written), and
      // every key as written when it comes back the same.
      for (let i = 0; i < read.keys.length; i++) {
        assert.ok(
          stored.mayHold(keyHash(read.v[read.view[i]!]!, read.keys[i]!)),
          JSON.stringify(read.keys[i]),
        )
      }
      for (const d of deltas) {
        if (d.key.isWellFormed()) assert.ok(stored.mayHold(keyHash(d.view, d.key)), JSON.stringify(d))
      }
    }),
    { numRuns: 80 },
  )
})

test('a stored filter of another format or shape is not read: the row is decoded and its filter built', async (t) => {
  const db = scratchDb(t)
  const row = rowWith(1, [{ view: 'v', key: '/a', state: 1 }])
  const filter = keyFilterOf(row)
  assert.ok(filterOf(storedFilter(filter)))
  assert.equal(filterOf({ f: FILTER_FORMAT + 1, b: filter.bytesView() }), undefined)
  assert.equal(filterOf({ f: FILTER_FORMAT, b: new Uint8Array(12) }), undefined)
  assert.equal(filterOf({ f: FILTER_FORMAT, b: new Uint8Array(4) }), undefined)
  assert.equal(filterOf(undefined), undefined)
  // A row whose stored filter says "no" for everything, in another format: a listing ignores it.
  const [logKey, filterKey] = await db.transaction(() => putLogRow(db as never, 1, row))
  await db.put(filterKey!, { f: FILTER_FORMAT + 1, b: new Uint8Array(filter.bytes) })
  const rows = loggedRows(db as never, new LogCache(), undefined)
  assert.equal(rows.length, 1)
  assert.deepEqual(rows[0]!.key, logKey)
  assert.ok(rows[0]!.filter.mayHold(keyHash('v', '/a')))
})

test('a listing reads the stored filter: a row whose stored filter lacks a key is skipped for it', async (t) => {
  // Shows the listing takes the stored bits (not a filter rebuilt from the row): why putLogRow's
  // must hold every key, which the property above checks.
  const db = scratchDb(t)
  const [, filterKey] = await db.transaction(() =>
    putLogRow(db as never, 1, rowWith(1, [{ view: 'v', key: '/a', state: 1 }])),
  )
  await db.put(filterKey!, storedFilter(keyFilterOf(rowWith(1, [{ view: 'v', key: '/b', state: 1 }]))))
  const [listed] = loggedRows(db as never, new LogCache(), undefined)
  assert.equal(listed!.filter.mayHold(keyHash('v', '/a')), false)
})

test('the compactor removes a folded row with its filter, and a row it rewrites gets a filter of its own', async (t) => {
  const db = scratchDb(t)
  await db.put(['sp', 0], { partition: 0, epochs: [0] })
  await db.put(['sv', 'v'], { start: [], codeHash: 'h' })
  await db.put(['sv', 'other'], { start: [], codeHash: 'o' })
  const sum: CombineEncoded = (_v, a, b) => (a as number) + (b as number)
  await db.transaction(() => {
    appendLog(db as never, rowWith(1, [{ view: 'v', key: '/a', state: 1 }]))
    // A row with a view this process does not run: kept in the log, rewritten with those deltas.
    appendLog(
      db as never,
      rowWith(2, [
        { view: 'v', key: '/b', state: 1 },
        { view: 'other', key: '/kept', state: 2 },
      ]),
    )
  })
  await compactLog(db as never, (view) => (view === 'v' ? sum : undefined), 1_000)
  const logKeys = [...db.getKeys({ start: ['rl'], end: ['rl', '\uffff'] })] as Key[]
  const filterKeys = [...db.getKeys({ start: ['rf'], end: ['rf', '\uffff'] })] as Key[]
  assert.equal(logKeys.length, 1)
  assert.deepEqual(
    filterKeys.map((k) => k.slice(1)),
    logKeys.map((k) => k.slice(1)),
    'one filter per row, none left behind',
  )
  const stored = storedFilterOf(db as never, logKeys[0]!)!
  assert.ok(stored.mayHold(keyHash('other', '/kept')))
  assert.deepEqual(bitsOf(stored), bitsOf(keyFilterOf(rowOf(db.get(logKeys[0]!)))))
})

test('a store commit leaves a filter beside its log row', async (t) => {
  const defer = deferrer(t)
  const dir = mkdtempSync(join(tmpdir(), 'strata-stored-filter-store-'))
  defer(() => rmSync(dir, { recursive: true, force: true }))
  const store = await openLmdbStore(dir, { compactor: { auto: false } })
  defer(() => store.close())
  await store.registerSpeedViews([{ view: 'hits', codeHash: 'h' }], 1)
  const { owner } = await store.claimPartition(0, 0)
  const sum: CombineEncoded = (_v, a, b) => (a as number) + (b as number)
  const commit: SpeedCommit = {
    partition: 0,
    owner,
    hashes: { hits: 'h' },
    from: 0,
    offset: 2,
    deltas: [
      { view: 'hits', epoch: 0, key: '/a', window: 0, state: 1 },
      { view: 'hits', epoch: 0, key: '/b', window: 0, state: 1 },
    ],
    seals: [],
  }
  await store.commitSpeed(commit, sum)
  const raw = open<unknown, Key>({ path: dir, compression: false, encoder: new ChecksummedValues() })
  defer(() => raw.close())
  const [logKey] = [...raw.getKeys({ start: ['rl'], end: ['rl', '\uffff'] })] as Key[]
  const stored = storedFilterOf(raw as never, logKey!)
  assert.ok(stored)
  const row = rowOf(raw.get(logKey!))
  for (let i = 0; i < row.keys.length; i++)
    assert.ok(stored.mayHold(keyHash(row.v[row.view[i]!]!, row.keys[i]!)))
})
