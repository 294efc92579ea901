import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { topK } from '../../../src/core/monoids/top-k.ts'
import { checkLaws, foldAll } from './laws.ts'

const input = fc
  .oneof(
    fc.integer({ min: 0, max: 30 }).map((n) => `/p${n}`),
    fc.constant(null),
  )
  .map((url) => ({ url }))
const top3 = topK(3, (e: { url: unknown }) => e.url)

// Within capacity (10 000 distinct items by default) a state is exact and every law holds.
checkLaws('topK (exact regime)', top3, input)

// Past capacity it is a Misra–Gries summary: commutative, add = combine∘lift, but only
// associative within the error bound (checked in test/core/sketches/misra-gries.test.ts).
const tiny = topK(3, (e: { url: unknown }) => e.url, { capacity: 6 })
checkLaws('topK (summarized regime, capacity 6)', tiny, input, { associative: false })

function referenceTop(urls: unknown[], k: number): Array<{ item: string; count: number }> {
  const counts = new Map<string, number>()
  for (const u of urls) if (u !== null) counts.set(String(u), (counts.get(String(u)) ?? 0) + 1)
  return [...counts]
    .map(([item, count]) => ({ item, count }))
    .sort((a, b) => b.count - a.count || (a.item < b.item ? -1 : 1))
    .slice(0, k)
}

test('topK: exact answer (counts and tie order) within capacity', () => {
  fc.assert(
    fc.property(fc.array(input, { maxLength: 300 }), (xs) => {
      const result = top3.result(foldAll(top3, xs))
      assert.deepEqual(
        result.items,
        referenceTop(
          xs.map((x) => x.url),
          3,
        ),
      )
      assert.equal(result.exact, true)
      assert.equal(result.maxError, 0)
      assert.equal(result.total, xs.filter((x) => x.url !== null).length)
    }),
  )
})

test('topK: without fn, counts the input itself (after a map step)', () => {
  const m = topK(2)
  const state = foldAll(m, ['a', 'b', 'a', 'c', 'a', 'b'])
  assert.deepEqual(m.result(state).items, [
    { item: 'a', count: 3 },
    { item: 'b', count: 2 },
  ])
})

test('topK: parameters are validated', () => {
  assert.throws(() => topK(0), { code: 'STRATA_ERR_INVALID_VIEW' })
  assert.throws(() => topK(5, (e) => e, { capacity: 3 }), { code: 'STRATA_ERR_INVALID_VIEW' })
})
