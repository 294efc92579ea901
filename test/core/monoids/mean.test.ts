import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { mean } from '../../../src/core/monoids/mean.ts'
import { checkLaws, foldAll } from './laws.ts'

const input = fc
  .oneof(
    fc.integer({ min: -1e6, max: 1e6 }),
    fc.double({ min: -1e6, max: 1e6, noNaN: true }),
    fc.constant(null),
  )
  .map((v) => ({ v }))
const meanV = mean((e: { v: unknown }) => e.v)

checkLaws('mean', meanV, input)

test('mean: null when empty, else exact sum / count', () => {
  assert.equal(meanV.result(meanV.zero()), null)
  assert.equal(meanV.result(foldAll(meanV, [{ v: 1 }, { v: 2 }, { v: null }, { v: 4 }])), 7 / 3)
  // 0.1 + 0.2 + 0.3 rounds to 0.6 exactly once, so the mean is 0.6 / 3 in any order.
  const values = [0.3, 0.1, 0.2].map((v) => ({ v }))
  assert.equal(meanV.result(foldAll(meanV, values)), 0.6 / 3)
})
