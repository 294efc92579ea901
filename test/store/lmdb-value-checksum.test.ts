// A byte changed inside a value of the embedded store (found from the user's seat, session 13):
// LMDB pages carry no checksum, and `strata query top_urls all` answered 107328 for 107344, still
// exact. Every value now carries a CRC-32 (lmdb-checksum.ts): the walk at start and every read
// refuse a changed one with STRATA_ERR_STORE_CORRUPT, never answer it.
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { crc32 } from 'node:zlib'
import { open } from 'lmdb'
import { ErrorCodes } from '../../src/core/errors.ts'
import { walkLmdbStore } from '../../src/store/lmdb-check.ts'
import { CHECKED, ChecksummedValues, valueCrc32 } from '../../src/store/lmdb-checksum.ts'
import { migrateValues, openLmdbStore } from '../../src/store/lmdb-store.ts'
import type { Store } from '../../src/store/store.ts'
import { LMDB_FORMAT } from '../../src/store/store-format.ts'
import { deferrer } from '../helpers/cleanup.ts'

type Key = (string | number | boolean)[]
const COUNT = 107_344
// 107344 as MessagePack (uint32), the bytes the repro searched data.mdb for.
const PACKED = Buffer.from('ce0001a350', 'hex')
const add = (_v: string, a: unknown, b: unknown) => (a as number) + (b as number)

async function tempDir(t: TestContext): Promise<string> {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-value-crc-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A store with 107344 in a batch row ('top', '/u4') and, folded, in a speed state row ('hits', '/a'). */
async function filledStore(dir: string): Promise<void> {
  const store = await openLmdbStore(dir, { compactor: { auto: false } })
  const stage = await store.stageBatch('top')
  await stage.put([
    { key: '/u1', window: 0, state: 5 },
    { key: '/u4', window: 0, state: COUNT },
  ])
  await stage.commit({ codeHash: 'h1', horizon: [4], events: 9, groups: 2, startedAt: 0, completedAt: 1 })
  await store.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 1)
  await store.claimPartition(0, 0)
  const deltas = [{ view: 'hits', epoch: 0, key: '/a', window: 0, state: COUNT }]
  await store.commitSpeed(
    { partition: 0, owner: 1, from: 0, offset: 3, hashes: { hits: 'h1' }, deltas, seals: [] },
    add,
  )
  await store.compactSpeed(add)
  await store.close()
}

/** Changes one bit of the last byte of every copy of 107344 in data.mdb (a copy may sit on a free page). */
async function flipCount(dir: string): Promise<number> {
  const file = join(dir, 'data.mdb')
  const bytes = await readFile(file)
  let flipped = 0
  for (let at = bytes.indexOf(PACKED); at >= 0; at = bytes.indexOf(PACKED, at + 1)) {
    bytes[at + PACKED.length - 1]! ^= 0x10
    flipped++
  }
  await writeFile(file, bytes)
  return flipped
}

const isCorrupt = (error: unknown): boolean => {
  const e = error as { code?: string; message?: string }
  assert.equal(e.code, ErrorCodes.STORE_CORRUPT, String(e.message))
  assert.match(String(e.message), /VALUE_CHECKSUM/)
  assert.match(String(e.message), /move the store folder aside/)
  return true
}

async function answers(store: Store) {
  return {
    batch: await store.readBatch('top', 1, '/u4'),
    realtime: (await store.snapshot('hits', '/a')).realtime,
  }
}

test('a byte changed inside a value is refused by the walk at start, never answered', async (t) => {
  const dir = await tempDir(t)
  await filledStore(dir)
  assert.ok((await flipCount(dir)) > 0)
  await assert.rejects(walkLmdbStore(dir), isCorrupt)
  await assert.rejects(openLmdbStore(dir, { walk: true }), isCorrupt)
})

test('a byte changed inside a value while running: the read is STRATA_ERR_STORE_CORRUPT and onCorrupt hears it', async (t) => {
  const defer = deferrer(t)
  const dir = await tempDir(t)
  await filledStore(dir)
  await flipCount(dir)
  const heard: string[] = []
  const store = await openLmdbStore(dir, {
    compactor: { auto: false },
    onCorrupt: (error) => heard.push((error as { code?: string }).code ?? ''),
  })
  defer(() => store.close())
  // The batch row and the folded speed state row: 107328 is never an answer.
  await assert.rejects(store.readBatch('top', 1, '/u4'), isCorrupt)
  await assert.rejects(store.snapshot('hits', '/a'), isCorrupt)
  assert.deepEqual(heard, [ErrorCodes.STORE_CORRUPT])
})

test('a layout-4 store (values without a checksum) is migrated at open: the same answers, every value checked after', async (t) => {
  const defer = deferrer(t)
  const dir = await tempDir(t)
  await filledStore(dir)
  const before = await (async () => {
    const store = await openLmdbStore(dir, { compactor: { auto: false } })
    const seen = await answers(store)
    await store.close()
    return seen
  })()
  // Rewrite every row as layout 4 wrote it: lmdb-js's own MessagePack, no mark, no checksum.
  const checked = open<unknown, Key>({ path: dir, compression: false, encoder: new ChecksummedValues() })
  const rows = [...checked.getRange({})].map(({ key, value }) => ({ key: key as Key, value }))
  await checked.close()
  const plain = open<unknown, Key>({ path: dir, compression: false })
  await plain.transaction(() => {
    for (const { key, value } of rows) plain.put(key, value)
    plain.put(['format'], 4)
  })
  await plain.close()
  const rawRows = () => {
    const raw = open<Uint8Array, Key>({ path: dir, compression: false, encoding: 'binary' })
    const values = [...raw.getRange({})].map(({ value }) => value)
    raw.close()
    return values
  }
  assert.ok(rawRows().every((v) => v[0] !== CHECKED))
  assert.equal(await walkLmdbStore(dir), rows.length)

  const store = await openLmdbStore(dir, { walk: true, compactor: { auto: false } })
  assert.deepEqual(await answers(store), before)
  assert.equal(before.batch[0]?.state, COUNT)
  await store.close()
  assert.ok(rawRows().every((v) => v[0] === CHECKED))
  const after = open<unknown, Key>({ path: dir, compression: false, encoder: new ChecksummedValues() })
  defer(() => after.close())
  assert.equal(after.get(['format']), LMDB_FORMAT)
  assert.equal(after.get(['migrating']), undefined)
  assert.equal(after.get(['migrating', 'values']), undefined)
  // Checked now: a byte changed in a value of the migrated store is refused, too.
  await flipCount(dir)
  await assert.rejects(walkLmdbStore(dir), isCorrupt)
})

test('in a layout-5 store a value without its checksum is damage too, at start and while running', async (t) => {
  const defer = deferrer(t)
  const dir = await tempDir(t)
  await filledStore(dir)
  // The batch row of '/u4' written again without the mark, as a layout-4 writer would.
  const checked = open<unknown, Key>({ path: dir, compression: false, encoder: new ChecksummedValues() })
  const rows = [...checked.getRange({ start: ['b', 'top'], end: ['b', 'top\uffff'] })]
  await checked.close()
  const plain = open<unknown, Key>({ path: dir, compression: false })
  await plain.transaction(() => {
    for (const { key, value } of rows) plain.put(key as Key, value)
  })
  await plain.close()
  const lacks = (error: unknown) =>
    isCorrupt(error) && /lacks its checksum/.test(String((error as Error).message))
  await assert.rejects(walkLmdbStore(dir), lacks)
  const store = await openLmdbStore(dir, { compactor: { auto: false } })
  defer(() => store.close())
  await assert.rejects(store.readBatch('top', 1, '/u4'), lacks)
})

test('a layout-4 migration cut short after a chunk is finished by the next open: every value wrapped once, none left plain', async (t) => {
  const defer = deferrer(t)
  const dir = await tempDir(t)
  await filledStore(dir)
  const before = await (async () => {
    const store = await openLmdbStore(dir, { compactor: { auto: false } })
    const seen = await answers(store)
    await store.close()
    return seen
  })()
  const checked = open<unknown, Key>({ path: dir, compression: false, encoder: new ChecksummedValues() })
  const rows = [...checked.getRange({})].map(({ key, value }) => ({ key: key as Key, value }))
  await checked.close()
  const plain = open<unknown, Key>({ path: dir, compression: false })
  await plain.transaction(() => {
    for (const { key, value } of rows) plain.put(key, value)
    plain.put(['format'], 4)
  })
  await plain.close()
  // What stampFormat's first transaction writes, then migrateValues dies in its second chunk, the
  // first having ended on ['format'] (a key read back as the string 'format', once taken for done)
  // (a transaction that throws commits nothing, as a kill -9 before the commit would).
  const db = open<unknown, Key>({ path: dir, compression: false, encoder: new ChecksummedValues() })
  await db.transaction(() => {
    db.put(['format'], LMDB_FORMAT)
    db.put(['migrating'], 4)
    db.put(['migrating', 'values'], [])
  })
  let transactions = 0
  const dying = {
    get: (key: Key) => db.get(key),
    getRange: (options: object) => db.getRange(options),
    put: (key: Key, value: unknown) => db.put(key, value),
    transaction: <T>(fn: () => T) =>
      ++transactions > 1 ? Promise.reject(new Error('killed')) : db.transaction(fn),
  }
  await assert.rejects(migrateValues(dying as never, 3), /killed/)
  assert.deepEqual(db.get(['migrating', 'values']), ['format'], 'the first chunk ended on a one-part key')
  const raw = () => {
    const r = open<Uint8Array, Key>({ path: dir, compression: false, encoding: 'binary' })
    const values = [...r.getRange({})].map(({ value }) => value)
    r.close()
    return values
  }
  await db.close()
  const half = raw()
  assert.ok(half.some((v) => v[0] === CHECKED) && half.some((v) => v[0] !== CHECKED), 'cut halfway')

  const store = await openLmdbStore(dir, { walk: true, compactor: { auto: false } })
  assert.deepEqual(await answers(store), before)
  await store.close()
  const done = raw()
  assert.ok(
    done.every((v) => v[0] === CHECKED && v[5] !== CHECKED),
    'each value wrapped exactly once',
  )
  const after = open<unknown, Key>({ path: dir, compression: false, encoder: new ChecksummedValues() })
  defer(() => after.close())
  assert.equal(after.get(['migrating']), undefined)
  assert.equal(after.get(['migrating', 'values']), undefined)
})

test("a bit flipped in the format row's mark (0xc1 to 0xc0, MessagePack's nil) is refused, not taken for a 0.1.0 store and migrated", async (t) => {
  const dir = await tempDir(t)
  await filledStore(dir)
  const raw = open<Uint8Array, Key>({ path: dir, compression: false, encoding: 'binary' })
  const format = Buffer.from(raw.get(['format'])!)
  const rows = () => [...raw.getRange({})].map(({ key, value }) => [key, Buffer.from(value).toString('hex')])
  format[0]! ^= 0x01
  await raw.put(['format'], format)
  const before = rows()
  // MessagePack's nil followed by the checksum's bytes is not one whole value: msgpackr refuses it.
  for (const walk of [true, false])
    await assert.rejects(
      openLmdbStore(dir, { walk, compactor: { auto: false } }),
      /end of buffer not reached/,
    )
  assert.deepEqual(rows(), before, 'no row moved')
  await raw.close()
})

// The table loop for short values and zlib for long ones must be one CRC: a value written through
// one path is read through the other when its length crosses the limit, or a store written by
// another version's encoder is read.
test('valueCrc32 is zlib.crc32 for every length around the short limit, at any offset', () => {
  let seed = 7
  const byte = () => {
    seed = (seed * 1103515245 + 12345) >>> 0
    return seed >>> 24
  }
  for (let length = 0; length <= 200; length++) {
    for (const start of [0, 1, 5]) {
      const bytes = Uint8Array.from({ length: start + length + 3 }, byte)
      const end = start + length
      assert.equal(
        valueCrc32(bytes, start, end),
        crc32(bytes.subarray(start, end)),
        `length ${length} at ${start}`,
      )
    }
    const whole = Uint8Array.from({ length }, byte)
    assert.equal(valueCrc32(whole, 0, length), crc32(whole), `whole buffer of ${length}`)
  }
})

test('a byte changed inside a key is refused by the walk at start (keys out of order), never answered as empty', async (t) => {
  // Found from the user's seat (session 20): one byte of a batch row's key changed at rest
  // ('/a3' to '/a7') and `strata query pageviews_by_url /a3` answered no windows, rc 0, after a
  // clean walk: the checksum covers values only, and LMDB never checks its keys' order on a read.
  const dir = await tempDir(t)
  await filledStore(dir)
  const file = join(dir, 'data.mdb')
  const bytes = await readFile(file)
  const from = Buffer.from('/u1')
  let changed = 0
  for (let at = bytes.indexOf(from); at >= 0; at = bytes.indexOf(from, at + 1)) {
    bytes[at + 2] = '9'.charCodeAt(0) // '/u9' now sorts after its neighbour '/u4'
    changed++
  }
  assert.ok(changed > 0)
  await writeFile(file, bytes)
  const outOfOrder = (error: unknown) => {
    const e = error as { code?: string; message?: string }
    assert.equal(e.code, ErrorCodes.STORE_CORRUPT, String(e.message))
    assert.match(String(e.message), /out of order/)
    assert.match(String(e.message), /move the store folder aside/)
    return true
  }
  await assert.rejects(walkLmdbStore(dir), outOfOrder)
  await assert.rejects(openLmdbStore(dir, { walk: true }), outOfOrder)
})

test('the walk compares keys as LMDB does, as bytes: keys whose UTF-16 and UTF-8 orders differ are not damage', async (t) => {
  const dir = await tempDir(t)
  const store = await openLmdbStore(dir, { compactor: { auto: false } })
  const stage = await store.stageBatch('top')
  // U+FFDC sorts after U+D83D (the emoji's first UTF-16 unit) in UTF-16, before F0 9F in UTF-8.
  await stage.put([
    { key: '\uffdc', window: 0, state: 1 },
    { key: '😀', window: 0, state: 2 },
  ])
  await stage.commit({ codeHash: 'h1', horizon: [2], events: 3, groups: 2, startedAt: 0, completedAt: 1 })
  await store.close()
  assert.ok((await walkLmdbStore(dir)) > 2)
})
