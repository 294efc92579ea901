// count(): how many inputs reached the aggregate (after the view's filter). Exact, commutative.
// The state is a plain number; exact up to 2^53 events per group.
import type { Json } from '../event.ts'
import { definitionOf, invalidState, type Monoid, withInputReaders } from '../monoid.ts'

export function count(): Monoid<number, unknown, number> {
  return withInputReaders(
    {
      definition: definitionOf('count', 1, {}),
      commutative: true,
      zero: () => 0,
      lift: () => 1,
      combine: (a, b) => a + b,
      add: (state) => state + 1,
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
}
