// The layout a store was written in, so that a Strata of another version never reads rows it
// does not understand. A store is derived state (the master dataset and the log hold every
// event), so a store in a layout this version cannot read is refused with the way out, never
// guessed at: an older layout is moved aside and rebuilt, a newer one needs the newer Strata.
//
// The embedded store records its layout as one number (`['format']`, lmdb-store.ts); the
// PostgreSQL store's layout is its applied migrations (postgres/migrations.ts), and a schema
// holding a migration this version does not know was written by a newer Strata.
import { ErrorCodes, StrataError } from '../core/errors.ts'

/**
 * The embedded store's layout. Raise it with any change to lmdb-store.ts's key layout or to how
 * a row's value is encoded, and say in docs/operations.md#upgrading what the change means.
 * Stores written before the number was recorded (0.1.0) hold layout 1.
 *   1: state rows only (0.1.0).
 *   2: and the speed log's rows (`['rl', seq, nonce]`, lmdb-speed-log.ts), which a layout-1
 *      reader would not see: it would answer without the deltas not yet folded.
 *   3: a batch version holds one row per key with its windows (`['b', view, version, key, first]`
 *      → [windows, states], lmdb-batch.ts), where 1 and 2 held one row per (key, window) under
 *      the same key shape: an older reader would take a row for one state; and the snapshot
 *      version row (`['snapshot']`, lmdb-snapshot-memo.ts), which every writer of what a query
 *      reads bumps: a layout-2 writer would not, and a layout-3 reader would keep answering from
 *      rows it read before that writer's commit; and the speed layer's state rows keyed by a
 *      short view code, partition and epoch in one short string (`['rs', code, key, window, at]`),
 *      the epoch index flat (lmdb-speed.ts): 59 → 31 bytes of key for a 9-character url.
 *   4: the key rows version (`['snapshot', 'keys']`) and what each version changed (`['kt',
 *      version]` → the hashes of the keys whose state rows a compaction pass wrote, or "any key"),
 *      lmdb-snapshot-version.ts: a query keeps a key's stored rows across speed commits until a
 *      write names it. A layout-3 writer would not write them, and a layout-4 reader would keep
 *      answering from a key's state rows read before that writer's compaction pass (counting the
 *      folded deltas zero times).
 *   5: every value carries a CRC-32 of its bytes behind a mark (lmdb-checksum.ts), checked at every
 *      read: LMDB pages carry none, and a byte changed inside a value was answered as exact. A
 *      layout-4 reader would take the mark for MessagePack.
 *   6: a speed log row holds its deltas as columns (`{ p, o, v, k, b, e?, s? }`, lmdb-log-row.ts)
 *      where 5 held one flat list (`d`): a layout-5 reader would find no `d`. Layout 6 reads both,
 *      so a layout-5 store is only stamped: its old rows are folded by the compactor as they are.
 */
export const LMDB_FORMAT = 6

/**
 * Older layouts this version moves to the current one at open (lmdb-store.ts, stampFormat): the
 * transaction that stamps the layout writes the snapshot version rows and a ['migrating'] marker;
 * then, in chunks, layouts 1 and 2 have their batch rows rewritten (lmdb-batch.ts's
 * migrateBatchRows) and their state and index rows (lmdb-speed.ts's migrateStateRows); a layout-1
 * store is a layout-2 store whose speed log is empty, and layout 3 has no row to move to 4. Last,
 * every value is rewritten with its checksum (lmdb-store.ts's migrateValues: layout 5). Layout 5
 * to 6 moves no row (the speed log reads both row forms): the stamp is all.
 */
export const LMDB_MIGRATES: ReadonlySet<number> = new Set([1, 2, 3, 4, 5])

/** What opening a store with this recorded layout does: stamp it, migrate it, or go on. Refusals throw. */
export type FormatVerdict = 'stamp' | 'migrate' | 'ok'

/**
 * The rule: an empty store takes the current layout; a store with rows but no recorded layout
 * predates the record (layout 1); the current layout is read, and an older one this version
 * migrates is migrated; any other is refused.
 */
export function checkLmdbFormat(
  stamped: unknown,
  empty: boolean,
  path: string,
  current: number = LMDB_FORMAT,
  migrates: ReadonlySet<number> = LMDB_MIGRATES,
): FormatVerdict {
  if (stamped === undefined && empty) return 'stamp'
  const recorded = stamped ?? 1
  if (recorded === current) return stamped === undefined ? 'stamp' : 'ok'
  if (typeof recorded === 'number' && migrates.has(recorded)) return 'migrate'
  if (typeof recorded !== 'number' || !Number.isInteger(recorded) || recorded < 1) {
    throw new StrataError(
      ErrorCodes.STORE_FORMAT,
      `the LMDB store at ${path} records layout ${JSON.stringify(recorded)}, which no Strata writes: it is not a Strata store, or it is damaged; move it aside (mv ${path} ${path}.unknown) and start again: the batch layer recomputes every view from the master dataset and the speed layer re-folds the log`,
    )
  }
  if (recorded < current) {
    throw new StrataError(
      ErrorCodes.STORE_FORMAT,
      `the LMDB store at ${path} was written by an older Strata in layout ${recorded}; this Strata reads layout ${current}. Stop every strata process using it, move it aside (mv ${path} ${path}.layout-${recorded}) and start again: the batch layer recomputes every view from the master dataset and the speed layer re-folds the log (docs/operations.md#upgrading)`,
    )
  }
  throw new StrataError(
    ErrorCodes.STORE_FORMAT,
    `the LMDB store at ${path} was written by a newer Strata in layout ${recorded}; this Strata reads layout ${current} and would misread it. Run the newer Strata, or give this one another store (docs/operations.md#upgrading)`,
  )
}

/** The refusal of a PostgreSQL schema that holds migrations this Strata does not know. */
export function newerSchema(
  schema: string,
  unknown: readonly { id: number; name: string }[],
  known: number,
): StrataError {
  const names = unknown.map((m) => `${m.id} "${m.name}"`).join(', ')
  return new StrataError(
    ErrorCodes.STORE_FORMAT,
    `the PostgreSQL schema ${schema} was migrated by a newer Strata (migration ${names}; this Strata knows up to ${known}) and would be misread; run the newer Strata, or give this one another schema (?schema=…) (docs/operations.md#upgrading)`,
  )
}
