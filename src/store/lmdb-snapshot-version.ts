// The snapshot version row of the LMDB store, ['snapshot'] → a number: every write transaction
// that changes what a query reads writes a new one (what it means and who writes it:
// lmdb-snapshot-memo.ts). In a file of its own because the writers (lmdb-speed.ts,
// lmdb-speed-log.ts, lmdb-store.ts) and the memo all need it, and the memo reads their types.
import type { RootDatabase } from 'lmdb'

type Key = (string | number | boolean)[]
type Db = RootDatabase<unknown, Key>

export const SNAPSHOT_VERSION: Key = ['snapshot']

/** The next snapshot version, inside the caller's write transaction. */
export function bumpSnapshotVersion(db: Db): void {
  const now = db.get(SNAPSHOT_VERSION)
  db.put(SNAPSHOT_VERSION, typeof now === 'number' ? now + 1 : firstVersion())
}

/** A random start (below 2^48: counting on from it stays an exact integer). */
export function firstVersion(): number {
  return 1 + Math.floor(Math.random() * 2 ** 48)
}
