// Frequent items: an exact map of counts while it fits, a mergeable Misra–Gries summary after.
//
// A state counts how often each item occurred. While a state holds at most `capacity` distinct
// items it is exact: the counts are the true counts, and merging two exact states whose union
// still fits is exact too, so in this regime the monoid laws hold bit for bit.
//
// When a state would exceed `capacity` items it is reduced (Agarwal et al., "Mergeable
// summaries", 2012): let δ be the (keep + 1)-th largest count, keep = floor(capacity / 2);
// subtract δ from every count and drop those that reach 0, so at most `keep` items remain; add δ
// to `error`. Each reduction removes at least (keep + 1)·δ from the sum of the counts, which never
// exceeds the number of inputs N, so at every point and across any merges:
//   - every reported count ĉ(x) satisfies ĉ(x) <= true(x) <= ĉ(x) + error  (absent items: ĉ = 0);
//   - error <= N / (keep + 1);
//   - hence every item occurring more than N / (keep + 1) times is present.
// In this regime merge is still commutative (the reduction depends only on the union of the
// counts) but no longer exactly associative: different groupings can differ within the bound.
// `error` is 0 exactly when no reduction ever happened, i.e. when the state is exact.

export interface FrequentItemsState {
  counts: Map<string, number>
  /** Number of inputs counted (N). */
  total: number
  /** Sum of all reductions: the largest possible undercount of any item. 0 = exact. */
  error: number
}

export class FrequentItems {
  readonly capacity: number
  readonly keep: number

  constructor(capacity: number) {
    this.capacity = capacity
    this.keep = Math.max(1, Math.floor(capacity / 2))
  }

  create(): FrequentItemsState {
    return { counts: new Map(), total: 0, error: 0 }
  }

  add(state: FrequentItemsState, item: string): FrequentItemsState {
    const counts = state.counts
    const c = counts.get(item)
    state.total++
    if (c !== undefined) counts.set(item, c + 1)
    else {
      counts.set(item, 1)
      if (counts.size > this.capacity) this.#reduce(state)
    }
    return state
  }

  /** b into a; b is read only and nothing of it is kept. */
  merge(a: FrequentItemsState, b: FrequentItemsState): FrequentItemsState {
    const counts = a.counts
    for (const [item, c] of b.counts) counts.set(item, (counts.get(item) ?? 0) + c)
    a.total += b.total
    a.error += b.error
    if (counts.size > this.capacity) this.#reduce(a)
    return a
  }

  /** The `k` items with the highest counts, ties broken by item (code unit order). */
  top(state: FrequentItemsState, k: number): Array<{ item: string; count: number }> {
    return [...state.counts]
      .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
      .slice(0, k)
      .map(([item, count]) => ({ item, count }))
  }

  #reduce(state: FrequentItemsState): void {
    const values = Float64Array.from(state.counts.values()).sort().reverse()
    const delta = values[this.keep]
    for (const [item, c] of state.counts) {
      if (c <= delta) state.counts.delete(item)
      else state.counts.set(item, c - delta)
    }
    state.error += delta
  }
}
