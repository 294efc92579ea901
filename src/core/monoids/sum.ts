// sum(fn): the exact sum of fn(input) over the inputs where it is a finite number (others are
// skipped). Exact and commutative even for fractional values: see exact-sum.ts. The result is the
// exact sum rounded once to the nearest double, whatever the order or grouping of the inputs.
import type { Json } from '../event.ts'
import {
  checkFunction,
  definitionOf,
  invalidState,
  isNumeric,
  type Monoid,
  withInputReaders,
  withNumericKernel,
} from '../monoid.ts'
import { addToSum, canonicalTerms, combineSums, type SumState, sumOfTerms, sumValue } from './exact-sum.ts'

/** A sum state as JSON: a number when exact as one double, else { type: 'sum', terms }. */
export function encodeSum(state: SumState): Json {
  if (typeof state === 'number') return Number.isFinite(state) ? state : String(state)
  const terms = canonicalTerms(state)
  if (terms.length <= 1) return terms.length === 0 ? 0 : terms[0]
  return { type: 'sum', version: 1, terms }
}

export function decodeSum(encoded: Json, monoid = 'sum'): SumState {
  if (typeof encoded === 'number' && Number.isFinite(encoded)) return encoded
  if (encoded === 'Infinity' || encoded === '-Infinity' || encoded === 'NaN') return Number(encoded)
  if (
    encoded !== null &&
    typeof encoded === 'object' &&
    !Array.isArray(encoded) &&
    encoded.type === 'sum' &&
    encoded.version === 1 &&
    Array.isArray(encoded.terms) &&
    encoded.terms.every(isNumeric)
  ) {
    return sumOfTerms(encoded.terms as number[])
  }
  throw invalidState(monoid, `expected a number or { type: 'sum', terms }, got ${JSON.stringify(encoded)}`)
}

export function sum<In = any>(fn: (input: In) => unknown): Monoid<SumState, In, number> {
  checkFunction(fn, 'sum(fn)')
  const add = (state: SumState, input: In): SumState => {
    const v = fn(input)
    return isNumeric(v) ? addToSum(state, v) : state
  }
  const monoid = withInputReaders<Monoid<SumState, In, number>>(
    {
      definition: definitionOf('sum', 1, {}, [fn]),
      commutative: true,
      zero: () => 0,
      lift: (input) => add(0, input),
      combine: combineSums,
      add,
      result: sumValue,
      encode: encodeSum,
      decode: (encoded) => decodeSum(encoded),
    },
    [fn],
  )
  // A sum held as a double is a SumState already; add() returns an ExactSum once it is inexact.
  return withNumericKernel<SumState, In, typeof monoid>(monoid, {
    zero: 0,
    add,
    state: (held) => held,
    associative: false,
  })
}
