// The monoid laws every built-in aggregate is held to, as fast-check properties. States are
// compared by their canonical encoding (JSON), which the monoid contract requires to be equal
// for equal states, and by their results. Each law builds fresh states, because combine() may
// reuse its first argument.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import type { Monoid } from '../../../src/core/monoid.ts'

export interface LawOptions {
  numRuns?: number
  /** False for monoids that are only associative up to an error bound in some regime. */
  associative?: boolean
}

export function foldAll<S, In>(m: Monoid<S, In, unknown>, inputs: readonly In[]): S {
  let state = m.zero()
  for (const input of inputs) state = m.add(state, input)
  return state
}

/** Canonical form of a state: its encoding as JSON text, plus its result. */
export function canonical<S>(m: Monoid<S, any, unknown>, state: S): string {
  return JSON.stringify({ state: m.encode(state), result: m.result(state) })
}

export function checkLaws<S, In>(
  name: string,
  monoid: Monoid<S, In, unknown>,
  input: fc.Arbitrary<In>,
  options: LawOptions = {},
): void {
  const params = { numRuns: options.numRuns ?? 60 }
  const m = monoid
  const of = (xs: readonly In[]) => foldAll(m, xs)
  const same = (a: S, b: S) => assert.equal(canonical(m, a), canonical(m, b))
  const inputs = fc.array(input, { maxLength: 40, size: 'max' })

  test(`${name}: zero is an identity on both sides`, () => {
    fc.assert(
      fc.property(inputs, (xs) => {
        same(m.combine(m.zero(), of(xs)), of(xs))
        same(m.combine(of(xs), m.zero()), of(xs))
      }),
      params,
    )
  })

  if (options.associative !== false) {
    test(`${name}: combine is associative`, () => {
      fc.assert(
        fc.property(inputs, inputs, inputs, (a, b, c) => {
          same(m.combine(m.combine(of(a), of(b)), of(c)), m.combine(of(a), m.combine(of(b), of(c))))
        }),
        params,
      )
    })

    test(`${name}: folding any split and combining equals folding the whole`, () => {
      fc.assert(
        fc.property(
          fc.array(input, { maxLength: 80, size: 'max' }),
          fc.array(fc.nat(), { maxLength: 6 }),
          (xs, cuts) => {
            const points = [...new Set(cuts.map((c) => c % (xs.length + 1)))].sort((x, y) => x - y)
            let state = m.zero()
            let from = 0
            for (const to of [...points, xs.length]) {
              state = m.combine(state, of(xs.slice(from, to)))
              from = to
            }
            same(state, of(xs))
          },
        ),
        params,
      )
    })
  }

  if (m.commutative) {
    test(`${name}: combine is commutative`, () => {
      fc.assert(
        fc.property(inputs, inputs, (a, b) => same(m.combine(of(a), of(b)), m.combine(of(b), of(a)))),
        params,
      )
    })
  }

  test(`${name}: add agrees with combine after lift`, () => {
    fc.assert(
      fc.property(inputs, (xs) => {
        let viaLift = m.zero()
        for (const x of xs) viaLift = m.combine(viaLift, m.lift(x))
        same(of(xs), viaLift)
      }),
      params,
    )
  })

  test(`${name}: combine leaves its second argument intact and unshared`, () => {
    fc.assert(
      fc.property(inputs, inputs, inputs, (a, b, more) => {
        const right = of(b)
        const before = canonical(m, right)
        let merged = m.combine(of(a), right)
        for (const x of more) merged = m.add(merged, x)
        merged = m.combine(merged, of(more))
        assert.equal(canonical(m, right), before)
      }),
      params,
    )
  })

  test(`${name}: encode is JSON-safe and decode round-trips`, () => {
    fc.assert(
      fc.property(inputs, (xs) => {
        const state = of(xs)
        const text = JSON.stringify(m.encode(state))
        assert.deepEqual(JSON.parse(text), m.encode(state))
        same(m.decode(JSON.parse(text)), state)
      }),
      params,
    )
  })
}
