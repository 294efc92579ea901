// The keys of the speed layer's state rows in the LMDB store (layout 3, store-format.ts):
// ['rs', code, key, window, at], `code` the view's short code (['vc', view], handed out from
// ['vn']), `at` the partition and epoch in base 36 (lmdb-speed.ts has the whole layout). In a file
// of its own because the speed store (lmdb-speed.ts) and its log's compaction (lmdb-speed-log.ts)
// both write them.
import type { RootDatabase } from 'lmdb'

type Key = (string | number | boolean)[]
type Db = RootDatabase<unknown, Key>

/** The key of a state row (the layout: lmdb-speed.ts). */
export function stateKey(code: string, key: string, window: number, partition: number, epoch: number): Key {
  return ['rs', code, key, window, groupAtText(partition, epoch)]
}

/** A state row key's last part, `at`: its partition and epoch in base 36. */
export function groupAtText(partition: number, epoch: number): string {
  return `${partition.toString(36)}:${epoch.toString(36)}`
}

/** The partition and epoch of a state row's key. */
export function groupAt(at: string): { partition: number; epoch: number } {
  const colon = at.indexOf(':')
  return {
    partition: Number.parseInt(at.slice(0, colon), 36),
    epoch: Number.parseInt(at.slice(colon + 1), 36),
  }
}

/** The code of a view in state rows, undefined while it has none (no row was ever folded for it). */
export function viewCode(db: Db, view: string, transaction?: unknown): string | undefined {
  return db.get(['vc', view], transaction === undefined ? undefined : ({ transaction } as never)) as
    | string
    | undefined
}

/** The code of a view, handed out now if it has none (inside the caller's write transaction). */
export function ensureViewCode(db: Db, view: string): string {
  const known = viewCode(db, view)
  if (known !== undefined) return known
  const next = ((db.get(['vn']) as number | undefined) ?? 0) + 1
  const code = next.toString(36)
  db.put(['vn'], next)
  db.put(['vc', view], code)
  return code
}
