import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { distinctCount } from '../../../src/core/monoids/distinct-count.ts'
import { checkLaws, foldAll } from './laws.ts'

const item = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constantFrom('a', 'b', null, undefined))
const input = item.map((u) => ({ u }))

// Small parameters, so that the laws are checked across the exact→registers switch.
const small = distinctCount((e: { u: unknown }) => e.u, { precision: 6, exactLimit: 8 })
checkLaws('distinctCount (p=6, exact up to 8)', small, input)
checkLaws(
  'distinctCount (defaults)',
  distinctCount((e: { u: unknown }) => e.u),
  input,
  { numRuns: 25 },
)

test('distinctCount: exact up to the exact limit', () => {
  const exact = distinctCount((e: { u: unknown }) => e.u)
  fc.assert(
    fc.property(fc.array(input, { maxLength: 200 }), (xs) => {
      const truth = new Set(
        xs
          .map((x) => x.u)
          .filter((u) => u !== null && u !== undefined)
          .map(String),
      )
      assert.equal(exact.result(foldAll(exact, xs)), truth.size)
    }),
  )
})

test('distinctCount: a small state stays small', () => {
  const m = distinctCount((e: { u: unknown }) => e.u)
  const state = foldAll(m, [{ u: 'x' }, { u: 'y' }])
  assert.equal(state.registers, null)
  assert.ok(JSON.stringify(m.encode(state)).length < 100)
})

test('distinctCount: decode refuses a sketch of another precision', () => {
  const p14 = distinctCount((e: { u: unknown }) => e.u)
  const p12 = distinctCount((e: { u: unknown }) => e.u, { precision: 12 })
  const encoded = p14.encode(foldAll(p14, [{ u: 1 }]))
  assert.throws(() => p12.decode(encoded), { code: 'STRATA_ERR_INVALID_STATE', message: /precision=14/ })
})
