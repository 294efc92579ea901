// What every query reads besides its own key's rows — the served batch record and the speed view
// of its view, the speed partitions, the speed log's rows — decoded once per version of them
// instead of once per query: two of a query's four cursors and two of its gets (decision 0013,
// BENCHMARKS.md "Query").
//
// The snapshot version row, ['snapshot'] → a number: every write transaction that changes a row a
// query reads outside its own key's — a speed commit (it appends a log row and moves its
// partition), a compaction pass, an epoch collection, a claim, a horizon alignment, a view
// registration, a batch flip, clear() — writes a new value there, in that same transaction
// (bumpSnapshotVersion). A query reads the row in its own read transaction; if it holds the value
// the memo was filled under, every row the memo holds is, in this snapshot, what it was when the
// memo was filled, so reading them from the memo is reading them from this snapshot: a query never
// mixes two snapshots, and it sees a write exactly when a query without the memo would. Rows of a
// query's own key (batch entries, folded state rows) are always read in its transaction; those
// change only in transactions that bump as well (a compaction, a collection, a registration) or
// before they are served (a staged batch version). A store without the row (none is written by
// this version: the format stamp and clear() write one) is read without the memo.
// (test/store/lmdb-snapshot-memo.test.ts: each kind of writer, then an immediate query.)
//
// The same version keeps each key's own reads too (a key asked again before the next write is
// answered without its two cursors), bounded by the rows held; they are exact for the same reason.
//
// Values never repeat within a store: the first is random, each next one is one more, and clear()
// carries the count on.
import type { RootDatabase } from 'lmdb'
import { SNAPSHOT_VERSION } from './lmdb-snapshot-version.ts'
import type { IndexedRow } from './lmdb-speed-log.ts'
import type { SpeedPartition, SpeedView, ViewSnapshot } from './store.ts'

type Key = (string | number | boolean)[]
type Db = RootDatabase<unknown, Key>

/** The parts of a view's snapshot shared by every key, as read in one snapshot. */
export interface SharedReads {
  batch: ViewSnapshot['batch']
  speedView: SpeedView | undefined
  /** The view's code in state rows (lmdb-speed.ts), undefined when it has none. */
  code: string | undefined
  speed: Array<SpeedPartition | undefined>
  log: IndexedRow[]
}

/** A key's own rows in a snapshot (ViewSnapshot's batchEntries and realtime). */
export interface KeyReads {
  batchEntries: ViewSnapshot['batchEntries']
  realtime: ViewSnapshot['realtime']
}

export class SnapshotMemo {
  readonly #db: Db
  readonly #rowLimit: number
  #version: number | undefined
  /** Each key's reads under #version, by question (view, key, range: lmdb-speed.ts); oldest first. */
  readonly #keys = new Map<string, KeyReads>()
  #rowsHeld = 0
  #speed: SharedReads['speed'] | undefined
  #log: IndexedRow[] | undefined
  readonly #views = new Map<string, SharedReads>()

  /** `rowLimit`: the most batch and realtime rows of keys kept (the oldest keys go first). */
  constructor(db: Db, rowLimit = 200_000) {
    this.#db = db
    this.#rowLimit = rowLimit
  }

  clear(): void {
    this.#version = undefined
    this.#keys.clear()
    this.#rowsHeld = 0
    this.#speed = undefined
    this.#log = undefined
    this.#views.clear()
  }

  /**
   * The shared reads of `view` in `transaction`: from the memo when the snapshot version there is
   * the memo's, else read with `readView` (and the partitions and the log, which no view owns,
   * with `readCommon` once for all views) and kept under that version.
   */
  reads(
    transaction: unknown,
    view: string,
    readCommon: () => { speed: SharedReads['speed']; log: IndexedRow[] },
    readView: () => {
      batch: SharedReads['batch']
      speedView: SpeedView | undefined
      code: string | undefined
    },
  ): SharedReads {
    const version = this.#db.get(SNAPSHOT_VERSION, { transaction } as never)
    if (typeof version !== 'number') {
      this.clear()
      const common = readCommon()
      return { ...readView(), speed: common.speed, log: common.log }
    }
    if (version !== this.#version) {
      this.clear()
      this.#version = version
    }
    const hit = this.#views.get(view)
    if (hit !== undefined) return hit
    if (this.#speed === undefined || this.#log === undefined) {
      const common = readCommon()
      this.#speed = common.speed
      this.#log = common.log
    }
    const reads = { ...readView(), speed: this.#speed, log: this.#log }
    this.#views.set(view, reads)
    return reads
  }

  /**
   * A key's own reads, after reads() in the same transaction: kept under the version reads() saw
   * (none kept without one). Callers never change what they are given.
   */
  keyReads(id: string, read: () => KeyReads): KeyReads {
    if (this.#version === undefined) return read()
    const hit = this.#keys.get(id)
    if (hit !== undefined) return hit
    const reads = read()
    const rows = reads.batchEntries.length + reads.realtime.length + 1
    if (rows > this.#rowLimit) return reads
    this.#keys.set(id, reads)
    this.#rowsHeld += rows
    for (const [old, entry] of this.#keys) {
      if (this.#rowsHeld <= this.#rowLimit) break
      this.#keys.delete(old)
      this.#rowsHeld -= entry.batchEntries.length + entry.realtime.length + 1
    }
    return reads
  }
}
