import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { sum } from '../../../src/core/monoids/sum.ts'
import { checkLaws, foldAll } from './laws.ts'

// Doubles m·2^e with e >= -100: every one is an integer multiple of 2^-100, so the exact sum is
// a BigInt at scale 2^100, and Number(BigInt) rounds it correctly (half-even): the reference.
const double = fc
  .tuple(fc.integer({ min: -(2 ** 53 - 1), max: 2 ** 53 - 1 }), fc.integer({ min: -100, max: 60 }))
  .map(([m, e]) => m * 2 ** e)
const value = fc.oneof(
  double,
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom(0.1, 0.2, 0.3, 1e16, -1e16, 1, -0),
  fc.constantFrom(null, undefined, 'NaN', '12', Number.NaN, Number.POSITIVE_INFINITY),
)
const input = value.map((v) => ({ v }))
const byV = sum((e: { v: unknown }) => e.v)

function exactSum(values: unknown[]): number {
  let total = 0n
  for (const v of values) {
    if (typeof v === 'number' && Number.isFinite(v)) total += BigInt(v * 2 ** 100)
  }
  return Number(total) / 2 ** 100
}

checkLaws('sum', byV, input)

test('sum: the result is the exact sum rounded once, skipping non-numbers', () => {
  fc.assert(
    fc.property(fc.array(input, { maxLength: 60 }), (xs) => {
      assert.equal(byV.result(foldAll(byV, xs)), exactSum(xs.map((x) => x.v)))
    }),
    { numRuns: 300 },
  )
})

test('sum: 0.1 + 0.2 + 0.3 is the same in every order (plain += is not)', () => {
  const orders = [
    [0.1, 0.2, 0.3],
    [0.3, 0.2, 0.1],
    [0.2, 0.3, 0.1],
  ]
  const results = orders.map((vs) =>
    byV.result(
      foldAll(
        byV,
        vs.map((v) => ({ v })),
      ),
    ),
  )
  assert.deepEqual(new Set(results), new Set([0.6]))
  assert.notEqual(0.1 + 0.2 + 0.3, 0.3 + 0.2 + 0.1)
})

test('sum: integer sums stay plain numbers in state and encoding', () => {
  const state = foldAll(byV, [{ v: 5 }, { v: 7 }, { v: -2 }])
  assert.equal(state, 10)
  assert.equal(byV.encode(state), 10)
})

test('sum: half-even rounding across partials (fsum([1e-16, 1, 1e16]))', () => {
  assert.equal(byV.result(foldAll(byV, [{ v: 1e-16 }, { v: 1 }, { v: 1e16 }])), 10000000000000002)
})
