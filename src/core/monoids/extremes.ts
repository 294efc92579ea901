// min(fn) and max(fn): the least and greatest finite number fn(input) returns; null when no input
// had one. Exact, commutative and idempotent. -0 is read as 0 so that min(0, -0) cannot depend
// on the order of the inputs.
import type { Json } from '../event.ts'
import {
  checkFunction,
  definitionOf,
  invalidState,
  isNumeric,
  type Monoid,
  withInputReaders,
} from '../monoid.ts'

function decodeExtreme(name: string) {
  return (encoded: Json): number | null => {
    if (encoded === null || isNumeric(encoded)) return encoded
    throw invalidState(name, `expected a number or null, got ${JSON.stringify(encoded)}`)
  }
}

export function min<In = any>(fn: (input: In) => unknown): Monoid<number | null, In, number | null> {
  checkFunction(fn, 'min(fn)')
  const add = (state: number | null, input: In): number | null => {
    const v = fn(input)
    if (!isNumeric(v)) return state
    return state === null || v < state ? v + 0 : state
  }
  return withInputReaders(
    {
      definition: definitionOf('min', 1, {}, [fn]),
      commutative: true,
      zero: () => null,
      lift: (input) => add(null, input),
      combine: (a, b) => (a === null ? b : b === null || a <= b ? a : b),
      add,
      result: (state) => state,
      encode: (state) => state,
      decode: decodeExtreme('min'),
    },
    [fn],
  )
}

export function max<In = any>(fn: (input: In) => unknown): Monoid<number | null, In, number | null> {
  checkFunction(fn, 'max(fn)')
  const add = (state: number | null, input: In): number | null => {
    const v = fn(input)
    if (!isNumeric(v)) return state
    return state === null || v > state ? v + 0 : state
  }
  return withInputReaders(
    {
      definition: definitionOf('max', 1, {}, [fn]),
      commutative: true,
      zero: () => null,
      lift: (input) => add(null, input),
      combine: (a, b) => (a === null ? b : b === null || a >= b ? a : b),
      add,
      result: (state) => state,
      encode: (state) => state,
      decode: decodeExtreme('max'),
    },
    [fn],
  )
}
