// The snapshot version rows of the LMDB store (what they mean and who reads them:
// lmdb-snapshot-memo.ts; decision 0016 and its addendum). In a file of their own because the
// writers (lmdb-speed.ts, lmdb-speed-log.ts, lmdb-store.ts) and the memo all need them, and the
// memo reads their types.
//   ['snapshot']          → a number: every write transaction that changes what a query reads
//                           writes a new one.
//   ['snapshot', 'keys']  → a number, the key rows version: every write transaction that changes
//                           a key's own stored rows (its batch entries, its folded state rows) or
//                           how they are read (the served batch record) writes the next one, and
//                           beside it, in the same transaction,
//   ['kt', version]       → what that version changed: the hashes (keyHash) of the (view, stored
//                           key) whose state rows a compaction pass wrote, or `true` for "any key"
//                           (a flip, an epoch collection, a registration, a migration, a clear).
//                           The last KEY_CHANGES_KEPT are kept; older ones are deleted by the
//                           transaction that writes the next.
// A speed commit bumps ['snapshot'] only: it appends a log row and moves its partition, and
// changes no key's stored rows.
import type { RootDatabase } from 'lmdb'

type Key = (string | number | boolean)[]
type Db = RootDatabase<unknown, Key>

export const SNAPSHOT_VERSION: Key = ['snapshot']
export const KEY_ROWS_VERSION: Key = ['snapshot', 'keys']
/** How many ['kt', version] rows are kept: a memo further behind drops every key. */
export const KEY_CHANGES_KEPT = 64

/** The next snapshot version, inside the caller's write transaction. */
export function bumpSnapshotVersion(db: Db): void {
  const now = db.get(SNAPSHOT_VERSION)
  db.put(SNAPSHOT_VERSION, typeof now === 'number' ? now + 1 : firstVersion())
}

/**
 * The next key rows version, inside the caller's write transaction, recording what changed: the
 * hashes of the keys whose rows were written (keyHash), or `true` when any key's may have been.
 * Also bumps the snapshot version (whatever changes a key's rows changes what a query reads).
 */
export function bumpKeyRowsVersion(db: Db, changed: readonly number[] | true): void {
  bumpSnapshotVersion(db)
  const now = db.get(KEY_ROWS_VERSION)
  const next = typeof now === 'number' ? now + 1 : firstVersion()
  db.put(KEY_ROWS_VERSION, next)
  db.put(['kt', next], changed)
  db.remove(['kt', next - KEY_CHANGES_KEPT])
}

/** A store's first key rows version (a fresh store, a clear, a migration): "any key" changed. */
export function startKeyRowsVersion(db: Db): void {
  const next = firstVersion()
  db.put(KEY_ROWS_VERSION, next)
  db.put(['kt', next], true)
}

/** A random start (below 2^48: counting on from it stays an exact integer). */
export function firstVersion(): number {
  return 1 + Math.floor(Math.random() * 2 ** 48)
}

/**
 * A 32-bit hash (FNV-1a over UTF-16 code units) of a view and a stored key, as ['kt'] rows name
 * them. Two keys with one hash only cost a needless re-read of each other's rows.
 */
export function keyHash(view: string, key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < view.length; i++) h = Math.imul(h ^ view.charCodeAt(i), 0x01000193)
  h = Math.imul(h ^ 0, 0x01000193)
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return h >>> 0
}
