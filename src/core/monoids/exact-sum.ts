// Exact summation of doubles. Floating-point addition is not associative ((a + b) + c can differ
// from a + (b + c) in the last bit), so a plain `+=` would let the batch/speed split, the number of
// partitions or a crash-and-replay change a sum: a violation of the exactness invariant. Instead a
// sum is kept exactly, as Shewchuk's non-overlapping partials (Python's math.fsum), and only
// rounded when read, so every grouping of the same values gives the same, correctly rounded sum.
//
// The common case costs nothing extra: while the running sum is exactly representable as one
// double (integer counts, bytes, cents below 2^53) the state is a plain number. The first inexact
// step switches that state to an ExactSum. Exact as long as no partial overflows (|sum| < ~1.8e308);
// past that the state becomes the plain number ±Infinity (or NaN for +Infinity + -Infinity).

/** Non-overlapping partials, ascending by magnitude; their exact sum is the state's value. */
export class ExactSum {
  readonly partials: number[]
  constructor(partials: number[] = []) {
    this.partials = partials
  }
}

export type SumState = number | ExactSum

/** Adds x exactly to the partials; returns the top partial (non-finite means it overflowed). */
function addPartial(p: number[], value: number): number {
  let x = value
  let i = 0
  for (let j = 0; j < p.length; j++) {
    let y = p[j]
    if (Math.abs(x) < Math.abs(y)) {
      const t = x
      x = y
      y = t
    }
    const hi = x + y
    const lo = y - (hi - x)
    if (lo !== 0) p[i++] = lo
    x = hi
  }
  p.length = i
  p.push(x)
  return x
}

/** The correctly rounded (half-even) value of exact partials, as CPython's math_fsum ends. */
function roundPartials(p: number[]): number {
  let n = p.length
  if (n === 0) return 0
  let hi = p[--n]
  let lo = 0
  while (n > 0) {
    const x = hi
    const y = p[--n]
    hi = x + y
    lo = y - (hi - x)
    if (lo !== 0) break
  }
  // Half-even rounding across partials: sum([1e-16, 1, 1e16]) must round up.
  if (n > 0 && ((lo < 0 && p[n - 1] < 0) || (lo > 0 && p[n - 1] > 0))) {
    const y = lo * 2
    const x = hi + y
    if (y === x - hi) hi = x
  }
  return hi
}

/** state + value, exactly. May mutate and return an ExactSum state. */
export function addToSum(state: SumState, value: number): SumState {
  if (typeof state === 'number') {
    const t = state + value
    if (!Number.isFinite(t)) return t
    // Two-sum: lo is the rounding error of t; zero means t is the exact sum.
    const bp = t - state
    const lo = state - (t - bp) + (value - bp)
    if (lo === 0) return t === 0 ? 0 : t
    return new ExactSum(Math.abs(lo) < Math.abs(t) ? [lo, t] : [t, lo])
  }
  const top = addPartial(state.partials, value)
  return Number.isFinite(top) ? state : top
}

/** a + b exactly; may mutate and return `a`, never mutates `b`. */
export function combineSums(a: SumState, b: SumState): SumState {
  if (typeof b === 'number') return addToSum(a, b)
  let state = a
  if (typeof state === 'number') {
    if (!Number.isFinite(state)) return state + roundPartials(b.partials)
    state = state === 0 ? new ExactSum() : new ExactSum([state])
  }
  for (const part of b.partials) {
    state = addToSum(state, part)
    if (typeof state === 'number') return state
  }
  return state
}

/** The sum, correctly rounded to the nearest double. */
export function sumValue(state: SumState): number {
  return typeof state === 'number' ? state : roundPartials(state.partials)
}

/**
 * The canonical expansion of the exact value: greedy rounded terms, largest first
 * (v0 = round(S), v1 = round(S - v0), ...). Equal sums give equal expansions whatever partials
 * they were built from, which is what makes encoded states canonical.
 */
export function canonicalTerms(state: SumState): number[] {
  if (typeof state === 'number') return state === 0 ? [] : [state]
  const rest = state.partials.slice()
  const terms: number[] = []
  for (;;) {
    const hi = roundPartials(rest)
    if (hi === 0) return terms
    terms.push(hi)
    addPartial(rest, -hi)
  }
}

/** The state whose exact value is the sum of the given terms. */
export function sumOfTerms(terms: number[]): SumState {
  let state: SumState = 0
  for (const term of terms) state = addToSum(state, term)
  return state
}
