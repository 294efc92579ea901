// shortAscii (src/core/short-ascii.ts) builds the projected check's short read strings from their
// bytes: for every length it takes and every ASCII byte, at any position in a larger buffer, the
// string must be the bytes' latin1 text (what the slice it replaces gave).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SHORT_STRING, shortAscii } from '../../src/core/short-ascii.ts'

test('every length up to SHORT_STRING, every ASCII byte in every position, read in place', () => {
  const buffer = Buffer.alloc(3 + SHORT_STRING + 3, 0xff) // bytes >= 0x80 around the string
  for (let length = 0; length <= SHORT_STRING; length++) {
    for (let byte = 0; byte < 0x80; byte++) {
      for (let k = 0; k < Math.max(1, length); k++) {
        for (let j = 0; j < length; j++) buffer[3 + j] = 0x61 + ((j * 7) % 26)
        if (length > 0) buffer[3 + k] = byte
        const expected = buffer.toString('latin1', 3, 3 + length)
        assert.equal(shortAscii(buffer, 3, length), expected, `length ${length}, byte ${byte} at ${k}`)
      }
    }
  }
})

test('a length past SHORT_STRING is refused, not cut short', () => {
  assert.throws(() => shortAscii(Buffer.alloc(SHORT_STRING + 1, 0x61), 0, SHORT_STRING + 1), RangeError)
})
