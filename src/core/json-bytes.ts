// What the two byte scanners of JSON share — the record check's (projected-check.ts, the speed
// and batch layers' reads) and ingest's (ingest/scan.ts, POST /events): the bytes they look for,
// whitespace and digit runs, and Buffer's own slicers. What each proves stays in its own file.

export const QUOTE = 0x22
export const BACKSLASH = 0x5c
export const COMMA = 0x2c
export const COLON = 0x3a
export const OPEN_OBJECT = 0x7b
export const CLOSE_OBJECT = 0x7d
export const OPEN_ARRAY = 0x5b
export const CLOSE_ARRAY = 0x5d
export const MINUS = 0x2d
export const ZERO = 0x30
export const NINE = 0x39
export const NEWLINE = 0x0a
export const RETURN = 0x0d

// Buffer's own slicers (undocumented but what toString calls after checking its arguments, which
// was most of the cost of a short field).
export interface Slicers {
  latin1Slice(start: number, end: number): string
  utf8Slice(start: number, end: number): string
}

/** JSON whitespace from `i`: the index of the first other byte, or `n`. */
export function skipSpace(b: Uint8Array, i: number, n: number): number {
  while (i < n) {
    const c = b[i]!
    if (c !== 0x20 && c !== NEWLINE && c !== RETURN && c !== 0x09) break
    i++
  }
  return i
}

/** Decimal digits from `i`: the index after the last one (`i` when there is none). */
export function digitsFrom(b: Uint8Array, i: number, n: number): number {
  while (i < n) {
    const c = b[i]!
    if (c < ZERO || c > NINE) break
    i++
  }
  return i
}

/**
 * The byte after a backslash opens one of JSON's two-byte escapes: \" \\ \/ \b \f \n \r \t. A \u
 * (and anything else) is not: each scanner leaves it to the full parser.
 */
export function isShortEscape(e: number | undefined): boolean {
  return (
    e === QUOTE ||
    e === BACKSLASH ||
    e === 0x2f ||
    e === 0x62 ||
    e === 0x66 ||
    e === 0x6e ||
    e === 0x72 ||
    e === 0x74
  )
}

/**
 * What skipNumber saw in the last number it read (one thread, synchronous: read it right after
 * the call): an integer of at most 15 digits and its value (exact as a double), and whether it
 * had an exponent (the only way a short spelling overflows to Infinity or underflows).
 */
export const scannedNumber = { simple: false, value: 0, exponent: false }

/** A JSON number starting at `i`: the index after it, or -1; fills `scannedNumber`. */
export function skipNumber(b: Uint8Array, i: number, n: number): number {
  const negative = b[i] === MINUS
  const digitsStart = negative ? i + 1 : i
  const first = b[digitsStart]
  let digitsEnd: number
  if (first === ZERO) digitsEnd = digitsStart + 1
  else if (first !== undefined && first > ZERO && first <= NINE) digitsEnd = digitsFrom(b, digitsStart + 1, n)
  else return -1
  i = digitsEnd
  let plain = true
  scannedNumber.exponent = false
  if (b[i] === 0x2e) {
    plain = false
    const end = digitsFrom(b, i + 1, n)
    if (end === i + 1) return -1
    i = end
  }
  const c = b[i]
  if (c === 0x65 || c === 0x45) {
    plain = false
    scannedNumber.exponent = true
    i++
    const sign = b[i]
    if (sign === 0x2b || sign === MINUS) i++
    const end = digitsFrom(b, i, n)
    if (end === i) return -1
    i = end
  }
  scannedNumber.simple = plain && digitsEnd - digitsStart <= 15
  if (scannedNumber.simple) {
    let v = 0
    for (let j = digitsStart; j < digitsEnd; j++) v = v * 10 + (b[j]! - ZERO)
    scannedNumber.value = negative ? -v : v
  }
  return i
}

/** `true`, `false` or `null` at `i` (its first byte `c`): the index after it, or -1. */
export function skipLiteral(b: Uint8Array, i: number, c: number): number {
  if (c === 0x74) return b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65 ? i + 4 : -1
  if (c === 0x66)
    return b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65 ? i + 5 : -1
  if (c === 0x6e) return b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c ? i + 4 : -1
  return -1
}
