// A speed log row (lmdb-log-row.ts) reads back through the store's encoder as the deltas it was
// made of, in order, whatever its shape: one epoch or several, numeric states or not, views of
// the commit that hold no delta, keys whose stored form differs, an odd count (the view indexes
// end the bytes unaligned), and a layout-5 flat row.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ChecksummedValues } from '../../src/store/lmdb-checksum.ts'
import { logRowOf, pickRow, rowOf, storedRow } from '../../src/store/lmdb-log-row.ts'
import type { DeltaColumns } from '../../src/store/store.ts'

const values = new ChecksummedValues()
values.legacy = false
const roundTrip = (row: ReturnType<typeof logRowOf>) => rowOf(values.decode(values.encode(storedRow(row))))
const deltasOf = (row: ReturnType<typeof logRowOf>) =>
  Array.from(row.keys, (key, i) => [row.v[row.view[i]!], row.epochs[i], key, row.windows[i], row.states[i]])

test('columns read back as written: several epochs, numeric and other states, unused views dropped, stored keys', () => {
  for (const states of [new Float64Array([1, 2.5, -3, 1e300, 0]), [1, { hll: [1, 2] }, 'x', null, 5]]) {
    const deltas: DeltaColumns = {
      views: ['a', 'unused', 'b'],
      view: new Uint16Array([2, 0, 0, 2, 0]),
      epochs: new Float64Array([4, 4, 5, 4, 6]),
      windows: new Float64Array([0, 3_600_000, 7_200_000, 0, 1_700_000_000_000]),
      keys: ['/x', '/y', '/long', '/x', '/z'],
      states,
    }
    const row = logRowOf({ partition: 3, offset: 42, deltas } as never, (k) =>
      k === '/long' ? '§sha256:ab' : k,
    )
    const back = roundTrip(row)
    assert.deepEqual(back.v, ['b', 'a'])
    assert.equal(back.p, 3)
    assert.equal(back.o, 42)
    const expected = [
      ['b', 4, '/x', 0, states[0]],
      ['a', 4, '/y', 3_600_000, states[1]],
      ['a', 5, '§sha256:ab', 7_200_000, states[2]],
      ['b', 4, '/x', 0, states[3]],
      ['a', 6, '/z', 1_700_000_000_000, states[4]],
    ]
    assert.deepEqual(deltasOf(back), expected)
    assert.deepEqual(deltasOf(pickRow(back, [1, 4])), [expected[1], expected[4]])
    assert.deepEqual(
      deltas.keys,
      ['/x', '/y', '/long', '/x', '/z'],
      "the commit's own keys are left as they were",
    )
  }
})

test('one epoch is stored once; objects and a layout-5 flat row read the same', () => {
  const list = [
    { view: 'v', epoch: 7, key: 'k1', window: 10, state: 1 },
    { view: 'w', epoch: 7, key: 'k2', window: 20, state: 2 },
    { view: 'v', epoch: 7, key: 'k3', window: 30, state: 3 },
  ]
  const row = logRowOf({ partition: 0, offset: 1, deltas: list } as never, (k) => k)
  const stored = storedRow(row)
  assert.equal(stored.e, 7)
  assert.equal(stored.b.length, 3 * 16 + 8, 'windows and states, then the view indexes padded to a word')
  const want = list.map((d) => [d.view, d.epoch, d.key, d.window, d.state])
  assert.deepEqual(deltasOf(roundTrip(row)), want)
  const flat = { p: 0, o: 1, v: ['v', 'w'], d: [0, 7, 'k1', 10, 1, 1, 7, 'k2', 20, 2, 0, 7, 'k3', 30, 3] }
  assert.deepEqual(deltasOf(rowOf(values.decode(values.encode(flat)))), want)
})

test('a value of neither form is refused', () => {
  assert.throws(() => rowOf({ p: 0, o: 1, v: [] }), /neither of layout 6 nor of layout 5/)
  const row = storedRow(
    logRowOf(
      { partition: 0, offset: 1, deltas: [{ view: 'v', epoch: 0, key: 'k', window: 0, state: 1 }] } as never,
      (k) => k,
    ),
  )
  assert.throws(() => rowOf({ ...row, b: row.b.subarray(0, 8) }), /hold 8 bytes for 1 deltas/)
})
