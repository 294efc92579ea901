// Quantiles with a relative-error guarantee: DDSketch (Masson, Rim & Lee, VLDB 2019).
//
// A value x > 0 is counted in bucket i = ceil(log_γ x), γ = (1 + α) / (1 - α), which covers
// (γ^(i-1), γ^i]; negative values are counted the same way by magnitude in a second store, and
// zeros apart. The q-quantile is read by walking the buckets in value order to the bucket holding
// the value of rank r = floor(q·(n - 1)) (0-based, in sorted order) and answering that bucket's
// midpoint 2γ^i / (γ + 1), clamped to the exact [min, max].
//
// Error bound: the answer x̂ for quantile q satisfies |x̂ - x_r| <= α·|x_r|, where x_r is the
// value of rank floor(q·(n - 1)) — for every q, with no probability involved — as long as x_r's
// bucket was not collapsed. Each sign keeps at most `maxBuckets` buckets, collapsing the smallest
// magnitudes into one; with the defaults (α = 1%, 2048 buckets) that only touches values more
// than ~17 orders of magnitude below the largest one of the same sign. min, max and count are
// exact. Tested in test/core/sketches/ddsketch.test.ts.
//
// Why DDSketch rather than KLL or t-digest: a state is bucket counts, so merge is addition and
// is exactly associative and commutative. KLL (random compaction) and t-digest (order-dependent
// centroid merging) give answers that depend on how the input was split, so the batch/speed
// handover, the partition count or a replay would change a p99: exactly what Strata promises
// not to do.
import { addToBuckets, type Buckets, emptyBuckets, mergeBuckets } from './bucket-store.ts'

export interface QuantileState {
  positive: Buckets
  negative: Buckets
  zeros: number
  count: number
  /** Exact extremes; +Infinity / -Infinity while empty. */
  min: number
  max: number
}

export class DDSketch {
  readonly alpha: number
  readonly maxBuckets: number
  readonly #gamma: number
  readonly #multiplier: number

  constructor(alpha = 0.01, maxBuckets = 2048) {
    this.alpha = alpha
    this.maxBuckets = maxBuckets
    this.#gamma = (1 + alpha) / (1 - alpha)
    this.#multiplier = 1 / Math.log(this.#gamma)
  }

  create(): QuantileState {
    return {
      positive: emptyBuckets(),
      negative: emptyBuckets(),
      zeros: 0,
      count: 0,
      min: Number.POSITIVE_INFINITY,
      max: Number.NEGATIVE_INFINITY,
    }
  }

  /**
   * The bucket of a magnitude. `+ 0` turns the -0 that Math.ceil gives for a value just below 1
   * into 0: a state holding -0 is written to JSON as 0, and the state read back must be the same.
   */
  #index(magnitude: number): number {
    return Math.ceil(Math.log(magnitude) * this.#multiplier) + 0
  }

  /** Adds one finite value in place. */
  add(state: QuantileState, value: number): QuantileState {
    if (value > 0) addToBuckets(state.positive, this.#index(value), 1, this.maxBuckets)
    else if (value < 0) {
      addToBuckets(state.negative, this.#index(-value), 1, this.maxBuckets)
    } else {
      state.zeros++
      value = 0 // -0 counts as 0, so min/max cannot depend on order
    }
    state.count++
    if (value < state.min) state.min = value
    if (value > state.max) state.max = value
    return state
  }

  /** b into a; b is read only and nothing of it is kept. */
  merge(a: QuantileState, b: QuantileState): QuantileState {
    mergeBuckets(a.positive, b.positive, this.maxBuckets)
    mergeBuckets(a.negative, b.negative, this.maxBuckets)
    a.zeros += b.zeros
    a.count += b.count
    if (b.min < a.min) a.min = b.min
    if (b.max > a.max) a.max = b.max
    return a
  }

  /** The q-quantile (0 <= q <= 1) within the bound above; null when the state is empty. */
  quantile(state: QuantileState, q: number): number | null {
    if (state.count === 0) return null
    if (q <= 0) return state.min
    if (q >= 1) return state.max
    const rank = Math.floor(q * (state.count - 1))
    let seen = 0
    let estimate: number | undefined
    const neg = state.negative
    for (let i = neg.counts.length - 1; i >= 0 && estimate === undefined; i--) {
      seen += neg.counts[i]
      if (seen > rank) estimate = -this.#valueOf(neg.offset + i)
    }
    if (estimate === undefined) {
      seen += state.zeros
      if (seen > rank) estimate = 0
    }
    const pos = state.positive
    for (let i = 0; i < pos.counts.length && estimate === undefined; i++) {
      seen += pos.counts[i]
      if (seen > rank) estimate = this.#valueOf(pos.offset + i)
    }
    const x = estimate ?? state.max
    return Math.min(state.max, Math.max(state.min, x))
  }

  #valueOf(index: number): number {
    return (2 * this.#gamma ** index) / (this.#gamma + 1)
  }
}
