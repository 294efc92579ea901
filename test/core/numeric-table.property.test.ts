// The batch fold keeps the states of count, sum, min and max in typed arrays (NumericTable), and
// may find a group by its key's dictionary id instead of the key: it must end with exactly the
// states the generic fold (ViewTable, the monoid's add on each state) ends with, for every
// numeric monoid and every windowing, whatever the keys, ids, values and their order.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { compileView } from '../../src/core/compiled-view.ts'
import type { StrataEvent } from '../../src/core/event.ts'
import { type Monoid, numericKernelOf } from '../../src/core/monoid.ts'
import { count } from '../../src/core/monoids/count.ts'
import type { SumState } from '../../src/core/monoids/exact-sum.ts'
import { max, min } from '../../src/core/monoids/extremes.ts'
import { mean } from '../../src/core/monoids/mean.ts'
import { sum } from '../../src/core/monoids/sum.ts'
import { NumericTable } from '../../src/core/numeric-table.ts'
import { view } from '../../src/core/view.ts'
import type { ViewTable } from '../../src/core/view-table.ts'
import { hopping, tumbling, type Window } from '../../src/core/window.ts'

const HOUR = 3_600_000
const monoids: Array<[string, () => Monoid<any, any, any>]> = [
  ['count', () => count()],
  ['sum', () => sum((e: any) => e.n)],
  ['min', () => min((e: any) => e.n)],
  ['max', () => max((e: any) => e.n)],
]
const windows: Array<[string, Window | null]> = [
  ['global', null],
  ['tumbling', tumbling('1h')],
  ['hopping', hopping({ size: '3h', advance: '1h' })],
]

// Values that keep a sum exact, make it inexact (an ExactSum: the state leaves the array), or
// overflow it; -0, and values every numeric aggregate skips.
const value = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.double({ noNaN: true }),
  fc.constantFrom(0.1, 1e308, -1e308, -0, 2 ** 53, 1e-300),
  fc.constantFrom(undefined, null, '3', Number.NaN, Number.POSITIVE_INFINITY),
)
const KEYS = ['/a', '/b', '/c', '/d', '', '/é']
const event = fc.record({
  // A key that is a string, or not (then the event has no id: the fold passes -1).
  url: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...KEYS) },
    { weight: 1, arbitrary: fc.constantFrom(undefined, 7, null) },
  ),
  type: fc.constantFrom('page_view', 'click'),
  n: value,
  // Time mostly ascending, as in a segment, by steps from the previous event's; some events late.
  step: fc.oneof(
    { weight: 12, arbitrary: fc.integer({ min: 0, max: HOUR / 10 }) },
    { weight: 1, arbitrary: fc.integer({ min: -3 * HOUR, max: 0 }) },
  ),
  // A new segment starts before this event: a new dictionary, with other ids for the same keys.
  newSegment: fc.integer({ min: 0, max: 39 }).map((n) => n === 0),
})

const encoded = (m: Monoid<any, any, any>, table: ViewTable<unknown>) =>
  [...table.entries()].map(([key, start, state]) => JSON.stringify([start, key, m.encode(state)]))

test('a NumericTable folds exactly as a ViewTable, with and without key ids, for every numeric monoid and windowing', () => {
  for (const [name, monoid] of monoids) {
    for (const [kind, window] of windows) {
      const base = view<any>(`${name}_${kind}`)
        .filter((e) => e.type === 'page_view')
        .key((e) => e.url)
      const compiled = compileView((window === null ? base : base.window(window)).aggregate(monoid()), 'ts')
      assert.equal(compiled.keyField, 'url')
      const kernel = numericKernelOf(compiled.monoid)
      assert.ok(kernel, `${name} has a numeric kernel`)
      fc.assert(
        fc.property(
          fc.array(event, { maxLength: 400 }),
          fc.integer({ min: 0, max: 1000 }),
          (events, seed) => {
            const generic = compiled.createTable()
            const byKey = new NumericTable(compiled.monoid, kernel)
            const byId = new NumericTable(compiled.monoid, kernel)
            // Each segment's dictionary: the keys in another order, ids from 0.
            let ids = new Map<string, number>()
            let shuffle = seed
            const newDictionary = () => {
              shuffle = (shuffle * 7919 + 13) % 1009
              const order = KEYS.map((k, i) => [k, (i * 31 + shuffle) % 97] as const).sort(
                (a, b) => a[1] - b[1],
              )
              ids = new Map(order.map(([k], i) => [k, i]))
              byId.newKeyIds(KEYS.length)
            }
            newDictionary()
            let ts = 0
            for (const { newSegment, step, ...fields } of events) {
              if (newSegment) newDictionary()
              ts = Math.max(0, ts + step)
              // An absent url is a missing field, as in an event without one.
              const e = { ...fields, ts } as unknown as StrataEvent
              const keyId = typeof e.url === 'string' ? (ids.get(e.url) as number) : -1
              const n = compiled.fold(generic, e)
              assert.equal(compiled.fold(byKey, e), n)
              assert.equal(compiled.fold(byId, e, keyId), n)
            }
            const expected = encoded(compiled.monoid, generic)
            assert.deepEqual(encoded(compiled.monoid, byKey.toViewTable()), expected)
            assert.deepEqual(encoded(compiled.monoid, byId.toViewTable()), expected)
            // The states themselves, not only their encodings: min/max hold null, sums ExactSums.
            assert.deepEqual([...byId.toViewTable().entries()], [...generic.entries()])
          },
        ),
        { numRuns: 80 },
      )
    }
  }
})

test('only the built-in numeric monoids have a numeric kernel, and not once add() is replaced', () => {
  for (const [, monoid] of monoids) assert.notEqual(numericKernelOf(monoid()), undefined)
  assert.equal(numericKernelOf(mean((e: any) => e.n)), undefined)
  const copy = { ...count() }
  assert.equal(numericKernelOf(copy), undefined)
  const replaced = sum((e: any) => e.n)
  ;(replaced as { add: unknown }).add = (s: number) => s
  assert.equal(numericKernelOf(replaced), undefined)
})

test('a key id is ignored unless the key is a plain field of the event', () => {
  const byLength = compileView(
    view<any>('by_length')
      .key((e) => `${e.url}!`)
      .aggregate(count()),
  )
  assert.equal(byLength.keyField, null)
  const table = new NumericTable(byLength.monoid, numericKernelOf(byLength.monoid)!)
  table.newKeyIds(2)
  // Both events claim id 0: a table trusting it would put them in one group.
  byLength.fold(table, { url: '/a' }, 0)
  byLength.fold(table, { url: '/b' }, 0)
  assert.deepEqual(
    [...table.toViewTable().entries()],
    [
      ['/a!', 0, 1],
      ['/b!', 0, 1],
    ],
  )
})

test('a sum that becomes inexact leaves the array, also for a group found by its key id', () => {
  const compiled = compileView(
    view<any>('s')
      .key((e) => e.url)
      .aggregate(sum((e: any) => e.n)),
  )
  const generic = compiled.createTable()
  const byId = new NumericTable(compiled.monoid, numericKernelOf(compiled.monoid)!)
  byId.newKeyIds(1)
  // 0.1 + 0.2 is inexact: the state becomes an ExactSum at the second event, and the third and
  // fourth must add to that, not to the double the array held before.
  for (const n of [0.1, 0.2, 0.3, 0.4]) {
    compiled.fold(generic, { url: '/a', n })
    compiled.fold(byId, { url: '/a', n }, 0)
  }
  const [[, , state]] = [...byId.toViewTable().entries()] as [[string, number, SumState]]
  assert.deepEqual(compiled.monoid.encode(state), compiled.monoid.encode(generic.get('/a', 0) as SumState))
  assert.equal(compiled.result(state), 1)
})

test('an add() that throws on a key first seen opens no group, as in a ViewTable', () => {
  const throwing = (e: any) => {
    if (e.n < 0) throw new Error('no')
    return e.n
  }
  for (const monoid of [sum(throwing), min(throwing), max(throwing)]) {
    const table = new NumericTable(monoid, numericKernelOf(monoid)!)
    for (const keyId of [-1, 3]) {
      assert.throws(() => table.add(0, '/a', { n: -1 }, keyId), /no/)
      assert.equal(table.size, 0)
    }
    table.add(0, '/a', { n: 2 }, 3)
    assert.throws(() => table.add(0, '/b', { n: -1 }), /no/)
    assert.deepEqual([...table.toViewTable().entries()], [['/a', 0, 2]])
  }
})
