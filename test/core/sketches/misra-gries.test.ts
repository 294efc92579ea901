import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { FrequentItems, type FrequentItemsState } from '../../../src/core/sketches/misra-gries.ts'

// Skewed items: a few heavy hitters and a long tail, so summaries really summarize.
const tail = fc.integer({ min: 0, max: 500 }).map((n) => `tail${n}`)
const item = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 4 }).map((n) => `hot${n}`) },
  { weight: 2, arbitrary: tail },
)

/**
 * Parts of a stream; half the time one of them holds more distinct items than `capacity`, so that
 * run is surely summarized (error > 0): the check that the summarized regime was exercised does
 * not rest on how many distinct tail items the other draws happen to hold.
 */
const partsFor = (capacity: number) =>
  fc.oneof(
    fc.array(fc.array(item, { maxLength: 150 }), { minLength: 1, maxLength: 6 }),
    fc
      .tuple(
        fc.array(fc.array(item, { maxLength: 150 }), { maxLength: 5 }),
        fc.uniqueArray(tail, { minLength: capacity + 1, maxLength: 150 }),
        fc.nat(),
      )
      .map(([parts, crowded, at]) => parts.toSpliced(at % (parts.length + 1), 0, crowded)),
  )

/** Folds the parts separately and merges them in a random tree shape. */
function foldTree(summary: FrequentItems, parts: string[][], order: number[]): FrequentItemsState {
  const states = parts.map((part) => part.reduce((s, x) => summary.add(s, x), summary.create()))
  while (states.length > 1) {
    const i = order[states.length % order.length] % (states.length - 1)
    const merged = summary.merge(states[i], states[i + 1])
    states.splice(i, 2, merged)
  }
  return states[0]
}

test('misra-gries: counts are low by at most `error`, and error <= N / (keep + 1), across any merges', () => {
  let summarized = 0
  for (const capacity of [4, 10, 40]) {
    const summary = new FrequentItems(capacity)
    fc.assert(
      fc.property(partsFor(capacity), fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), (parts, order) => {
        const state = foldTree(summary, parts, order)
        const truth = new Map<string, number>()
        for (const x of parts.flat()) truth.set(x, (truth.get(x) ?? 0) + 1)
        const n = parts.flat().length
        if (state.error > 0) summarized++
        assert.equal(state.total, n)
        assert.ok(state.counts.size <= capacity)
        assert.ok(state.error <= n / (summary.keep + 1), `error ${state.error} > ${n}/${summary.keep + 1}`)
        for (const [x, t] of truth) {
          const c = state.counts.get(x) ?? 0
          assert.ok(c <= t && t <= c + state.error, `${x}: reported ${c}, true ${t}, error ${state.error}`)
        }
        // Every item more frequent than the bound is present.
        for (const [x, t] of truth) if (t > n / (summary.keep + 1)) assert.ok(state.counts.has(x))
      }),
      { numRuns: 100 },
    )
  }
  // The property must have been exercised in the summarized regime, not only the exact one.
  assert.ok(summarized > 100, `only ${summarized} runs were summarized`)
})

test('misra-gries: exact (error 0) as long as the distinct items fit', () => {
  const summary = new FrequentItems(5)
  const state = ['a', 'b', 'a', 'c', 'd', 'e', 'a'].reduce((s, x) => summary.add(s, x), summary.create())
  assert.equal(state.error, 0)
  assert.deepEqual(summary.top(state, 2), [
    { item: 'a', count: 3 },
    { item: 'b', count: 1 },
  ])
  summary.add(state, 'f')
  assert.ok(state.error > 0)
})
