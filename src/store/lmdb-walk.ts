// The integrity walk of an LMDB store, run as a child process by walkLmdbStore (lmdb-check.ts):
// reads every key and value once (values as raw bytes: decoding them is not the point), checks
// each value's checksum (lmdb-checksum.ts; a store still being moved from an older layout may hold
// values without one) and compares the rows read with the count the B-tree keeps, in one read
// snapshot. The free list (pages LMDB may reuse on a write) is not walked: lmdb-js offers no read
// of it.
// LMDB pages carry no checksum: a damaged leaf may read as a shorter one without any error, and
// the count is what tells. A changed byte in a key is covered by no checksum: the row reads as
// another key's, and a lookup of its own key misses it (a view's key answered empty, nothing
// said). LMDB keeps keys sorted and never checks that on a read, so the walk does: every key
// must sort after the one before it, which a key moved by a changed byte almost always breaks.
// Compared as LMDB compares them, as bytes (lmdb-js's compareKeys compares decoded strings in
// UTF-16 order, not UTF-8's, and would call a sound store holding both 'ￜ' and '😀' damaged).
// Prints the number of rows; a damaged page makes it fail with an MDB_* error (exit 1, the error
// on stderr) or kills it with a signal, which the parent reports.
import * as lmdb from 'lmdb'
import { Unpackr } from 'msgpackr'
import { CHECKED, checkValue } from './lmdb-checksum.ts'

const path = process.argv[2]
// lmdb-js exports ordered-binary's decoder without a type for it.
const decodeKey = (lmdb as unknown as { bufferToKeyValue: (key: Uint8Array) => unknown }).bufferToKeyValue
try {
  const db = lmdb.open({ path, compression: false, readOnly: true, encoding: 'binary' })
  // The same store with keys as their bytes, read in the same transaction.
  const raw = lmdb.open<Uint8Array, Buffer>({
    path,
    compression: false,
    readOnly: true,
    encoding: 'binary',
    keyEncoding: 'binary',
  })
  const txn = db.useReadTransaction()
  const stats = db.getStats() as { entryCount: number }
  // Values without a checksum are an older layout's, read until its migration ends (lmdb-store.ts).
  const format = db.get(['format'], { transaction: txn }) as Uint8Array | undefined
  const layout =
    format && new Unpackr().unpack(format, format[0] === CHECKED ? ({ start: 5 } as never) : undefined)
  const legacy =
    typeof layout !== 'number' || layout < 5 || db.get(['migrating'], { transaction: txn }) !== undefined
  let rows = 0
  let previous = Buffer.alloc(0)
  for (const { key: bytes, value } of raw.getRange({ transaction: txn })) {
    if (rows > 0 && Buffer.compare(previous, bytes) >= 0) {
      throw new Error(
        `MDB_CORRUPTED: key ${JSON.stringify(decodeKey(bytes))} is out of order after ${JSON.stringify(decodeKey(previous))} (a changed byte in a key)`,
      )
    }
    previous = Buffer.from(bytes) // lmdb-js reuses the key's buffer for the next row
    if (!(value instanceof Uint8Array)) throw new Error('a row without a readable value')
    try {
      checkValue(value, value.length, legacy)
    } catch (error) {
      throw new Error(`${(error as Error).message} at key ${JSON.stringify(decodeKey(bytes))}`)
    }
    rows++
  }
  txn.done()
  if (rows !== stats.entryCount) {
    throw new Error(`MDB_CORRUPTED: read ${rows} rows but the B-tree counts ${stats.entryCount}`)
  }
  await raw.close()
  await db.close()
  process.stdout.write(`${rows}\n`)
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`)
  process.exitCode = 1
}
