// The bucket counts of a DDSketch, for one sign: counts[i] is the number of values whose bucket
// index is offset + i. The first and last counts are never 0 (trimmed), which keeps encodings
// canonical. At most `maxBuckets` indexes are spanned: everything below maxIndex - maxBuckets + 1
// is counted in that lowest bucket instead. Because the collapse point depends only on the
// largest index ever added, the store is a pure function of the multiset of indexes added, so
// merging stores is exactly associative and commutative.

export interface Buckets {
  offset: number
  counts: number[]
}

export function emptyBuckets(): Buckets {
  return { offset: 0, counts: [] }
}

export function addToBuckets(store: Buckets, index: number, count: number, maxBuckets: number): void {
  const counts = store.counts
  if (counts.length === 0) {
    store.offset = index
    counts.push(count)
    return
  }
  const hi = store.offset + counts.length - 1
  if (index > hi) {
    const lo = Math.max(store.offset, index - maxBuckets + 1)
    store.counts = rebase(store, lo, index)
    store.offset = lo
    store.counts[index - lo] += count
    return
  }
  const floor = hi - maxBuckets + 1
  const at = Math.max(index, floor)
  if (at < store.offset) {
    store.counts = rebase(store, at, hi)
    store.offset = at
  }
  store.counts[at - store.offset] += count
}

/** b into a (a may be rebuilt; b is read only). */
export function mergeBuckets(a: Buckets, b: Buckets, maxBuckets: number): void {
  if (b.counts.length === 0) return
  if (a.counts.length === 0) {
    a.offset = b.offset
    a.counts = b.counts.slice()
    return
  }
  const hi = Math.max(a.offset + a.counts.length, b.offset + b.counts.length) - 1
  const lo = Math.max(Math.min(a.offset, b.offset), hi - maxBuckets + 1)
  const counts = rebase(a, lo, hi)
  for (let i = 0; i < b.counts.length; i++) {
    const at = Math.max(b.offset + i, lo)
    counts[at - lo] += b.counts[i]
  }
  a.offset = lo
  a.counts = counts
}

/** The store's counts over [lo, hi], indexes below lo folded into lo. */
function rebase(store: Buckets, lo: number, hi: number): number[] {
  const counts = new Array<number>(hi - lo + 1).fill(0)
  for (let i = 0; i < store.counts.length; i++) {
    const at = Math.max(store.offset + i, lo)
    counts[at - lo] += store.counts[i]
  }
  return counts
}

export function encodeBuckets(store: Buckets): number[] {
  return store.counts.length === 0 ? [] : [store.offset, ...store.counts]
}

export function decodeBuckets(encoded: unknown, maxBuckets: number): Buckets | undefined {
  if (!Array.isArray(encoded)) return undefined
  if (encoded.length === 0) return emptyBuckets()
  const [offset, ...counts] = encoded
  const ok =
    Number.isSafeInteger(offset) &&
    counts.length <= maxBuckets &&
    counts.every((c) => Number.isSafeInteger(c) && c >= 0) &&
    counts[0] > 0 &&
    counts[counts.length - 1] > 0
  return ok ? { offset, counts } : undefined
}
