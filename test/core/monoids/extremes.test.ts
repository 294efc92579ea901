import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { max, min } from '../../../src/core/monoids/extremes.ts'
import { checkLaws, foldAll } from './laws.ts'

const input = fc
  .oneof(fc.double({ noNaN: true }), fc.constantFrom(0, -0, null, 'x', undefined))
  .map((v) => ({ v }))
const minV = min((e: { v: unknown }) => e.v)
const maxV = max((e: { v: unknown }) => e.v)

checkLaws('min', minV, input)
checkLaws('max', maxV, input)

test('min/max: the least and greatest finite number, null when none', () => {
  fc.assert(
    fc.property(fc.array(input), (xs) => {
      const finite = xs
        .map((x) => x.v)
        .filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
      const lo = finite.length === 0 ? null : Math.min(...finite) + 0
      const hi = finite.length === 0 ? null : Math.max(...finite) + 0
      assert.equal(minV.result(foldAll(minV, xs)), lo)
      assert.equal(maxV.result(foldAll(maxV, xs)), hi)
    }),
  )
})
