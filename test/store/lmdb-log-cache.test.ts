// The decoded log rows a query reads (LogCache, lmdb-speed-log.ts) follow the log: a row the
// compactor folded (deleted) or rewrote under a new nonce is dropped from the cache at the next
// listing, and the listing answers what the snapshot holds. Before session 13 the cache kept every
// deleted row until a million deltas were held (~30 MB on the serving thread after a catch-up).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { open } from 'lmdb'
import { LogCache, type LogRow, loggedRows } from '../../src/store/lmdb-speed-log.ts'

type Key = (string | number | boolean)[]

const row = (o: number, key: string, state: number): LogRow =>
  ({ p: 0, o, v: ['v'], d: [0, 0, key, 0, state] }) as unknown as LogRow

test('a log row deleted or rewritten under a new nonce leaves the cache at the next listing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-log-cache-'))
  const db = open<unknown, Key>({ path: dir })
  t.after(async () => {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  })
  await db.put(['rl', 1, 0.1], row(1, 'a', 1))
  await db.put(['rl', 2, 0.2], row(2, 'b', 2))
  await db.put(['rl', 3, 0.3], row(3, 'c', 3))
  const cache = new LogCache()
  const listed = () => {
    const transaction = db.useReadTransaction()
    try {
      return loggedRows(db, cache, transaction).map((r) => `${r.row.o}:${r.row.d[2]}:${r.row.d[4]}`)
    } finally {
      transaction.done()
    }
  }
  assert.deepEqual(listed(), ['1:a:1', '2:b:2', '3:c:3'])
  assert.equal(cache.size, 3)
  // A pass folds row 1 and rewrites row 2 in place (same sequence number, new nonce: keptRow).
  await db.transaction(() => {
    db.remove(['rl', 1, 0.1])
    db.remove(['rl', 2, 0.2])
    db.put(['rl', 2, 0.25], row(2, 'b', 20))
  })
  assert.deepEqual(listed(), ['2:b:20', '3:c:3'])
  assert.equal(cache.size, 2, 'the folded row and the rewritten one are no longer held')
  await db.transaction(() => {
    db.remove(['rl', 2, 0.25])
    db.remove(['rl', 3, 0.3])
  })
  assert.deepEqual(listed(), [])
  assert.equal(cache.size, 0)
})

test('a snapshot older than the cache still reads its own rows', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-log-cache-'))
  const db = open<unknown, Key>({ path: dir })
  t.after(async () => {
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  })
  await db.put(['rl', 1, 0.1], row(1, 'a', 1))
  const cache = new LogCache()
  const older = db.useReadTransaction()
  await db.transaction(() => db.remove(['rl', 1, 0.1]))
  const newer = db.useReadTransaction()
  assert.deepEqual(loggedRows(db, cache, newer), [])
  assert.deepEqual(
    loggedRows(db, cache, older).map((r) => r.row.o),
    [1],
  )
  newer.done()
  older.done()
})
