// count(): how many inputs reached the aggregate (after the view's filter). Exact, commutative.
// The state is a plain number; exact up to 2^53 events per group.
import type { Json } from '../event.ts'
import { definitionOf, invalidState, type Monoid, withInputReaders, withNumericKernel } from '../monoid.ts'

export function count(): Monoid<number, unknown, number> {
  const add = (state: number) => state + 1
  const monoid = withInputReaders<Monoid<number, unknown, number>>(
    {
      definition: definitionOf('count', 1, {}),
      commutative: true,
      zero: () => 0,
      lift: () => 1,
      combine: (a, b) => a + b,
      add,
      result: (state) => state,
      encode: (state) => state,
      decode(encoded: Json) {
        if (!Number.isSafeInteger(encoded) || (encoded as number) < 0) {
          throw invalidState('count', `expected a non-negative integer, got ${JSON.stringify(encoded)}`)
        }
        return encoded as number
      },
    },
    [],
  )
  return withNumericKernel(monoid, { zero: 0, add, state: (held) => held, associative: true })
}
