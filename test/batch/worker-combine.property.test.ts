// A batch thread that folds several partitions combines them itself (worker.ts): each view's
// NumericTables are taken through encode and decode, combined and packed in place, where they
// were first turned into ViewTables. Both paths must give the same packed entries (keys, windows,
// encoded states, in the same order) and the same states, for every numeric monoid and windowing,
// whatever the partitions hold: ExactSums, overflows, nulls, keys shared or not between them.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { combineInto, packEntries, roundTrip } from '../../src/batch/worker.ts'
import { unpackEntries } from '../../src/batch/worker-pool.ts'
import { compileView } from '../../src/core/compiled-view.ts'
import type { StrataEvent } from '../../src/core/event.ts'
import { type Monoid, numericKernelOf } from '../../src/core/monoid.ts'
import { count } from '../../src/core/monoids/count.ts'
import { max, min } from '../../src/core/monoids/extremes.ts'
import { sum } from '../../src/core/monoids/sum.ts'
import { NumericTable } from '../../src/core/numeric-table.ts'
import { view } from '../../src/core/view.ts'
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
const value = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.double({ noNaN: true }),
  fc.constantFrom(0.1, 1e308, -1e308, -0, 2 ** 53, 1e-300),
  fc.constantFrom(undefined, null, '3', Number.NaN),
)
const event = fc.record({
  url: fc.constantFrom('/a', '/b', '/c', '/d', ''),
  n: value,
  ts: fc.integer({ min: 0, max: 6 * HOUR }),
})

test('combining NumericTables in place packs exactly what combining their ViewTables packs', () => {
  for (const [name, monoid] of monoids) {
    for (const [kind, window] of windows) {
      const base = view<any>(`${name}_${kind}`).key((e) => e.url)
      const compiled = compileView((window === null ? base : base.window(window)).aggregate(monoid()), 'ts')
      const kernel = numericKernelOf(compiled.monoid)
      assert.ok(kernel)
      const m = compiled.monoid
      fc.assert(
        fc.property(
          fc.array(fc.array(event, { maxLength: 60 }), { minLength: 1, maxLength: 4 }),
          // Partitions that cover later and later times: windows the first table has no group
          // of, which combineFrom takes over whole (numeric-table.ts).
          fc.constantFrom(0, 4 * HOUR, 7 * HOUR),
          (partitions, shift) => {
            const numeric = partitions.map((events, p) => {
              const table = new NumericTable(m, kernel)
              for (const e of events)
                compiled.fold(table, { ...e, ts: e.ts + p * shift } as unknown as StrataEvent)
              return table
            })
            // The path before: every partition's table as a ViewTable, then combined.
            const generic = numeric.map((t) => t.toViewTable())
            if (generic.length > 1) {
              roundTrip(generic[0]!, m)
              for (const next of generic.slice(1)) combineInto(generic[0]!, next, m)
              roundTrip(numeric[0]!, m)
              for (const next of numeric.slice(1)) combineInto(numeric[0]!, next, m)
            }
            assert.deepEqual(
              packEntries(numeric[0]!, (s) => m.encode(s)),
              packEntries(generic[0]!, (s) => m.encode(s)),
            )
            // The states themselves, not only their encodings: null, -0, ExactSums.
            assert.deepEqual([...numeric[0]!.toViewTable().entries()], [...generic[0]!.entries()])
          },
        ),
        { numRuns: 90 },
      )
    }
  }
})

test('a NumericTable is not combined with a ViewTable', () => {
  const compiled = compileView(
    view<any>('c')
      .key((e) => e.url)
      .aggregate(count()),
    'ts',
  )
  const table = new NumericTable(compiled.monoid, numericKernelOf(compiled.monoid)!)
  assert.throws(() => combineInto(table, compiled.createTable() as never, compiled.monoid), /NumericTable/)
})

// combineFrom takes a window the target has none of over whole (numeric-table.ts): the source
// gives it up, so nothing is shared. Folding more into either table afterwards must leave the
// other as it was (an alias would count those events twice, once in each).
test('a window taken over is not shared: the target and the source go on apart', () => {
  const compiled = compileView(
    view<any>('c')
      .key((e) => e.url)
      .window(tumbling('1h'))
      .aggregate(sum((e: any) => e.n)),
    'ts',
  )
  const m = compiled.monoid
  const kernel = numericKernelOf(m)!
  const fold = (table: NumericTable<any>, url: string, n: number, ts: number) =>
    compiled.fold(table, { url, n, ts } as unknown as StrataEvent)
  const into = new NumericTable(m, kernel)
  fold(into, '/a', 1, 0)
  const from = new NumericTable(m, kernel)
  fold(from, '/a', 2, 2 * HOUR)
  fold(from, '/b', 0.1, 2 * HOUR) // and an ExactSum in an object slot
  fold(from, '/b', 1e308, 2 * HOUR)
  roundTrip(into, m)
  combineInto(into, from, m)
  const packedInto = packEntries(into, (s) => m.encode(s))
  fold(from, '/a', 100, 2 * HOUR)
  fold(from, '/b', 100, 2 * HOUR)
  assert.deepEqual(
    packEntries(into, (s) => m.encode(s)),
    packedInto,
    'the target unchanged by the source',
  )
  const packedFrom = packEntries(from, (s) => m.encode(s))
  fold(into, '/a', 1000, 2 * HOUR)
  fold(into, '/b', 1000, 2 * HOUR)
  assert.deepEqual(
    packEntries(from, (s) => m.encode(s)),
    packedFrom,
    'the source unchanged by the target',
  )
  assert.deepEqual([...from.toViewTable().entries()].length, 2, 'the source holds only what came after')
})

// The answer crosses to the main thread with each distinct key once (worker.ts, packKeys): what
// the main thread unpacks must be every entry, in order, with its own key, window and state.
test('packed entries unpack to every entry, each distinct key sent once', () => {
  for (const [name, monoid] of monoids) {
    const compiled = compileView(
      view<any>(name)
        .key((e) => e.url)
        .window(hopping({ size: '3h', advance: '1h' }))
        .aggregate(monoid()),
      'ts',
    )
    const m = compiled.monoid
    const kernel = numericKernelOf(m)!
    // ü in both normalizations, the halves of a pair as two lone surrogates, a NUL: each its own key.
    const urls = fc.constantFrom('/a', '/b', '', 'ü', 'u\u0308', '😀/x', '/a/b', '\ud83d', '\ude00', '\u0000')
    fc.assert(
      fc.property(
        fc.array(fc.record({ url: urls, n: value, ts: fc.integer({ min: 0, max: 6 * HOUR }) }), {
          maxLength: 80,
        }),
        (events) => {
          const numeric = new NumericTable(m, kernel)
          const generic = compiled.createTable()
          for (const e of events) {
            compiled.fold(numeric, e as unknown as StrataEvent)
            compiled.fold(generic, e as unknown as StrataEvent)
          }
          const expected = { keys: [] as string[], windows: [] as number[], states: [] as unknown[] }
          for (const start of generic.windowStarts()) {
            for (const [key, state] of generic.groupsIn(start)) {
              expected.keys.push(key)
              expected.windows.push(start)
              expected.states.push(m.encode(state))
            }
          }
          for (const table of [numeric, generic]) {
            const packed = packEntries(table, (s) => m.encode(s))
            assert.equal(packed.keyLengths.length, new Set(expected.keys).size, 'each distinct key once')
            assert.deepEqual(unpackEntries(packed), expected)
          }
        },
      ),
      { numRuns: 60 },
    )
  }
})

// More distinct keys than a 16-bit key number holds: each entry still gets its own key back.
test('packed entries of more than 65,536 distinct keys unpack to their own keys', () => {
  const compiled = compileView(
    view<any>('many')
      .key((e) => e.url)
      .window(tumbling('1h'))
      .aggregate(count()),
    'ts',
  )
  const m = compiled.monoid
  const numeric = new NumericTable(m, numericKernelOf(m)!)
  const generic = compiled.createTable()
  const distinct = 70_000
  for (let i = 0; i < distinct + 10; i++) {
    // Two windows: the keys of the second hour are the first ones again.
    const e = { url: `/k${i % distinct}`, ts: i < distinct ? 0 : HOUR }
    compiled.fold(numeric, e as unknown as StrataEvent)
    compiled.fold(generic, e as unknown as StrataEvent)
  }
  for (const table of [numeric, generic]) {
    const packed = packEntries(table, (s) => m.encode(s))
    assert.equal(packed.keyLengths.length, distinct)
    const { keys, windows } = unpackEntries(packed)
    assert.equal(keys.length, distinct + 10)
    assert.equal(keys[distinct - 1], `/k${distinct - 1}`, 'a key numbered past 65,535')
    for (let i = 0; i < distinct; i++) if (keys[i] !== `/k${i}`) assert.fail(`entry ${i} has key ${keys[i]}`)
    assert.deepEqual(
      keys.slice(distinct),
      Array.from({ length: 10 }, (_, i) => `/k${i}`),
    )
    assert.deepEqual(windows.slice(distinct - 1), [0, ...Array(10).fill(HOUR)])
  }
})

// Damaged packed entries (a bug in packing, a message cut short) were read as they stood: a key
// length past the text gave a key cut short, a key number past the keys an undefined key, a short
// column undefined windows or states, all of them folded into a version. Each is refused now.
test('damaged packed entries throw STRATA_ERR_INVALID_STATE instead of unpacking garbage', () => {
  const good = () => ({
    keyText: '/a/bb',
    keyLengths: Uint32Array.of(2, 3),
    keyIndex: Uint32Array.of(0, 1, 0),
    windows: Float64Array.of(0, 0, HOUR),
    states: Float64Array.of(1, 2, 3) as Float64Array | unknown[],
  })
  assert.deepEqual(unpackEntries(good()), {
    keys: ['/a', '/bb', '/a'],
    windows: [0, 0, HOUR],
    states: [1, 2, 3],
  })
  const damaged: Array<[string, (p: ReturnType<typeof good>) => void, RegExp]> = [
    [
      'a key length past the text',
      (p) => (p.keyLengths[1] = 9),
      /key lengths adding up to 11 over a key text of 5/,
    ],
    [
      'key lengths short of the text',
      (p) => (p.keyLengths[1] = 1),
      /key lengths adding up to 3 over a key text of 5/,
    ],
    ['a key number past the keys', (p) => (p.keyIndex[2] = 2), /entry 2 has key number 2 of 2 keys/],
    ['a short window column', (p) => (p.windows = Float64Array.of(0, 0)), /3 keys, 2 windows and 3 states/],
    ['a short state column', (p) => (p.states = [1, 2]), /3 keys, 3 windows and 2 states/],
  ]
  for (const [what, damage, message] of damaged) {
    const packed = good()
    damage(packed)
    assert.throws(() => unpackEntries(packed), { code: 'STRATA_ERR_INVALID_STATE', message }, what)
  }
})
