// The snapshot version as a read outside any transaction would find it now (store.snapshotVersion,
// which the query fast path calls for every request it could answer from a kept body), without a
// get when the read snapshot has not changed since the last one.
//
// lmdb-js reads outside a transaction in one read snapshot per handle, which it renews lazily: a
// read finding the snapshot reset (a timer ≥ 1 ms after its renewal, a commit of this handle)
// renews it first, and every renewal emits 'begin-transaction' on the handle (read.js
// renewReadTxn; not in its typings, and its `on` loses other events, so EventEmitter's own is
// used, as decision 0013 did). So while no renewal was emitted since the version was read, a get
// now would read it in the same snapshot and find the same value. `ensureReadTxn()` is the renewal
// a read would do, without the read: it emits when the snapshot is to change, and then the row is
// read again. Another process's commit, or another thread's, is seen exactly when a get would see
// it (its snapshot's next renewal); this handle's commits reset the snapshot at once, as for a get.
// Measured in bench/version-read-micro.ts (BENCHMARKS.md, "2026-12-07 session 16").
//
// Exact only while every read of this snapshot goes through this handle (lmdb-js keeps one read
// snapshot per root handle, shared with its child databases: the store opens none). Two cases
// read the row every call: inside a write transaction of this handle (a get there reads that
// transaction, its own writes, gone if it aborts, and no renewal is told), and an lmdb-js whose
// forced renewal at the start is not told (the event and ensureReadTxn are in neither its typings
// nor its README: a release that stopped emitting would otherwise leave one value held for good).
import { EventEmitter } from 'node:events'
import type { RootDatabase } from 'lmdb'
import { SNAPSHOT_VERSION } from './lmdb-snapshot-version.ts'

type Key = (string | number | boolean)[]

interface Renewing {
  ensureReadTxn?: () => void
  resetReadTxn?: () => void
  /** lmdb-js's environment: `writeTxn` is set while a write transaction of this handle runs. */
  env?: { writeTxn?: unknown }
}

/** A reader of ['snapshot'] for `db`; a get per call on an lmdb-js that does not tell its renewals. */
export function snapshotVersionReader(db: RootDatabase<unknown, Key>): () => number | undefined {
  const read = (): number | undefined => {
    const version = db.get(SNAPSHOT_VERSION)
    return typeof version === 'number' ? version : undefined
  }
  const { ensureReadTxn: ensure, resetReadTxn: reset, env } = db as unknown as Renewing
  if (typeof ensure !== 'function' || typeof reset !== 'function' || !env) return read
  let renewals = 0
  const renewed = () => {
    renewals++
  }
  EventEmitter.prototype.on.call(db, 'begin-transaction', renewed)
  // A renewal forced now, to see that it is told.
  reset.call(db)
  ensure.call(db)
  if (renewals === 0) {
    EventEmitter.prototype.removeListener.call(db, 'begin-transaction', renewed)
    return read
  }
  // -1: nothing read yet (renewals only grows).
  let readAt = -1
  let held: number | undefined
  return () => {
    if (env.writeTxn) return read()
    ensure.call(db)
    if (readAt === renewals) return held
    // Read first: a failed read keeps nothing (the next call reads again).
    readAt = -1
    held = read()
    readAt = renewals
    return held
  }
}
