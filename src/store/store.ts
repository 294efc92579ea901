// The store holds what the layers compute: batch view versions (and which one is served),
// and — for the speed layer — realtime partials with the offsets that produced them.
// Two implementations share this contract: the embedded LMDB store and PostgreSQL.
import type { TimeRange } from '../core/time-range.ts'
import type { ViewErrorTally, ViewFoldError } from '../core/view-errors.ts'
//
// Batch view versions. A batch run stages a new version of a view (entries written in chunks,
// invisible to readers), then commits it: one atomic write makes it the served version, with
// its horizon. Until that write, the previous version keeps serving; after it, the previous
// version's entries are deleted. A crash before the flip leaves only an unserved staged
// version, which the next open (or the next stage of that view) deletes.

/** Offset per partition: batch version v covers exactly the events with offset < horizon[p]. */
export type Horizon = number[]

/** One group of a view: its key, its window (start ms; 0 for views without a window) and the monoid state encoded by the aggregate. */
export interface ViewEntry {
  key: string
  window: number
  state: unknown
}

export interface BatchViewMeta {
  view: string
  version: number
  /** Hash of the view's definition; a changed hash means the view must be recomputed. */
  codeHash: string
  horizon: Horizon
  /** Events folded (those that passed the filter and those that did not). */
  events: number
  groups: number
  startedAt: number
  completedAt: number
  /** Events the view's code threw on in this run, skipped by the view (core/view-errors.ts). */
  foldErrors?: { count: number; recent: ViewFoldError[] }
}

/** Entries as parallel arrays: entry i is { key: keys[i], window: windows[i], state: states[i] }. */
export interface EntryColumns {
  keys: readonly string[]
  windows: ArrayLike<number>
  states: ArrayLike<unknown>
}

/**
 * Entries as columns with each distinct key once: entry i is { key: keys[keyIndex[i]], window:
 * windows[i], state: states[i] }; `keys` holds no string twice. What a batch thread's answer
 * already is (worker.ts), so a store can group a version's entries by key with integers, not
 * strings (lmdb-batch.ts).
 */
export interface KeyedColumns {
  keys: readonly string[]
  keyIndex: Uint32Array
  windows: ArrayLike<number>
  states: ArrayLike<unknown>
}

export interface BatchStage {
  readonly view: string
  readonly version: number
  put(entries: ViewEntry[]): Promise<void>
  /**
   * The same as put() of the entries the columns hold, without an object per entry (the batch
   * run's answers come as columns, worker.ts). Optional: a store without it is given put().
   */
  putColumns?(columns: EntryColumns): Promise<void>
  /** The same as putColumns() of the entries the keyed columns hold. Optional, as putColumns(). */
  putKeyed?(columns: KeyedColumns): Promise<void>
  /** Flips the served version of the view to this one, atomically, and drops the previous one. */
  commit(meta: Omit<BatchViewMeta, 'view' | 'version'>): Promise<BatchViewMeta>
  abort(): Promise<void>
}

export interface BatchStore {
  /** The served batch version of each view that has one. */
  listBatchViews(): Promise<BatchViewMeta[]>
  servedBatch(view: string): Promise<BatchViewMeta | undefined>
  stageBatch(view: string): Promise<BatchStage>
  /** The entries of one key in a served batch version, in window order. */
  readBatch(view: string, version: number, key: string, range?: TimeRange): Promise<ViewEntry[]>
  /** Every entry of a batch version (for top-k queries and exports). */
  scanBatch(view: string, version: number): AsyncIterable<ViewEntry>
  /** The most recent batch runs, newest first (for the dashboard and `GET /views`). */
  batchHistory(limit: number): Promise<BatchViewMeta[]>
}

// ---------------------------------------------------------------------------------------------
// The speed layer's state, and the hand-off at the horizon. docs/horizon.md is the argument;
// every method below is one store transaction, which is what makes the argument hold.

/** What the store knows of one partition of the speed layer. */
export interface SpeedPartition {
  partition: number
  /** Next offset to consume: the realtime states cover [epochs[0], offset). */
  offset: number
  /** Start offsets of the epochs held, ascending; the last is the open epoch (it ends at `offset`). */
  epochs: number[]
  /** Offsets at which the speed layer must seal when it reaches them (batch horizons), ascending. */
  required: number[]
  /** Fencing token of the current owner (one writer per partition). */
  owner: number
}

/** The realtime record of one view: which definition its states were built with, and from where. */
export interface SpeedView {
  view: string
  codeHash: string
  /** Per partition, the offset where this definition's realtime states begin. */
  start: Horizon
}

/** Events a view's code threw on (core/view-errors.ts), recorded with the commit that skipped them. */
export type { ViewErrorTally, ViewFoldError } from '../core/view-errors.ts'

/** One group's change in one epoch: an encoded monoid state to combine into the stored one. */
export interface RealtimeDelta {
  view: string
  epoch: number
  key: string
  window: number
  state: unknown
}

/**
 * A commit's deltas as columns, as the fold threads pack them (src/speed/fold-protocol.ts): delta i
 * is view `views[view[i]]`, epoch `epochs[i]`, key `keys[i]`, window `windows[i]`, encoded state
 * `states[i]`. One object per commit instead of one per delta; a store writes them as they are
 * (LMDB's log row) or expands them (deltaList).
 */
export interface DeltaColumns {
  views: readonly string[]
  view: Uint16Array
  epochs: Float64Array
  windows: Float64Array
  keys: readonly string[]
  states: ArrayLike<unknown>
}

/** How many deltas a commit carries, in either form. */
export function deltaCount(deltas: RealtimeDelta[] | DeltaColumns): number {
  return Array.isArray(deltas) ? deltas.length : deltas.view.length
}

/** A commit's deltas as objects, in order, from either form. */
export function deltaList(deltas: RealtimeDelta[] | DeltaColumns): RealtimeDelta[] {
  if (Array.isArray(deltas)) return deltas
  const out: RealtimeDelta[] = new Array(deltas.view.length)
  for (let i = 0; i < out.length; i++) {
    out[i] = {
      view: deltas.views[deltas.view[i]!]!,
      epoch: deltas.epochs[i]!,
      key: deltas.keys[i]!,
      window: deltas.windows[i]!,
      state: deltas.states[i],
    }
  }
  return out
}

export interface SpeedCommit {
  partition: number
  owner: number
  /** The code hash of every view the deltas are for; a commit from an older definition is refused. */
  hashes: Record<string, string>
  /** The offset the partition was at when these deltas began (must equal the stored offset). */
  from: number
  /** The new consumed offset. */
  offset: number
  deltas: RealtimeDelta[] | DeltaColumns
  /** Epochs sealed by this commit: each starts a new epoch (ascending, within (from, offset]). */
  seals: number[]
  /** Events a view's code threw on in [from, offset): added to the view's tally in the same transaction. */
  errors?: ViewFoldError[]
  /** Events the commit offered to the views (for the failing rule of view-errors.ts). */
  offered?: number
}

/** Combines two encoded states of a view (decode, combine, encode with the view's monoid). */
export type CombineEncoded = (view: string, stored: unknown, delta: unknown) => unknown

/** What a query reads, from one snapshot of the store. */
export interface ViewSnapshot {
  batch: BatchViewMeta | undefined
  batchEntries: ViewEntry[]
  /**
   * Realtime states of the key, per partition, from the epochs at or after the horizon. A group
   * (partition, epoch, window) may have several rows (its folded state and the deltas a store
   * logged since, lmdb-speed-log.ts): its state is their combination.
   */
  realtime: Array<{ partition: number; epoch: number; window: number; state: unknown }>
  speedView: SpeedView | undefined
  /** Per partition: the speed layer's consumed offset (absent when it never ran there). */
  speed: Array<SpeedPartition | undefined>
  /**
   * The store's snapshot version this was read under (the LMDB store's version row,
   * lmdb-snapshot-memo.ts), absent when the store has none: every write a query reads moves it,
   * so two reads that find the same version read the same rows.
   */
  version?: number
}

export interface SpeedStore {
  /**
   * Whether the store runs a partition's commitSpeed calls in the order they were made: true for
   * the LMDB store (lmdb-js runs its write transactions in the order asked for), false for
   * PostgreSQL (a pool of connections may run a commit before one asked for earlier). Only where
   * it is true does a speed folder send a window's commit while the one before is in flight
   * (partition-folder.ts, landingLimit); a store that lacks it (a double cast to the type) is
   * taken as false.
   */
  readonly commitsInOrder: boolean
  /**
   * Takes ownership of a partition: bumps its owner token and returns its state. A partition
   * never seen starts at `initial` (one epoch starting there).
   */
  claimPartition(partition: number, initial: number): Promise<SpeedPartition>
  /** Every partition the speed layer has claimed, ascending. */
  speedPartitions(): Promise<SpeedPartition[]>
  /**
   * One partition's state, undefined when it was never claimed: what a folder reads before each
   * batch (its required boundaries, and whether it still owns the partition), without reading
   * every partition.
   */
  speedPartition(partition: number): Promise<SpeedPartition | undefined>
  /**
   * Records the definitions the speed layer runs: afterwards the recorded views are exactly
   * `views`. A view whose code hash changed (or that is new) has its realtime states dropped and
   * restarts at the partitions' current offsets (0 where the speed layer never ran), which become
   * required boundaries; a recorded view not in `views` is forgotten with its realtime states (put
   * back later, it is new). Returns the views as recorded after the call.
   */
  registerSpeedViews(
    views: Array<{ view: string; codeHash: string }>,
    partitions: number,
  ): Promise<SpeedView[]>
  speedViews(): Promise<SpeedView[]>
  /**
   * Commits folded deltas and the new consumed offset in one transaction. Refuses (StrataError
   * FENCED) a commit whose owner is not the current one or whose `from` is not the stored offset
   * (another writer moved it), and one that passes a required boundary without sealing there;
   * refuses (STRATA_ERR_CONFIG_CHANGED) one whose views are not exactly the recorded ones, with
   * their code hashes (a worker started with another config).
   */
  commitSpeed(commit: SpeedCommit, combine: CombineEncoded): Promise<void>
  /**
   * Folds now whatever deltas the store has logged and not folded into its states yet, with
   * `combine` for views no commit of this process named; returns the commits folded. The LMDB
   * store logs each commit's deltas as one row and folds the log in the background
   * (lmdb-speed-log.ts); PostgreSQL combines them in the commit and has nothing to fold. Answers
   * are the same before and after: this changes only where a delta is read from.
   */
  compactSpeed(combine: CombineEncoded): Promise<number>
  /**
   * Rows of the speed log not folded into the states yet (the LMDB store's, lmdb-speed-log.ts;
   * absent where a commit is folded at once): a log that grows and does not drain is seen here
   * (`strata_speed_log_rows` in /metrics), before it is seen in the answers' latency.
   */
  speedLogRows?(): number
  /**
   * Rule 3 of docs/horizon.md: turns a wished horizon into one that is (or will be) a boundary
   * in every partition, recording required boundaries as needed. `floor` is the least offset
   * per partition the caller accepts (served horizons, realtime starts).
   */
  alignHorizon(wished: Horizon, floor: Horizon): Promise<Horizon>
  /**
   * Rule 6: drops the epochs no query reads any more, below the bound of each partition that
   * `collectionBound` (speed-rules.ts) computes in the collecting transaction from the served
   * versions and the recorded views as they are then, and `running`: the views of the caller's
   * config (a batch run's), in use too.
   */
  collectEpochs(running: readonly string[]): Promise<void>
  /** The speed layer's tally of view errors per view (only views with errors). */
  speedViewErrors(): Promise<Map<string, ViewErrorTally>>
  /**
   * Records that a view defined with onError('stop') stopped its partition's speed layer on this
   * event (ViewErrorTally.stops), so that every process serving the store can say so.
   */
  recordViewStop(failure: ViewFoldError): Promise<void>
}

export interface QueryStore {
  /** One consistent read of everything a query of (view, key) needs (rule 5). */
  snapshot(view: string, key: string, range?: TimeRange): Promise<ViewSnapshot>
  /**
   * The snapshot version a read would find now (ViewSnapshot.version), read synchronously: one
   * row, no transaction of its own. Absent in a store without one; undefined when it has none yet.
   */
  snapshotVersion?(): number | undefined
  /** Every key that has realtime states in the view (for top-k over batch ⊕ realtime), ascending. */
  realtimeKeys(view: string): AsyncIterable<string>
}

/**
 * What the store records about itself: the source and the master dataset it was built from
 * (src/runtime/source-identity.ts). Each name is written once; a later writer reads the first.
 */
export interface MetaStore {
  readMeta(name: string): Promise<unknown>
  /** Records `value` under `name` unless a value is there; returns the value stored. */
  claimMeta(name: string, value: unknown): Promise<unknown>
  /**
   * Records `value` under `name`, replacing what is there: a role's heartbeat
   * (runtime/role-heartbeat.ts), which every worker process rewrites every few seconds. Under the
   * meta names, so neither layout changes (an older reader never asks for these names).
   */
  writeMeta(name: string, value: unknown): Promise<void>
  /** Every name starting with `prefix` and its value, in name order. */
  listMeta(prefix: string): Promise<Array<[name: string, value: unknown]>>
  /** Removes what `writeMeta` wrote under `name` (a heartbeat of a worker long gone). */
  deleteMeta(name: string): Promise<void>
  /** Removes everything: views, speed state, meta (`strata reset`). */
  clear(): Promise<void>
}

/** Everything the layers keep: one implementation per backend (LMDB, PostgreSQL). */
export interface Store extends BatchStore, SpeedStore, QueryStore, MetaStore {
  close(): Promise<void>
}
