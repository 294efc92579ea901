// topK(k, fn?): the k most frequent values of fn(input) (default: the input itself), with their
// counts. Exact while a state has seen at most `capacity` distinct values (default 10 000, so the
// example's top_urls is exact for any realistic site map); past that a Misra–Gries summary whose
// counts are low by at most `maxError` <= N / (capacity / 2 + 1), reported with every result. See
// sketches/misra-gries.ts for the proof. Commutative always; exactly associative while exact.
import type { Json } from '../event.ts'
import {
  checkEnvelope,
  checkFunction,
  checkInteger,
  definitionOf,
  invalidState,
  itemOf,
  type Monoid,
  withInputReaders,
} from '../monoid.ts'
import { FrequentItems, type FrequentItemsState } from '../sketches/misra-gries.ts'

export interface TopKOptions {
  /** Distinct values counted exactly per state before summarizing. Default 10 000. */
  capacity?: number
}

export interface TopKResult {
  items: Array<{ item: string; count: number }>
  /** True when every count is exact. */
  exact: boolean
  /** Largest possible undercount of any reported count (0 when exact). */
  maxError: number
  /** Inputs counted. */
  total: number
}

const identity = (input: unknown): unknown => input

export function topK<In = any>(
  k: number,
  fn: (input: In) => unknown = identity,
  options: TopKOptions = {},
): Monoid<FrequentItemsState, In, TopKResult> {
  checkInteger(k, 'topK(k)', 1, 100_000)
  checkFunction(fn, 'topK(k, fn)')
  const capacity = checkInteger(options.capacity ?? 10_000, 'topK capacity', Math.max(2, k), 10_000_000)
  const summary = new FrequentItems(capacity)
  const add = (state: FrequentItemsState, input: In): FrequentItemsState => {
    const item = itemOf(fn(input))
    return item === undefined ? state : summary.add(state, item)
  }
  return withInputReaders(
    {
      definition: definitionOf('topK', 1, { k, capacity }, fn === identity ? [] : [fn]),
      commutative: true,
      zero: () => summary.create(),
      lift: (input) => add(summary.create(), input),
      combine: (a, b) => summary.merge(a, b),
      add,
      result: (state) => ({
        items: summary.top(state, k),
        exact: state.error === 0,
        maxError: state.error,
        total: state.total,
      }),
      encode(state): Json {
        const items = [...state.counts].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
        return { type: 'topk', version: 1, capacity, total: state.total, error: state.error, items }
      },
      decode(encoded: Json): FrequentItemsState {
        const e = checkEnvelope(encoded, 'topk', 1, { capacity })
        const counts = new Map<string, number>()
        const wellFormed =
          Array.isArray(e.items) &&
          e.items.every((pair) => {
            if (!Array.isArray(pair) || typeof pair[0] !== 'string' || !Number.isSafeInteger(pair[1]))
              return false
            if ((pair[1] as number) <= 0 || counts.has(pair[0])) return false
            counts.set(pair[0], pair[1] as number)
            return true
          }) &&
          Number.isSafeInteger(e.total) &&
          Number.isSafeInteger(e.error) &&
          counts.size <= capacity
        if (!wellFormed) throw invalidState('topk', 'expected items as [item, count] pairs, total and error')
        return { counts, total: e.total as number, error: e.error as number }
      },
    },
    [fn],
  )
}
