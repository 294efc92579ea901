// A query: the answer of one view for one key, with the metadata that says what it covers.
// Shared by `GET /views/:view/:key` and `strata query`.
//
// answer = served batch version ⊕ realtime states of the epochs at or after its horizon
// (docs/horizon.md, rule 5), read from one store snapshot, with asOf[p] = max(H[p], C[p]): the
// answer equals folding the view over every event with offset < asOf[p] in every partition p.
//
// When the served batch version was built from another definition of the view (its code hash
// changed), the realtime states are of the new definition and cannot be merged with it: the
// answer is the old batch version alone, exact as of its horizon, flagged `recomputing`.
import type { CompiledView, WindowResult } from '../core/compiled-view.ts'
import type { TimeRange } from '../core/time-range.ts'
import type { Horizon, Store, ViewSnapshot } from '../store/store.ts'

export interface QueryAnswer {
  view: string
  key: string
  /** Per window, ascending, for windowed views. */
  windows?: Array<WindowResult<unknown> & { batch?: unknown; speed?: unknown; overflow?: NonFinite }>
  /** The single value of a view without a window. */
  value?: unknown
  /** Set when `value` is a number past what a double holds (nonFiniteOf). */
  overflow?: NonFinite
  batch: { version: number; horizon: Horizon; codeHash: string; completedAt: number } | null
  /** The speed layer's consumed offset per partition (null where it never ran). */
  speed: Array<number | null>
  /** Offsets per partition the answer covers: it equals folding the view over every event below them. */
  asOf: Horizon
  /** True while the served batch version is of an older definition of the view. */
  recomputing: boolean
}

/**
 * A value JSON cannot write: a sum (or mean) past ±1.8e308 is ±Infinity (NaN for +∞ + −∞), which
 * JSON.stringify writes as null, the same as "no value". Answers carry `overflow` beside such a
 * value so that it is never read as empty (docs/views.md, "sum, mean").
 */
export type NonFinite = 'Infinity' | '-Infinity' | 'NaN'

export function nonFiniteOf(value: unknown): NonFinite | undefined {
  return typeof value === 'number' && !Number.isFinite(value) ? (String(value) as NonFinite) : undefined
}

export interface QueryOptions {
  /** Checked by the caller (core/time-range.ts: the HTTP routes and the CLI check what they parse). */
  range?: TimeRange
  /** Also report each window's batch part and speed part (for the dashboard's explorer). */
  parts?: boolean
  /**
   * Keep the answer for the next ask of the same snapshot parts (`answered`, below); false for
   * a caller that keeps the answer's body itself (api/query-fast-path.ts): the answer is then
   * garbage once encoded, not a second copy held per key. Default true.
   */
  keep?: boolean
}

/** An answer with what it was computed from (answered). */
interface Answered {
  snapshot: ViewSnapshot
  view: CompiledView<any, any>
  key: string
  from: number | undefined
  to: number | undefined
  parts: boolean
  answer: QueryAnswer
}

// The last answer computed from each snapshot's realtime rows. A store may give the very same
// objects again while nothing it holds has changed (the LMDB store does, under its snapshot
// version: store/lmdb-snapshot-memo.ts); an answer is a function of the snapshot's parts and the
// question, so the same objects and the same question are the same answer, without the decoding
// and merging. Nobody changes a snapshot or an answer once made (the routes copy an answer to add
// its lag). A store that reads afresh every time (PostgreSQL) never hits, and its entries go with
// their snapshots.
const answered = new WeakMap<object, Answered>()

export async function queryView(
  store: Store,
  view: CompiledView<any, any>,
  key: string,
  options: QueryOptions = {},
): Promise<QueryAnswer> {
  return answerOf(await snapshotFor(store, view, key, options), view, key, options)
}

/**
 * queryView, with the store's snapshot version the answer was read under (ViewSnapshot.version;
 * undefined in a store without one): the answer is the same for every read that finds it.
 */
export async function queryViewAt(
  store: Store,
  view: CompiledView<any, any>,
  key: string,
  options: QueryOptions = {},
): Promise<{ answer: QueryAnswer; version: number | undefined }> {
  const snapshot = await snapshotFor(store, view, key, options)
  return { answer: answerOf(snapshot, view, key, options), version: snapshot.version }
}

/** The store's read for the question (one rule for queryView and queryViewAt). */
function snapshotFor(
  store: Store,
  view: CompiledView<any, any>,
  key: string,
  options: QueryOptions,
): Promise<ViewSnapshot> {
  // Windows are selected by their start: from <= windowStart < to.
  return store.snapshot(view.name, key, view.window === null ? {} : (options.range ?? {}))
}

/** The answer of a snapshot read for the question: the one computed last when nothing differs. */
function answerOf(
  snapshot: ViewSnapshot,
  view: CompiledView<any, any>,
  key: string,
  options: QueryOptions,
): QueryAnswer {
  const range = options.range ?? {}
  const parts = options.parts === true
  const hit = answered.get(snapshot.realtime)
  if (
    hit !== undefined &&
    hit.view === view &&
    hit.key === key &&
    hit.from === range.from &&
    hit.to === range.to &&
    hit.parts === parts &&
    hit.snapshot.batch === snapshot.batch &&
    hit.snapshot.batchEntries === snapshot.batchEntries &&
    hit.snapshot.speedView === snapshot.speedView &&
    hit.snapshot.speed === snapshot.speed
  ) {
    return hit.answer
  }
  const answer = answerFrom(view, key, snapshot, options)
  if (options.keep !== false)
    answered.set(snapshot.realtime, { snapshot, view, key, from: range.from, to: range.to, parts, answer })
  return answer
}

export function answerFrom(
  view: CompiledView<any, any>,
  key: string,
  snapshot: ViewSnapshot,
  options: QueryOptions = {},
): QueryAnswer {
  const { monoid } = view
  const served = snapshot.batch
  const batchCurrent = served !== undefined && served.codeHash === view.codeHash
  const speedCurrent = snapshot.speedView?.codeHash === view.codeHash
  const partitions = Math.max(snapshot.speed.length, served?.horizon.length ?? 0)
  // Realtime states merge only onto a batch version of the same definition (or onto nothing),
  // and only when they reach back to its horizon (to offset 0 without one): otherwise the events
  // between would count zero times. A view added or changed while running is in that state
  // until its first batch run.
  const start = snapshot.speedView?.start ?? []
  // Plain loops here and below, not Array.from({ length }): that took a third of this function's
  // time on every query (measured, decision 0013).
  let reachesBack = true
  for (let p = 0; p < partitions && reachesBack; p++) {
    reachesBack = (start[p] ?? 0) <= (served?.horizon[p] ?? 0)
  }
  const mergeRealtime = speedCurrent && (served === undefined || batchCurrent) && reachesBack
  const recomputing = (served !== undefined && !batchCurrent) || (speedCurrent && !reachesBack)

  // combine(a, b) may mutate a, and decode may return its input: a decoded state can be the
  // snapshot's own row, which the LMDB memo hands to every query of the same question until the
  // next write (and the speed log's cache to every query until compaction). So a state combined
  // into is first our own: combine(zero(), a), as monoid.ts says. Numbers are immutable: no copy.
  // A state combined into twice is ours from the first time (`mine`).
  const mine = new Set<unknown>()
  const owned = (state: unknown): unknown => {
    if (typeof state !== 'object' || state === null || mine.has(state)) return state
    const copy = monoid.combine(monoid.zero(), state as never)
    mine.add(copy)
    return copy
  }
  const batchStates = new Map<number, unknown>()
  for (const entry of snapshot.batchEntries)
    batchStates.set(entry.window, monoid.decode(entry.state as never))
  const speedStates = new Map<number, unknown>()
  if (mergeRealtime) {
    for (const row of snapshot.realtime) {
      const state = monoid.decode(row.state as never)
      const before = speedStates.get(row.window)
      speedStates.set(row.window, before === undefined ? state : monoid.combine(owned(before), state))
    }
  }

  const asOf: Horizon = []
  for (let p = 0; p < partitions; p++) {
    const horizon = served?.horizon[p] ?? 0
    const consumed = snapshot.speed[p]?.offset
    asOf.push(mergeRealtime && consumed !== undefined ? Math.max(horizon, consumed) : horizon)
  }

  const merged = new Map<number, unknown>()
  for (const [window, state] of batchStates) merged.set(window, state)
  for (const [window, state] of speedStates) {
    const before = merged.get(window)
    merged.set(window, before === undefined ? state : monoid.combine(owned(before), state))
  }

  const speed: Array<number | null> = new Array(partitions)
  for (let p = 0; p < partitions; p++) speed[p] = snapshot.speed[p]?.offset ?? null
  const answer: QueryAnswer = {
    view: view.name,
    key,
    batch: served
      ? {
          version: served.version,
          horizon: served.horizon,
          codeHash: served.codeHash,
          completedAt: served.completedAt,
        }
      : null,
    speed,
    asOf,
    recomputing,
  }
  if (view.window === null) {
    const state = merged.values().next().value
    answer.value = view.result(state === undefined ? monoid.zero() : state)
    const overflow = nonFiniteOf(answer.value)
    if (overflow) answer.overflow = overflow
    return answer
  }
  const windows: Array<[number, unknown]> = []
  for (const entry of merged) windows.push(entry)
  windows.sort((a, b) => a[0] - b[0])
  const results = view.windowResults(windows, options.range ?? {}) as QueryAnswer['windows'] & object
  for (const w of results) {
    const overflow = nonFiniteOf(w.value)
    if (overflow) w.overflow = overflow
  }
  if (options.parts) {
    for (const w of results) {
      const b = batchStates.get(w.windowStart)
      const s = speedStates.get(w.windowStart)
      w.batch = view.result(b === undefined ? monoid.zero() : b)
      w.speed = view.result(s === undefined ? monoid.zero() : s)
    }
  }
  answer.windows = results
  return answer
}
