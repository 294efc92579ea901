// writeNumber writes String(n) for every number (the 202's positions and the segment lines'
// offsets and timestamps are written by it): safe integers of every length and sign, the digit
// boundaries, and any double (fractions, -0, beyond 2^53, NaN and the infinities).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { MAX_NUMBER_BYTES, writeAscii, writeNumber } from '../../src/core/number-bytes.ts'

function written(n: number): string {
  const out = Buffer.alloc(MAX_NUMBER_BYTES + 4, 0x78) // x: a byte past the end stays put
  const end = writeNumber(out, 2, n)
  assert.equal(out[end], 0x78, `nothing written past the index returned for ${n}`)
  assert.ok(end - 2 <= MAX_NUMBER_BYTES, `${n} is ${end - 2} bytes, more than MAX_NUMBER_BYTES`)
  return out.toString('latin1', 2, end)
}

test('writeNumber writes String(n): the digit boundaries of safe integers', () => {
  for (let p = 1; p <= Number.MAX_SAFE_INTEGER; p *= 10)
    for (const n of [p - 1, p, p + 1, -p + 1, -p, -p - 1])
      if (Number.isSafeInteger(n)) assert.equal(written(n), String(n))
  for (const n of [0, -0, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 31 - 1, 2 ** 32])
    assert.equal(written(n), String(n))
})

test('writeNumber writes String(n) for any safe integer and any double', () => {
  fc.assert(
    fc.property(fc.maxSafeInteger(), (n) => assert.equal(written(n), String(n))),
    { numRuns: 2000 },
  )
  fc.assert(
    fc.property(fc.double(), (n) => assert.equal(written(n), String(n))),
    { numRuns: 2000 },
  )
  for (const n of [NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53), 1e21, 5e-324, -1.5e-7, Number.MAX_VALUE])
    assert.equal(written(n), String(n))
  // The longest String(n): a sign, "0.00000" and 17 significant digits (25 characters; an
  // exponent form, -1.7976931348623157e+308, is 24).
  for (const n of [-0.0000012345678901234567, -Number.MAX_VALUE, -5e-324]) assert.equal(written(n), String(n))
})

test('writeAscii copies the bytes at the index and returns the index after them', () => {
  const out = Buffer.alloc(8, 0x78)
  assert.equal(writeAscii(out, 3, Buffer.from('ab')), 5)
  assert.equal(out.toString('latin1'), 'xxxabxxx')
})
