// The integrity walk of an LMDB store, run as a child process by walkLmdbStore (lmdb-check.ts):
// reads every key and value once (values as raw bytes: decoding them is not the point), checks
// each value's checksum (lmdb-checksum.ts; a store still being moved from an older layout may hold
// values without one) and compares the rows read with the count the B-tree keeps, in one read
// snapshot. The free list (pages LMDB may reuse on a write) is not walked: lmdb-js offers no read
// of it.
// LMDB pages carry no checksum: a damaged leaf may read as a shorter one without any error, and
// the count is what tells. Prints the number of rows; a damaged page makes it fail with an MDB_*
// error (exit 1, the error on stderr) or kills it with a signal, which the parent reports.
import { open } from 'lmdb'
import { Unpackr } from 'msgpackr'
import { CHECKED, checkValue } from './lmdb-checksum.ts'

const path = process.argv[2]
try {
  const db = open({ path, compression: false, readOnly: true, encoding: 'binary' })
  const txn = db.useReadTransaction()
  const stats = db.getStats() as { entryCount: number }
  // Values without a checksum are an older layout's, read until its migration ends (lmdb-store.ts).
  const format = db.get(['format'], { transaction: txn }) as Uint8Array | undefined
  const layout =
    format && new Unpackr().unpack(format, format[0] === CHECKED ? ({ start: 5 } as never) : undefined)
  const legacy =
    typeof layout !== 'number' || layout < 5 || db.get(['migrating'], { transaction: txn }) !== undefined
  let rows = 0
  for (const { key, value } of db.getRange({ transaction: txn })) {
    if (!(value instanceof Uint8Array)) throw new Error('a row without a readable value')
    try {
      checkValue(value, value.length, legacy)
    } catch (error) {
      throw new Error(`${(error as Error).message} at key ${JSON.stringify(key)}`)
    }
    rows++
  }
  txn.done()
  if (rows !== stats.entryCount) {
    throw new Error(`MDB_CORRUPTED: read ${rows} rows but the B-tree counts ${stats.entryCount}`)
  }
  await db.close()
  process.stdout.write(`${rows}\n`)
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`)
  process.exitCode = 1
}
