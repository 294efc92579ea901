// Several fold threads' answers are combined as they crossed (combine-answers.ts), by key numbers,
// where they were first cut into per-entry arrays and combined in a map of maps of strings. Both
// must give the same entries (key, window, encoded state) in the same order, for every monoid and
// windowing, whatever the answers hold: keys shared or not, windows shared or not, states that are
// numbers, objects, nulls, -0.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { combineAnswers } from '../../src/batch/combine-answers.ts'
import { packEntries } from '../../src/batch/worker.ts'
import { unpackEntries } from '../../src/batch/worker-pool.ts'
import { compileView } from '../../src/core/compiled-view.ts'
import type { StrataEvent } from '../../src/core/event.ts'
import { type Monoid, numericKernelOf } from '../../src/core/monoid.ts'
import { count } from '../../src/core/monoids/count.ts'
import { distinctCount } from '../../src/core/monoids/distinct-count.ts'
import { max, min } from '../../src/core/monoids/extremes.ts'
import { mean } from '../../src/core/monoids/mean.ts'
import { sum } from '../../src/core/monoids/sum.ts'
import { topK } from '../../src/core/monoids/top-k.ts'
import { NumericTable } from '../../src/core/numeric-table.ts'
import { view } from '../../src/core/view.ts'
import { hopping, tumbling, type Window } from '../../src/core/window.ts'

const HOUR = 3_600_000
const monoids: Array<[string, () => Monoid<any, any, any>]> = [
  ['count', () => count()],
  ['sum', () => sum((e: any) => e.n)],
  ['min', () => min((e: any) => e.n)],
  ['max', () => max((e: any) => e.n)],
  ['mean', () => mean((e: any) => (typeof e.n === 'number' && Number.isFinite(e.n) ? e.n : 0))],
  ['distinctCount', () => distinctCount((e: any) => String(e.n))],
  ['topK', () => topK(2, (e: any) => String(e.n))],
]
const windows: Array<[string, Window | null]> = [
  ['global', null],
  ['tumbling', tumbling('1h')],
  ['hopping', hopping({ size: '3h', advance: '1h' })],
]
const value = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.double({ noNaN: true }),
  fc.constantFrom(0.1, 1e308, -1e308, -0, 2 ** 53, 1e-300),
  fc.constantFrom(undefined, null, '3', Number.NaN),
)
const event = fc.record({
  url: fc.constantFrom('/a', '/b', '/c', '/d', '', 'é/ü'),
  n: value,
  ts: fc.integer({ min: 0, max: 6 * HOUR }),
})

/** The combine before, on per-entry arrays: a map of window → map of key → state. */
function combinedBefore(monoid: Monoid<any, any, any>, parts: ReturnType<typeof unpackEntries>[]) {
  const groups = new Map<number, Map<string, unknown>>()
  for (const part of parts) {
    for (let i = 0; i < part.keys.length; i++) {
      let byKey = groups.get(part.windows[i]!)
      if (!byKey) {
        byKey = new Map()
        groups.set(part.windows[i]!, byKey)
      }
      const state = monoid.decode(part.states[i] as never)
      const before = byKey.get(part.keys[i]!)
      byKey.set(part.keys[i]!, before === undefined ? state : monoid.combine(before, state))
    }
  }
  const out: Array<[string, number, unknown]> = []
  for (const [window, byKey] of groups)
    for (const [key, state] of byKey) out.push([key, window, monoid.encode(state)])
  return out
}

test('answers combined by key numbers give the entries the map of maps gave, in its order', () => {
  for (const [name, monoid] of monoids) {
    for (const [kind, window] of windows) {
      const base = view<any>(`${name}_${kind}`).key((e) => e.url)
      const compiled = compileView((window === null ? base : base.window(window)).aggregate(monoid()), 'ts')
      const m = compiled.monoid
      const kernel = numericKernelOf(m)
      fc.assert(
        fc.property(
          fc.array(fc.array(event, { maxLength: 40 }), { minLength: 2, maxLength: 4 }),
          fc.constantFrom(0, 2 * HOUR, 7 * HOUR),
          (threads, shift) => {
            const answers = threads.map((events, t) => {
              const table = kernel === undefined ? compiled.createTable() : new NumericTable(m, kernel)
              for (const e of events)
                compiled.fold(table, { ...e, ts: e.ts + t * shift } as unknown as StrataEvent)
              return packEntries(table as never, (s) => m.encode(s))
            })
            const expected = combinedBefore(
              m,
              answers.map((a) => unpackEntries(a)),
            )
            const { keys, keyIndex, windows: starts, states } = combineAnswers(m, answers)
            assert.equal(new Set(keys).size, keys.length, 'each key once')
            const got = Array.from(keyIndex, (k, i) => [keys[k], starts[i], states[i]])
            assert.deepEqual(got, expected)
          },
        ),
        { numRuns: 40 },
      )
    }
  }
})

test('a damaged answer is refused with a code, not combined', () => {
  const m = count()
  const good = () => ({
    keyText: 'ab',
    keyLengths: Uint32Array.of(1, 1),
    keyIndex: Uint32Array.of(0, 1),
    windows: Float64Array.of(0, 0),
    states: Float64Array.of(1, 2),
  })
  assert.deepEqual(Array.from(combineAnswers(m as never, [good(), good()]).states), [2, 4])
  for (const [what, damage] of [
    ['a key number past the keys', (p: ReturnType<typeof good>) => (p.keyIndex[1] = 2)],
    ['key lengths past the text', (p: ReturnType<typeof good>) => (p.keyLengths[1] = 3)],
    ['a window short', (p: ReturnType<typeof good>) => (p.windows = Float64Array.of(0))],
  ] as const) {
    const damaged = good()
    damage(damaged)
    assert.throws(
      () => combineAnswers(m as never, [good(), damaged]),
      { code: 'STRATA_ERR_INVALID_STATE' },
      what,
    )
  }
})

test('an empty answer adds nothing: beside another, the other as it is; alone, no entry', () => {
  const m = sum((e: any) => e.n)
  const empty = () => ({
    keyText: '',
    keyLengths: new Uint32Array(0),
    keyIndex: new Uint32Array(0),
    windows: new Float64Array(0),
    states: new Float64Array(0),
  })
  const one = {
    keyText: 'ab',
    keyLengths: Uint32Array.of(1, 1),
    keyIndex: Uint32Array.of(1, 0, 1),
    windows: Float64Array.of(0, 0, HOUR),
    states: Float64Array.of(0.1, -0, 2),
  }
  const entries = (c: ReturnType<typeof combineAnswers>) =>
    Array.from(c.keyIndex, (k, i) => [c.keys[k], c.windows[i], c.states[i]])
  const expected = [
    ['b', 0, 0.1],
    ['a', 0, -0],
    ['b', HOUR, 2],
  ]
  for (const answers of [
    [empty(), one],
    [one, empty()],
    [empty(), one, empty()],
  ]) {
    assert.deepEqual(entries(combineAnswers(m as never, answers)), expected)
  }
  const none = combineAnswers(m as never, [empty(), empty()])
  assert.deepEqual([none.keys, none.keyIndex.length, none.windows.length, none.states.length], [[], 0, 0, 0])
})
