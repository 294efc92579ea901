// What every query reads besides its own key's rows — the served batch record and the speed view
// of its view, the speed partitions, the speed log's rows — decoded once per LMDB read snapshot
// instead of once per query: two of a query's four cursors and two of its gets, about a third of
// a snapshot's CPU in the profile of `strata worker serve` (decision 0013, BENCHMARKS.md "Query").
//
// Exact by construction: it never holds anything the current snapshot does not. lmdb-js shares
// one read transaction among a thread's reads and renews it (a newer snapshot) at most once per
// event-loop turn, and right after a write of its own commits; every renewal goes through one
// function that emits 'begin-transaction' on the database before the next read runs in it. The
// memo is dropped on that event, and also whenever a query's transaction is another object, so a
// query never mixes two versions and sees a flip exactly when a query without the memo would.
// (test/store/lmdb-snapshot-memo.test.ts fails if either stops holding.)
import { EventEmitter } from 'node:events'
import type { RootDatabase } from 'lmdb'
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

export class SnapshotMemo {
  #transaction: unknown
  #speed: SharedReads['speed'] | undefined
  #log: IndexedRow[] | undefined
  readonly #views = new Map<string, SharedReads>()

  constructor(db: Db) {
    // Not in lmdb-js's typings, and its own `on` passes events other than its commit events to a
    // `super.on` that 3.5 lost: subscribed with EventEmitter's (LMDBStore is one). The test named
    // above fails if the event stops coming.
    EventEmitter.prototype.on.call(db, 'begin-transaction', () => this.clear())
  }

  clear(): void {
    this.#transaction = undefined
    this.#speed = undefined
    this.#log = undefined
    this.#views.clear()
  }

  /**
   * The shared reads of `view` in `transaction`, read with `read` on the first query of the
   * snapshot; the partitions and the log, which no view owns, with `readCommon` once for all views.
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
    if (transaction !== this.#transaction) {
      this.clear()
      this.#transaction = transaction
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
}
