// Keys of a view ranked by their merged value (GET /views/:view/top).
//
// The rank of a key is its answer (query.ts) reduced to one number: the value of an unwindowed
// view; for a windowed view, its windows in [from, to) combined — summed for count, sum and
// distinct counts (so a user seen on two days counts twice), the least for min, the greatest for
// max. Aggregates whose results are not numbers (topK, quantiles), and windowed means, cannot be
// ranked: 400. For "top N" over a whole stream, a topK view answers in one read and scales;
// this ranks every key.
//
// Exactness. The keys come from two places:
// - the served batch version (scanBatch): a key without realtime states has exactly its batch
//   value as its answer (answerFrom merges nothing else into it), read here in one pass;
// - `realtimeKeys(view)`, the keys with realtime states (createApp passes the store's own,
//   Store.realtimeKeys): each is answered by queryView, batch ⊕ realtime.
// Without `realtimeKeys` (a createServer caller that passes none), every batch key is answered
// by queryView (one store snapshot per key: the cost is O(keys), capped by `maxQueries`), and a
// key seen only by the speed layer since the horizon cannot be found: `complete` is then false
// unless nothing past the horizon is merged.
// Each key is read in its own snapshot, so the values may cover more than `asOf` (the least
// asOf seen); `consistent` is true when every value covers exactly `asOf`. A batch flip during
// the ranking restarts it, so no answer mixes two batch versions.
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import type { CompiledView } from '../../core/compiled-view.ts'
import { ErrorCodes, invalidInput, StrataError } from '../../core/errors.ts'
import type { TimeRange } from '../../core/time-range.ts'
import type { Horizon, Store, ViewEntry } from '../../store/store.ts'
import { answerFrom, type QueryAnswer, queryView } from '../query.ts'

/** The keys that have realtime states in a view (Store.realtimeKeys, or the caller's own). */
export type RealtimeKeysProvider = (view: string) => AsyncIterable<string> | Iterable<string>

export interface RankOptions {
  limit: number
  range?: TimeRange
  realtimeKeys?: RealtimeKeysProvider
  /** Most keys answered one by one through queryView. Default 100 000. */
  maxQueries?: number
}

export interface TopAnswer {
  view: string
  items: Array<{ key: string; value: number }>
  /** Keys that had a value (in the range) and were ranked. */
  keys: number
  /** True when no key with a value as of `asOf` can be missing. */
  complete: boolean
  /** True when every value covers exactly `asOf`; otherwise some cover more. */
  consistent: boolean
  batch: QueryAnswer['batch']
  speed: QueryAnswer['speed']
  asOf: Horizon
  recomputing: boolean
}

const ATTEMPTS = 3

export async function rankKeys(
  store: Store,
  view: CompiledView<any, any>,
  options: RankOptions,
): Promise<TopAnswer> {
  const reduce = reducerOf(view)
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const answer = await rankOnce(store, view, reduce, options)
    if (answer !== undefined) return answer
  }
  // Nothing is wrong with the request: the store cannot give one consistent ranking right now.
  throw new StrataError(
    ErrorCodes.STORE_UNAVAILABLE,
    `the batch version of ${view.name} changed ${ATTEMPTS} times while ranking its keys; retry`,
    { retriable: true },
  )
}

type Reduce = (a: number, b: number) => number

function reducerOf(view: CompiledView<any, any>): Reduce {
  const name = view.monoid.definition.name
  if (name === 'topK' || name === 'quantiles' || (name === 'mean' && view.window !== null)) {
    throw invalidInput(
      ErrorCodes.INVALID_ARGUMENT,
      `view '${view.name}' (${name}${view.window ? ', windowed' : ''}) has no single number per key to rank by`,
      { field: 'view' },
    )
  }
  if (name === 'min') return Math.min
  if (name === 'max') return Math.max
  return (a, b) => a + b
}

/** One number from a key's results; undefined when it has none (no window in range, or null). */
function rankOf(
  view: CompiledView<any, any>,
  results: Iterable<unknown>,
  reduce: Reduce,
): number | undefined {
  let rank: number | undefined
  for (const value of results) {
    if (value === null || value === undefined) continue
    if (typeof value !== 'number') {
      throw invalidInput(
        ErrorCodes.INVALID_ARGUMENT,
        `view '${view.name}' has results that are not numbers`,
        {
          field: 'view',
        },
      )
    }
    rank = rank === undefined ? value : reduce(rank, value)
  }
  return rank
}

async function rankOnce(
  store: Store,
  view: CompiledView<any, any>,
  reduce: Reduce,
  options: RankOptions,
): Promise<TopAnswer | undefined> {
  const range = view.window === null ? {} : (options.range ?? {})
  const maxQueries = options.maxQueries ?? 100_000
  // What every answer covers at the start; the realtime keys are listed after it, so every key
  // with realtime states as of this asOf is listed.
  const base = answerFrom(view, '', await store.snapshot(view.name, '', { from: 0, to: 0 }))
  const version = base.batch?.version
  const listed = options.realtimeKeys
    ? await collect(options.realtimeKeys(view.name), maxQueries, view)
    : null
  const top = new TopList(options.limit)
  const toQuery: string[] = listed === null ? [] : [...listed]
  let keys = 0

  if (version !== undefined) {
    for await (const [key, entries] of byKey(store.scanBatch(view.name, version))) {
      if (listed?.has(key)) continue
      if (listed === null) {
        if (toQuery.length === maxQueries) throw tooLarge(view, maxQueries)
        toQuery.push(key)
        continue
      }
      const results = []
      for (const e of entries) {
        if (inRange(e.window, range)) results.push(view.result(view.monoid.decode(e.state as never)))
      }
      const rank = rankOf(view, results, reduce)
      if (rank !== undefined) {
        top.add(key, rank)
        keys++
      }
    }
  }

  let consistent = true
  let merged = !sameOffsets(base.asOf, base.batch?.horizon ?? [])
  const asOf = [...base.asOf]
  for (const [i, key] of toQuery.entries()) {
    if (i % 256 === 255) await yieldToLoop() // let other requests in during a long ranking
    const answer = await queryView(store, view, key, { range })
    if (answer.batch?.version !== version) return undefined // flipped: start over
    if (!sameOffsets(answer.asOf, base.asOf)) consistent = false
    if (!sameOffsets(answer.asOf, answer.batch?.horizon ?? [])) merged = true
    for (const [p, offset] of answer.asOf.entries()) asOf[p] = Math.min(asOf[p] ?? offset, offset)
    const results = view.window === null ? [answer.value] : (answer.windows ?? []).map((w) => w.value)
    const rank = rankOf(view, results, reduce)
    if (rank !== undefined) {
      top.add(key, rank)
      keys++
    }
  }

  return {
    view: view.name,
    items: top.result(),
    keys,
    complete: listed !== null || !merged,
    consistent,
    batch: base.batch,
    speed: base.speed,
    asOf,
    recomputing: base.recomputing,
  }
}

function inRange(window: number, range: TimeRange): boolean {
  return (range.from === undefined || window >= range.from) && (range.to === undefined || window < range.to)
}

/** Equal per partition, a missing partition counting as 0. */
function sameOffsets(a: readonly number[], b: readonly number[]): boolean {
  const n = Math.max(a.length, b.length)
  for (let p = 0; p < n; p++) if ((a[p] ?? 0) !== (b[p] ?? 0)) return false
  return true
}

function tooLarge(view: CompiledView<any, any>, max: number): StrataError {
  return new StrataError(
    ErrorCodes.QUERY_TOO_LARGE,
    `ranking ${view.name} would read more than ${max} keys one by one; define a topK view for it`,
  )
}

async function collect(
  keys: AsyncIterable<string> | Iterable<string>,
  max: number,
  view: CompiledView<any, any>,
): Promise<Set<string>> {
  const set = new Set<string>()
  for await (const key of keys) {
    set.add(key)
    if (set.size > max) throw tooLarge(view, max)
  }
  return set
}

/** Entries of a batch version grouped by key (scanBatch yields them in key, window order). */
async function* byKey(entries: AsyncIterable<ViewEntry>): AsyncIterable<[string, ViewEntry[]]> {
  let key: string | undefined
  let group: ViewEntry[] = []
  for await (const entry of entries) {
    if (entry.key !== key) {
      if (key !== undefined) yield [key, group]
      key = entry.key
      group = []
    }
    group.push(entry)
  }
  if (key !== undefined) yield [key, group]
}

/** The best `limit` keys: value descending, then key ascending (a stable order for ties). */
class TopList {
  readonly #limit: number
  #items: Array<{ key: string; value: number }> = []

  constructor(limit: number) {
    this.#limit = limit
  }

  add(key: string, value: number): void {
    this.#items.push({ key, value })
    // Trim in batches: O(n log limit) overall instead of a sort per key.
    if (this.#items.length >= 2 * this.#limit + 64) this.#trim()
  }

  result(): Array<{ key: string; value: number }> {
    this.#trim()
    return this.#items
  }

  #trim(): void {
    this.#items.sort((a, b) => b.value - a.value || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    this.#items.length = Math.min(this.#items.length, this.#limit)
  }
}
