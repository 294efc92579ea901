// quantiles(fn, options): quantiles of the finite numbers fn(input) returns, from a DDSketch:
// every reported quantile is within relative error α (default 1%) of the true value of that rank,
// and count, min and max are exact. Exactly associative and commutative. See
// sketches/ddsketch.ts for the definition of the rank and the bound.

import { ErrorCodes, StrataError } from '../errors.ts'
import type { Json } from '../event.ts'
import {
  checkEnvelope,
  checkFunction,
  checkInteger,
  definitionOf,
  invalidState,
  isNumeric,
  type Monoid,
  withInputReaders,
} from '../monoid.ts'
import { decodeBuckets, encodeBuckets } from '../sketches/bucket-store.ts'
import { DDSketch, type QuantileState } from '../sketches/ddsketch.ts'

export interface QuantilesOptions {
  /** Relative accuracy, 0 < alpha < 1. Default 0.01. */
  alpha?: number
  /** Buckets kept per sign before the smallest magnitudes collapse. Default 2048. */
  maxBuckets?: number
  /** Quantiles the result reports, each 0..1. Default [0.5, 0.95, 0.99] (p50, p95, p99). */
  quantiles?: number[]
}

/** { count, min, max, p50, p95, p99 } (one pNN per requested quantile; null when empty). */
export type QuantilesResult = { count: number; min: number | null; max: number | null } & {
  [quantile: string]: number | null
}

/** 0.5 → 'p50', 0.999 → 'p99.9'. */
export function quantileName(q: number): string {
  return `p${Number((q * 100).toPrecision(10))}`
}

function invalid(message: string): StrataError {
  return new StrataError(ErrorCodes.INVALID_VIEW, message)
}

export function quantiles<In = any>(
  fn: (input: In) => unknown,
  options: QuantilesOptions = {},
): Monoid<QuantileState, In, QuantilesResult> & { quantile(state: QuantileState, q: number): number | null } {
  checkFunction(fn, 'quantiles(fn)')
  const alpha = options.alpha ?? 0.01
  if (typeof alpha !== 'number' || !(alpha > 0 && alpha < 1)) {
    throw invalid(`quantiles alpha must be a number between 0 and 1 (exclusive), got ${alpha}`)
  }
  const maxBuckets = checkInteger(options.maxBuckets ?? 2048, 'quantiles maxBuckets', 2, 1 << 16)
  const qs = options.quantiles ?? [0.5, 0.95, 0.99]
  if (!Array.isArray(qs) || qs.some((q) => typeof q !== 'number' || !(q >= 0 && q <= 1))) {
    throw invalid(`quantiles must be numbers from 0 to 1, got ${JSON.stringify(qs)}`)
  }
  const sketch = new DDSketch(alpha, maxBuckets)
  const add = (state: QuantileState, input: In): QuantileState => {
    const v = fn(input)
    return isNumeric(v) ? sketch.add(state, v) : state
  }
  return withInputReaders(
    {
      definition: definitionOf('quantiles', 1, { alpha, maxBuckets, quantiles: [...qs] }, [fn]),
      commutative: true,
      zero: () => sketch.create(),
      lift: (input) => add(sketch.create(), input),
      combine: (a, b) => sketch.merge(a, b),
      add,
      quantile: (state, q) => sketch.quantile(state, q),
      result(state) {
        const empty = state.count === 0
        const out: QuantilesResult = {
          count: state.count,
          min: empty ? null : state.min,
          max: empty ? null : state.max,
        }
        for (const q of qs) out[quantileName(q)] = sketch.quantile(state, q)
        return out
      },
      encode(state): Json {
        const empty = state.count === 0
        return {
          type: 'ddsketch',
          version: 1,
          alpha,
          maxBuckets,
          count: state.count,
          zeros: state.zeros,
          min: empty ? null : state.min,
          max: empty ? null : state.max,
          positive: encodeBuckets(state.positive),
          negative: encodeBuckets(state.negative),
        }
      },
      decode(encoded: Json): QuantileState {
        const e = checkEnvelope(encoded, 'ddsketch', 1, { alpha, maxBuckets })
        const positive = decodeBuckets(e.positive, maxBuckets)
        const negative = decodeBuckets(e.negative, maxBuckets)
        const count = e.count as number
        const zeros = e.zeros as number
        const total = (b: typeof positive) => b?.counts.reduce((s, c) => s + c, 0) ?? 0
        const empty = count === 0
        const ok =
          positive !== undefined &&
          negative !== undefined &&
          Number.isSafeInteger(count) &&
          Number.isSafeInteger(zeros) &&
          zeros >= 0 &&
          count === zeros + total(positive) + total(negative) &&
          (empty ? e.min === null && e.max === null : isNumeric(e.min) && isNumeric(e.max))
        if (!ok) throw invalidState('ddsketch', 'buckets, count, min and max do not agree')
        return {
          positive: positive as NonNullable<typeof positive>,
          negative: negative as NonNullable<typeof negative>,
          zeros,
          count,
          min: empty ? Number.POSITIVE_INFINITY : (e.min as number),
          max: empty ? Number.NEGATIVE_INFINITY : (e.max as number),
        }
      },
    },
    [fn],
  )
}
