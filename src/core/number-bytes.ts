// A number's JSON text (what String(n) and JSON.stringify give a finite number) written straight
// into a buffer: the 202 of POST /events (an offset and a partition per event) and the archiver's
// segment lines (an offset and a timestamp per record). In the archiver a head string a record
// and its write into the buffer cost more than the line's bytes; for the 202 the cut is small
// (~10 ns an event; BENCHMARKS.md, Ingest, session 15).

/**
 * The most bytes writeNumber writes: String(n) of any number is at most 25 ASCII characters
 * (-0.0000012345678901234567: a sign, "0.00000" and 17 digits; exponent forms are at most 24).
 */
export const MAX_NUMBER_BYTES = 25

/**
 * Writes String(n) into `out` at `at` (room for MAX_NUMBER_BYTES needed); the index after it.
 * Safe integers are written digit by digit; any other number (a fraction, -0, beyond 2^53, NaN)
 * through its string, which is ASCII.
 */
export function writeNumber(out: Buffer, at: number, n: number): number {
  if (!Number.isSafeInteger(n)) return at + out.write(String(n), at, 'latin1')
  if (n < 0) {
    out[at++] = 0x2d // -
    n = -n
  }
  if (n < 10) {
    out[at] = 0x30 + n
    return at + 1
  }
  let digits = 1
  for (let p = 10; p <= n; p *= 10) digits++
  const end = at + digits
  for (let i = end - 1; i >= at; i--) {
    const q = Math.floor(n / 10)
    out[i] = 0x30 + (n - q * 10)
    n = q
  }
  return end
}

/** Copies the ASCII bytes of `text` (every char below 0x80) into `out` at `at`; the index after. */
export function writeAscii(out: Buffer, at: number, text: Uint8Array): number {
  for (let i = 0; i < text.length; i++) out[at + i] = text[i]!
  return at + text.length
}
