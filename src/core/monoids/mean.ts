// mean(fn): the arithmetic mean of the finite numbers fn(input) returns; null when there are
// none. The state is an exact sum and a count (see exact-sum.ts), so the mean is the exact sum,
// rounded once, divided by the count: the same whatever the order or grouping of the inputs.
import type { Json } from '../event.ts'
import {
  checkEnvelope,
  checkFunction,
  definitionOf,
  invalidState,
  isNumeric,
  type Monoid,
  withInputReaders,
} from '../monoid.ts'
import { addToSum, combineSums, type SumState, sumValue } from './exact-sum.ts'
import { decodeSum, encodeSum } from './sum.ts'

export interface MeanState {
  sum: SumState
  count: number
}

export function mean<In = any>(fn: (input: In) => unknown): Monoid<MeanState, In, number | null> {
  checkFunction(fn, 'mean(fn)')
  const add = (state: MeanState, input: In): MeanState => {
    const v = fn(input)
    if (isNumeric(v)) {
      state.sum = addToSum(state.sum, v)
      state.count++
    }
    return state
  }
  return withInputReaders(
    {
      definition: definitionOf('mean', 1, {}, [fn]),
      commutative: true,
      zero: () => ({ sum: 0, count: 0 }),
      lift: (input) => add({ sum: 0, count: 0 }, input),
      combine(a, b) {
        a.sum = combineSums(a.sum, b.sum)
        a.count += b.count
        return a
      },
      add,
      result: (state) => (state.count === 0 ? null : sumValue(state.sum) / state.count),
      encode: (state) => ({ type: 'mean', version: 1, sum: encodeSum(state.sum), count: state.count }),
      decode(encoded: Json) {
        const e = checkEnvelope(encoded, 'mean', 1, {})
        if (!Number.isSafeInteger(e.count) || (e.count as number) < 0) {
          throw invalidState('mean', `count must be a non-negative integer, got ${JSON.stringify(e.count)}`)
        }
        return { sum: decodeSum(e.sum, 'mean'), count: e.count as number }
      },
    },
    [fn],
  )
}
