// The decoded log rows a query reads (LogCache, lmdb-speed-log.ts) follow the log: a row the
// compactor folded (deleted) or rewrote under a new nonce is dropped from the cache at the next
// listing, and the listing answers what the snapshot holds. Before session 13 the cache kept every
// deleted row until a million deltas were held (~30 MB on the serving thread after a catch-up).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { open } from 'lmdb'
import { storedRow } from '../../src/store/lmdb-log-row.ts'
import {
  LogCache,
  type LogRow,
  loggedDeltas,
  loggedKeys,
  loggedRows,
  logRowOf,
} from '../../src/store/lmdb-speed-log.ts'

type Key = (string | number | boolean)[]

/** A fresh LMDB environment for one test, closed and removed after it. */
function scratchDb(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'strata-log-cache-'))
  const db = open<unknown, Key>({ path: dir })
  t.after(async () => {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return db
}

/** The rows a listing gives, decoded (a listing itself holds each row's key filter only). */
function rowsOf(db: ReturnType<typeof open<unknown, Key>>, cache: LogCache, transaction: unknown): LogRow[] {
  return loggedRows(db as never, cache, transaction).map(
    (r) => cache.decoded(db as never, r.key, transaction, r.id)!,
  )
}

// Rows of both layouts the cache reads: an odd offset's as layout 5 wrote it (a flat list), an
// even one's as layout 6 does (columns, lmdb-log-row.ts).
const row = (o: number, key: string, state: number): unknown =>
  o % 2 === 1
    ? { p: 0, o, v: ['v'], d: [0, 0, key, 0, state] }
    : storedRow(
        logRowOf(
          {
            partition: 0,
            offset: o,
            deltas: [{ view: 'v', epoch: 0, key, window: 0, state }],
          } as never,
          (k) => k,
        ),
      )

test('a log row deleted or rewritten under a new nonce leaves the cache at the next listing', async (t) => {
  const db = scratchDb(t)
  await db.put(['rl', 1, 0.1], row(1, 'a', 1))
  await db.put(['rl', 2, 0.2], row(2, 'b', 2))
  await db.put(['rl', 3, 0.3], row(3, 'c', 3))
  const cache = new LogCache()
  const listed = () => {
    const transaction = db.useReadTransaction()
    try {
      return rowsOf(db, cache, transaction).map((r) => `${r.o}:${r.keys[0]}:${r.states[0]}`)
    } finally {
      transaction.done()
    }
  }
  assert.deepEqual(listed(), ['1:a:1', '2:b:2', '3:c:3'])
  assert.equal(cache.filters, 3)
  // A pass folds row 1 and rewrites row 2 in place (same sequence number, new nonce: keptRow).
  await db.transaction(() => {
    db.remove(['rl', 1, 0.1])
    db.remove(['rl', 2, 0.2])
    db.put(['rl', 2, 0.25], row(2, 'b', 20))
  })
  assert.deepEqual(listed(), ['2:b:20', '3:c:3'])
  assert.equal(cache.filters, 2, 'the folded row and the rewritten one are no longer held')
  await db.transaction(() => {
    db.remove(['rl', 2, 0.25])
    db.remove(['rl', 3, 0.3])
  })
  assert.deepEqual(listed(), [])
  assert.equal(cache.filters, 0)
})

test('a snapshot older than the cache still reads its own rows', async (t) => {
  const db = scratchDb(t)
  await db.put(['rl', 1, 0.1], row(1, 'a', 1))
  const cache = new LogCache()
  const older = db.useReadTransaction()
  await db.transaction(() => db.remove(['rl', 1, 0.1]))
  const newer = db.useReadTransaction()
  // The older snapshot first (its row cached), the newer one (which drops it), the older again.
  assert.deepEqual(
    rowsOf(db, cache, older).map((r) => r.o),
    [1],
  )
  assert.deepEqual(loggedRows(db, cache, newer), [])
  assert.equal(cache.filters, 0)
  assert.deepEqual(
    rowsOf(db, cache, older).map((r) => r.o),
    [1],
  )
  newer.done()
  older.done()
})

// Snapshots of several ages read through one cache, while passes fold and rewrite rows between
// them: each listing must answer exactly its own snapshot's rows (as a cache-free read does),
// whichever listing dropped what from the cache before it.
test('interleaved snapshots of several ages each read their own rows through one cache', async (t) => {
  const db = scratchDb(t)
  let seed = 13
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed / 2147483648
  }
  const cache = new LogCache()
  const text = (rows: LogRow[]) => rows.map((r) => `${r.o}:${r.states[0]}`)
  const snapshots: Array<{ done(): void }> = []
  let seq = 0
  let state = 0
  /** Steps at which two open snapshots listed different rows: the test reads snapshots of several ages. */
  let differed = 0
  for (let step = 0; step < 300; step++) {
    const what = random()
    if (what < 0.4) {
      seq += 1
      await db.put(['rl', seq, random()], row(seq, 'k', ++state))
    } else if (what < 0.7) {
      // A pass: folds the oldest row, rewrites the next under a new nonce (new contents).
      const keys = [...db.getKeys({ start: ['rl'], end: ['rl', '\uffff'] })] as Key[]
      await db.transaction(() => {
        if (keys[0]) db.remove(keys[0])
        if (keys[1]) {
          db.remove(keys[1])
          db.put(['rl', keys[1][1] as number, random()], row(keys[1][1] as number, 'k', ++state))
        }
      })
    } else {
      snapshots.push(db.useReadTransaction())
    }
    // Read every snapshot still open, in a random order, through the one cache.
    const order = [...snapshots.keys()].sort(() => random() - 0.5)
    const seen = new Set<string>()
    for (const i of order) {
      const transaction = snapshots[i]
      const listed = text(rowsOf(db, cache, transaction))
      assert.deepEqual(listed, text(rowsOf(db, new LogCache(), transaction)))
      seen.add(listed.join())
    }
    if (seen.size > 1) differed++
    if (snapshots.length > 4) snapshots.shift()!.done()
  }
  for (const transaction of snapshots) transaction.done()
  assert.ok(differed > 50, `open snapshots differed at ${differed} steps`)
})

test("the listing of a view's logged keys (realtimeKeys) drops folded rows from the cache too", async (t) => {
  const db = scratchDb(t)
  // A claimed partition and a registered view: their logged deltas count (deltaCounts).
  await db.put(['sp', 0], { partition: 0, epochs: [0] })
  await db.put(['sv', 'v'], { start: [] })
  await db.put(['rl', 1, 0.1], row(1, 'a', 1))
  await db.put(['rl', 2, 0.2], row(2, 'b', 2))
  const cache = new LogCache()
  const keysOf = () => {
    const transaction = db.useReadTransaction()
    try {
      return [...loggedKeys(db, cache, transaction, 'v')].sort()
    } finally {
      transaction.done()
    }
  }
  assert.deepEqual(keysOf(), ['a', 'b'])
  assert.equal(cache.filters, 2)
  await db.remove(['rl', 1, 0.1])
  assert.deepEqual(keysOf(), ['b'])
  assert.equal(cache.filters, 1, 'the folded row is no longer held')
})

// After a catch-up of distinct keys the log holds hundreds of rows of ~14,000 deltas, none of
// them holding the key a query asks: a query decoding and indexing every row (at each snapshot
// version) held the thread ~0.5 s per million deltas (decision 0011, "The drain after a
// catch-up"). A listing keeps a key filter per row and decodes no row; a query reads only the
// rows whose filter may hold its key, and answers what reading every row answers.
test('a query of one key decodes only the log rows that may hold it', async (t) => {
  const db = scratchDb(t)
  await db.put(['sp', 0], { partition: 0, epochs: [0] })
  await db.put(['sv', 'v'], { start: [] })
  const rows = 60
  const perRow = 200
  for (let o = 0; o < rows; o++) {
    const deltas = Array.from({ length: perRow }, (_, i) => ({
      view: 'v',
      epoch: 0,
      key: `/k/${o}/${i}`,
      window: 0,
      state: o * perRow + i,
    }))
    await db.put(
      ['rl', o + 1, o / rows],
      storedRow(logRowOf({ partition: 0, offset: o, deltas } as never, (k) => k)),
    )
  }
  const cache = new LogCache()
  const transaction = db.useReadTransaction()
  try {
    const listed = loggedRows(db as never, cache, transaction)
    assert.equal(listed.length, rows)
    assert.equal(cache.filters, rows)
    assert.equal(cache.size, 0, 'a listing decodes no row for the cache')
    const context = {
      speed: [{ partition: 0, epochs: [0] } as never],
      speedView: { start: [] } as never,
      horizon: undefined,
    }
    for (const key of ['/k/59/7', '/k/0/0', '/k/31/199', '/nowhere']) {
      let reads = 0
      const read = (r: (typeof listed)[number]) => {
        reads++
        return cache.read(db as never, r.key, transaction, r.id)
      }
      const got = loggedDeltas(listed, read, 'v', key, -Infinity, Infinity, context)
      // Every row read (a filter that says "maybe" to every key): the same answer.
      const everyRow = listed.map((r) => ({ ...r, filter: { mayHold: () => true } as never }))
      const all = loggedDeltas(
        everyRow,
        (r) => new LogCache().read(db as never, r.key, transaction, r.id),
        'v',
        key,
        -Infinity,
        Infinity,
        context,
      )
      assert.deepEqual(got, all)
      assert.equal(got.length, key === '/nowhere' ? 0 : 1)
      assert.ok(reads <= 3, `${key}: ${reads} of ${rows} rows decoded`)
    }
  } finally {
    transaction.done()
  }
})
