// A batch row of numbers ([windows, states]) is encoded by packNumberRow (lmdb-checksum.ts), not
// msgpackr: the store must hold the very bytes msgpackr would have written behind the mark and
// the checksum, so that what is stored does not change (older readers, the walk, the checksum)
// and every number reads back as msgpackr reads it. Anything not a row of numbers stays msgpackr's.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { Packr } from 'msgpackr'
import { CHECKED, ChecksummedValues, checkValue, packNumberRow } from '../../src/store/lmdb-checksum.ts'

const packr = new Packr({ copyBuffers: true })
// The edges of each of msgpackr's number forms, and any double.
const EDGES = [
  0,
  -0,
  1,
  0x3f,
  0x40,
  0x7f,
  0x80,
  0xff,
  0x100,
  0xffff,
  0x10000,
  2 ** 32 - 1,
  2 ** 32,
  -1,
  -0x20,
  -0x21,
  -0x80,
  -0x81,
  -0x8000,
  -0x8001,
  -(2 ** 31),
  -(2 ** 31) - 1,
  0.5,
  -0.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  1764000000000,
  Number.MAX_SAFE_INTEGER,
  5e-324,
]
const number = fc.oneof(fc.constantFrom(...EDGES), fc.integer(), fc.double(), fc.nat({ max: 0x20000 }))

function assertAsMsgpackr(row: [number[], number[]]): void {
  const fast = packNumberRow(row)
  assert.ok(fast !== undefined, 'a row of numbers takes the fast path')
  assert.equal(fast[0], CHECKED)
  assert.ok(fast.subarray(5).equals(packr.pack(row)), 'the bytes msgpackr writes')
  assert.equal(checkValue(fast, fast.length, false), true, 'its checksum matches')
  assert.deepEqual(new ChecksummedValues().decode(fast), packr.unpack(packr.pack(row)))
}

test('a row of numbers is encoded as msgpackr encodes it, behind its checksum', () => {
  fc.assert(
    fc.property(fc.array(number, { maxLength: 40 }), fc.array(number, { maxLength: 40 }), (a, b) =>
      assertAsMsgpackr([a, b]),
    ),
    { numRuns: 500 },
  )
  for (const n of [15, 16, 0xffff, 0x10000]) assertAsMsgpackr([Array.from({ length: n }, (_, i) => i), [n]])
  assertAsMsgpackr([EDGES, EDGES.map((x) => -x)])
  // Every number a double, in lists long enough for a 3- or 5-byte header: the most bytes a row takes.
  for (const n of [16, 0x10000]) assertAsMsgpackr([new Array(n).fill(0.5), new Array(n).fill(-0.25)])
})

test('anything but a row of numbers is left to msgpackr', () => {
  for (const value of [
    [[1], ['a']],
    [[1], [{ sum: 1 }]],
    [[1], [undefined]],
    [[1, 2]],
    [[1], [2], [3]],
    'row',
    { 0: [1], 1: [2] },
    [new Array(2), [1, 2]],
  ]) {
    assert.equal(packNumberRow(value), undefined, JSON.stringify(value))
    const values = new ChecksummedValues()
    assert.deepEqual(values.decode(values.encode(value)), packr.unpack(packr.pack(value)))
  }
})
