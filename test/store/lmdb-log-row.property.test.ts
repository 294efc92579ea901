// A speed log row (lmdb-log-row.ts) reads back through the store's encoder as exactly the deltas
// it was made of, for any commit: deltas as objects or as a fold thread's columns, any double as
// epoch or window (-0, NaN, ±Infinity, beyond 2^53, fractions), every kind of encoded state a
// monoid makes (numbers, the strings a sum encodes ±Infinity as, objects, byte strings of a
// sketch, null, bigints) mixed in one commit or all numbers, and the compactor's pickRow of it.
// Equality is Object.is for numbers (assert's deepStrictEqual: NaN is NaN), except that -0 may
// read back as 0: MessagePack, which writes every state row and wrote layout 5's flat rows,
// writes -0 as the integer 0, and a query's answer (JSON) cannot tell them apart either.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { ChecksummedValues } from '../../src/store/lmdb-checksum.ts'
import { type LogRow, logRowOf, pickRow, rowOf, storedRow } from '../../src/store/lmdb-log-row.ts'
import type { DeltaColumns, RealtimeDelta } from '../../src/store/store.ts'

const values = new ChecksummedValues()
values.legacy = false
// `shift`: the decoded bytes placed at that offset of a larger buffer, as a decoder that does not
// copy them (a reused read buffer) would give them: the words must not need 8-byte alignment.
const roundTrip = (row: LogRow, shift = 0) => {
  const value = values.decode(values.encode(storedRow(row))) as { b: Uint8Array }
  const moved = new Uint8Array(value.b.length + shift)
  moved.set(value.b, shift)
  return rowOf({ ...value, b: moved.subarray(shift) })
}
const deltasOf = (row: LogRow) =>
  Array.from(row.keys, (key, i) =>
    canon({
      view: row.v[row.view[i]!]!,
      epoch: row.epochs[i]!,
      key,
      window: row.windows[i]!,
      state: row.states[i],
    }),
  )
// -0 as 0 (above); a byte string as the bytes it holds (the decoder gives back a Buffer, as it
// did from a layout-5 row).
const canon = (value: unknown): unknown => {
  if (Object.is(value, -0)) return 0
  if (value instanceof Uint8Array) return Uint8Array.from(value)
  if (Array.isArray(value)) return value.map(canon)
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, canon(v)]))
  return value
}

const number = fc.oneof(
  fc.double(),
  fc.constantFrom(-0, 0, Number.NaN, Infinity, -Infinity, 2 ** 53 + 2, -(2 ** 60), 0.1, 4294967296),
  fc.integer(),
)
const state = fc.oneof(
  number,
  fc.constantFrom('Infinity', '-Infinity', 'NaN', null),
  fc.string(),
  fc.record(
    { type: fc.constant('sum'), version: fc.constant(1), terms: fc.array(fc.double({ noNaN: true })) },
    { noNullPrototype: true },
  ),
  fc.uint8Array({ maxLength: 40 }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.array(fc.oneof(fc.integer(), fc.string()), { maxLength: 4 }),
)
const delta = (states: fc.Arbitrary<unknown>) =>
  fc.record({
    view: fc.constantFrom('a', 'b', 'pageviews_by_url', 'ü'),
    epoch: fc.oneof(number, fc.constant(7)),
    key: fc.string({ unit: 'binary' }),
    window: number,
    state: states,
  })
// Commits whose states are all numbers (stored as words) and commits of any states (a list).
const deltas = fc.oneof(fc.array(delta(number), { maxLength: 30 }), fc.array(delta(state), { maxLength: 30 }))
// A one-epoch commit (the epoch stored once) is the usual one: make it common.
const commits = fc.tuple(deltas, fc.boolean(), fc.boolean()).map(([list, oneEpoch, unusedView]) => {
  const objects = oneEpoch ? list.map((d) => ({ ...d, epoch: list[0]?.epoch ?? 0 })) : list
  const views: string[] = [...new Set(objects.map((d) => d.view))]
  if (unusedView) views.splice(views.length >> 1, 0, 'unused')
  return { objects, views }
})

const columnsOf = (objects: RealtimeDelta[], views: string[]): DeltaColumns => {
  const numeric = objects.every((d) => typeof d.state === 'number')
  return {
    views,
    view: Uint16Array.from(objects, (d) => views.indexOf(d.view)),
    epochs: Float64Array.from(objects, (d) => d.epoch),
    windows: Float64Array.from(objects, (d) => d.window),
    keys: objects.map((d) => d.key),
    states: numeric ? Float64Array.from(objects, (d) => d.state as number) : objects.map((d) => d.state),
  }
}

// A stored form differs from the key for some keys (lmdb-speed.ts's storedKey hashes long ones).
const stored = (key: string) => (key.length > 5 ? `§${key.length}` : key)
const want = (objects: RealtimeDelta[]) => objects.map((d) => canon({ ...d, key: stored(d.key) }))

test('rowOf(storedRow(logRowOf(commit))) is the commit, exactly, in either form; so is pickRow of it', () => {
  fc.assert(
    fc.property(
      commits,
      fc.boolean(),
      fc.array(fc.boolean()),
      fc.integer({ min: 0, max: 7 }),
      ({ objects, views }, asColumns, keep, shift) => {
        const deltas = asColumns ? columnsOf(objects, views) : objects
        const row = logRowOf({ partition: 2, offset: 9, deltas } as never, stored)
        const back = roundTrip(row, shift)
        assert.equal(back.p, 2)
        assert.equal(back.o, 9)
        assert.deepStrictEqual(deltasOf(back), want(objects))
        // The row names only the views its deltas are of.
        assert.deepStrictEqual(back.v, [...new Set(objects.map((d) => d.view))])
        const at = objects.map((_, i) => i).filter((i) => keep[i % Math.max(1, keep.length)])
        assert.deepStrictEqual(
          deltasOf(roundTrip(pickRow(back, at))),
          at.map((i) => want(objects)[i]),
        )
      },
    ),
    { numRuns: 400 },
  )
})

test('a view index past 65535 in one commit is refused, not wrapped onto another view', () => {
  const objects = Array.from({ length: 65_537 }, (_, i) => ({
    view: `v${i}`,
    epoch: 0,
    key: 'k',
    window: 0,
    state: 1,
  }))
  assert.throws(
    () => logRowOf({ partition: 0, offset: 1, deltas: objects } as never, (k) => k),
    /65536 views/,
  )
})
