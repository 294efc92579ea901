// min(fn) and max(fn): the least and greatest finite number fn(input) returns; null when no input
// had one. Exact, commutative and idempotent. -0 is read as 0 so that min(0, -0) cannot depend
// on the order of the inputs.
//
// The rule is written once, on a state held as a double with NaN for "no value yet" (no input's
// value is NaN: isNumeric), which is also the numeric kernel the batch fold uses (monoid.ts);
// add() is that rule with null for NaN.
import type { Json } from '../event.ts'
import {
  checkFunction,
  definitionOf,
  invalidState,
  isNumeric,
  type Monoid,
  type NumericKernel,
  withInputReaders,
  withNumericKernel,
} from '../monoid.ts'

function decodeExtreme(name: string) {
  return (encoded: Json): number | null => {
    if (encoded === null || isNumeric(encoded)) return encoded
    throw invalidState(name, `expected a number or null, got ${JSON.stringify(encoded)}`)
  }
}

const stateOf = (held: number): number | null => (Number.isNaN(held) ? null : held)

function extreme<In>(
  name: 'min' | 'max',
  fn: (input: In) => unknown,
): Monoid<number | null, In, number | null> {
  checkFunction(fn, `${name}(fn)`)
  const kernelAdd =
    name === 'min'
      ? (held: number, input: In): number => {
          const v = fn(input)
          if (!isNumeric(v)) return held
          return Number.isNaN(held) || v < held ? v + 0 : held
        }
      : (held: number, input: In): number => {
          const v = fn(input)
          if (!isNumeric(v)) return held
          return Number.isNaN(held) || v > held ? v + 0 : held
        }
  const add = (state: number | null, input: In): number | null =>
    stateOf(kernelAdd(state === null ? Number.NaN : state, input))
  const kernel: NumericKernel<number | null, In> = {
    zero: Number.NaN,
    add: kernelAdd,
    state: stateOf,
    associative: true,
  }
  const monoid = withInputReaders<Monoid<number | null, In, number | null>>(
    {
      definition: definitionOf(name, 1, {}, [fn]),
      commutative: true,
      zero: () => null,
      lift: (input) => add(null, input),
      combine:
        name === 'min'
          ? (a, b) => (a === null ? b : b === null || a <= b ? a : b)
          : (a, b) => (a === null ? b : b === null || a >= b ? a : b),
      add,
      result: (state) => state,
      encode: (state) => state,
      decode: decodeExtreme(name),
    },
    [fn],
  )
  return withNumericKernel(monoid, kernel)
}

export function min<In = any>(fn: (input: In) => unknown): Monoid<number | null, In, number | null> {
  return extreme('min', fn)
}

export function max<In = any>(fn: (input: In) => unknown): Monoid<number | null, In, number | null> {
  return extreme('max', fn)
}
