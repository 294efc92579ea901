// The store holds what the layers compute: batch view versions (and which one is served),
// and — for the speed layer — realtime partials with the offsets that produced them.
// Two implementations share this contract: the embedded LMDB store and PostgreSQL.
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
}

export interface BatchStage {
  readonly view: string
  readonly version: number
  put(entries: ViewEntry[]): Promise<void>
  /** Flips the served version of the view to this one, atomically, and drops the previous one. */
  commit(meta: Omit<BatchViewMeta, 'view' | 'version'>): Promise<BatchViewMeta>
  abort(): Promise<void>
}

export interface WindowRange {
  /** Inclusive lower bound on the window start, ms. */
  from?: number
  /** Exclusive upper bound on the window start, ms. */
  to?: number
}

export interface Store {
  /** The served batch version of each view that has one. */
  listBatchViews(): Promise<BatchViewMeta[]>
  servedBatch(view: string): Promise<BatchViewMeta | undefined>
  stageBatch(view: string): Promise<BatchStage>
  /** The entries of one key in a served batch version, in window order. */
  readBatch(view: string, version: number, key: string, range?: WindowRange): Promise<ViewEntry[]>
  /** Every entry of a batch version (for top-k queries and exports). */
  scanBatch(view: string, version: number): AsyncIterable<ViewEntry>
  /** The most recent batch runs, newest first (for the dashboard and `GET /views`). */
  batchHistory(limit: number): Promise<BatchViewMeta[]>
  close(): Promise<void>
}
