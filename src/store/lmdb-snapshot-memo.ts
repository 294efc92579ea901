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
// And a key's stored rows (its batch entries and folded state rows, not its logged deltas) last
// longer: across speed commits, which only append to the log and move a partition. They are kept
// under the key rows version (['snapshot', 'keys'], lmdb-snapshot-version.ts), which a write of a
// key's stored rows moves on in its own transaction, writing beside it what it changed: the keys
// whose state rows a compaction pass wrote (['kt', version] → their hashes), or any key (a flip, a
// collection, a registration, a migration). Every such write bumps the snapshot version as well,
// so when a query finds a new snapshot version it reads the key rows version in the same read
// transaction, and the ['kt'] rows since the one held: the keys they name are dropped, the others
// are, in this snapshot, what they were when read. A key named there loses only its state rows:
// a named change is a compaction pass (lmdb-speed-log.ts), which writes state rows and nothing
// of the batch layer's, while every write of batch entries (a flip, a collection, a migration)
// says "any key"; so its batch entries stay, and under ingest (a pass every second naming most
// keys asked) a query re-reads a key's few state rows, not its batch entries too (BENCHMARKS.md,
// "2026-12-07: queries while ingesting"). Without every ['kt'] row in between (a memo
// more than KEY_CHANGES_KEPT versions behind, a clear, a snapshot older than the memo) all of them
// are dropped. Another process's writes are seen the same way: the rows are in the store, read
// in the query's own snapshot (decision 0016, addendum).
//
// Values never repeat within a store: the first is random, each next one is one more, and clear()
// carries the count on.
import type { RootDatabase } from 'lmdb'
import { KEY_CHANGES_KEPT, KEY_ROWS_VERSION, SNAPSHOT_VERSION } from './lmdb-snapshot-version.ts'
import type { LoggedRow } from './lmdb-speed-log.ts'
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
  log: LoggedRow[]
}

/** A key's stored rows in a snapshot: its batch entries and folded state rows (not its logged deltas). */
export interface StoredReads {
  batchEntries: ViewSnapshot['batchEntries']
  states: ViewSnapshot['realtime']
}

/** A key's stored rows held: the state rows go (undefined) when a compaction pass names the key. */
interface HeldReads {
  batchEntries: ViewSnapshot['batchEntries']
  states: ViewSnapshot['realtime'] | undefined
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
  #log: LoggedRow[] | undefined
  readonly #views = new Map<string, SharedReads>()
  /** The key rows version (['snapshot', 'keys']) #stored holds the rows of; undefined: none held. */
  #keyRowsVersion: number | undefined
  /** Each key's stored rows under #keyRowsVersion: by keyHash, then by question; oldest first. */
  readonly #stored = new Map<number, Map<string, HeldReads>>()
  #storedHeld = 0

  /** `rowLimit`: the most batch and realtime rows of keys kept (the oldest keys go first). */
  constructor(db: Db, rowLimit = 200_000) {
    this.#db = db
    this.#rowLimit = rowLimit
  }

  /** The snapshot version the memo holds reads of (after reads(): the one it found), if any. */
  get version(): number | undefined {
    return this.#version
  }

  clear(): void {
    this.#dropVersion()
    this.#dropStored()
    this.#keyRowsVersion = undefined
  }

  #dropVersion(): void {
    this.#version = undefined
    this.#keys.clear()
    this.#rowsHeld = 0
    this.#speed = undefined
    this.#log = undefined
    this.#views.clear()
  }

  #dropStored(): void {
    this.#stored.clear()
    this.#storedHeld = 0
  }

  /**
   * The shared reads of `view` in `transaction`: from the memo when the snapshot version there is
   * the memo's, else read with `readView` (and the partitions and the log, which no view owns,
   * with `readCommon` once for all views) and kept under that version.
   */
  reads(
    transaction: unknown,
    view: string,
    readCommon: () => { speed: SharedReads['speed']; log: LoggedRow[] },
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
      this.#dropVersion()
      // A read failing halfway through the change rows has dropped only some of the keys they
      // name, under the key rows version already taken: nothing is kept then, and the version is
      // taken only once they are all followed (else the next query of it would not follow them).
      try {
        this.#followKeyRows(transaction)
      } catch (error) {
        this.clear()
        throw error
      }
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
   * Brings the stored rows held up to the key rows version of `transaction`'s snapshot: when the
   * ['kt'] rows of every version since the one held are there, only the keys they name are
   * dropped (or all of them, when one says "any key"); otherwise (a memo too far behind, a
   * snapshot older than the memo, a store cleared or without the rows) all of them.
   */
  #followKeyRows(transaction: unknown): void {
    const now = this.#db.get(KEY_ROWS_VERSION, { transaction } as never)
    const held = this.#keyRowsVersion
    if (now === held) return
    this.#keyRowsVersion = typeof now === 'number' ? now : undefined
    if (
      held === undefined ||
      typeof now !== 'number' ||
      now < held ||
      now - held > KEY_CHANGES_KEPT ||
      this.#stored.size === 0
    ) {
      this.#dropStored()
      return
    }
    let expected = held + 1
    for (const { key, value } of this.#db.getRange({
      start: ['kt', held + 1],
      end: ['kt', now + 0.5],
      transaction,
    } as never)) {
      // A hole (a clear, rows deleted) is a change this memo cannot name: drop everything.
      if ((key as Key)[1] !== expected || !Array.isArray(value)) {
        this.#dropStored()
        return
      }
      expected++
      for (const hash of value as number[]) {
        const questions = this.#stored.get(hash)
        if (questions === undefined) continue
        for (const reads of questions.values()) {
          if (reads.states === undefined) continue
          this.#storedHeld -= reads.states.length
          reads.states = undefined
        }
      }
    }
    if (expected !== now + 1) this.#dropStored()
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
    const rows = rowsOf(reads.batchEntries, reads.realtime)
    if (rows > this.#rowLimit) return reads
    this.#keys.set(id, reads)
    this.#rowsHeld += rows
    for (const [old, entry] of this.#keys) {
      if (this.#rowsHeld <= this.#rowLimit) break
      this.#keys.delete(old)
      this.#rowsHeld -= rowsOf(entry.batchEntries, entry.realtime)
    }
    return reads
  }

  /**
   * A key's stored rows (its batch entries and folded state rows, not its logged deltas), after
   * reads() in the same transaction: kept under the key rows version reads() saw, across snapshot
   * versions, until a write names the key (`hash`: keyHash of the view and the stored key: its
   * state rows are read again with `readStates`) or any key (both; none kept without a version).
   * Callers never change what they are given.
   */
  storedReads(
    hash: number,
    id: string,
    readBatch: () => StoredReads['batchEntries'],
    readStates: () => StoredReads['states'],
  ): StoredReads {
    if (this.#version === undefined || this.#keyRowsVersion === undefined)
      return { batchEntries: readBatch(), states: readStates() }
    let questions = this.#stored.get(hash)
    const hit = questions?.get(id)
    if (hit !== undefined) {
      if (hit.states === undefined) {
        const states = readStates()
        hit.states = states
        this.#storedHeld += states.length
        this.#evictStored(hash)
      }
      return hit as StoredReads
    }
    const reads = { batchEntries: readBatch(), states: readStates() }
    const rows = rowsOf(reads.batchEntries, reads.states)
    if (rows > this.#rowLimit) return reads
    if (questions === undefined) {
      questions = new Map()
      this.#stored.set(hash, questions)
    }
    questions.set(id, reads)
    this.#storedHeld += rows
    this.#evictStored(hash)
    return reads
  }

  /** Drops the oldest keys' stored rows (but `hash`'s) while more rows are held than the limit. */
  #evictStored(hash: number): void {
    for (const [old, entries] of this.#stored) {
      if (this.#storedHeld <= this.#rowLimit) break
      if (old === hash) continue
      this.#stored.delete(old)
      for (const entry of entries.values()) this.#storedHeld -= rowsOf(entry.batchEntries, entry.states ?? [])
    }
  }
}

function rowsOf(a: readonly unknown[], b: readonly unknown[]): number {
  return a.length + b.length + 1
}
