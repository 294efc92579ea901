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
