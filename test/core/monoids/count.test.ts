import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { count } from '../../../src/core/monoids/count.ts'
import { checkLaws, foldAll } from './laws.ts'

checkLaws('count', count(), fc.anything())

test('count: counts every input, whatever it is', () => {
  fc.assert(
    fc.property(fc.array(fc.anything()), (xs) =>
      assert.equal(count().result(foldAll(count(), xs)), xs.length),
    ),
  )
})

test('count: decode rejects what is not a count', () => {
  for (const bad of [-1, 1.5, '3', null, { n: 1 }]) {
    assert.throws(() => count().decode(bad as never), { code: 'STRATA_ERR_INVALID_STATE' })
  }
})
