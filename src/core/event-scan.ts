// The archiver's record check and field split in one pass over the record's bytes: the same
// predicate as eventCheck (event.ts), and the event's top-level fields in the order and with the
// values `Object.keys(JSON.parse(text))` gives, which the packed encoder (master-dataset/
// packed-segment.ts, `addFields`) takes instead of the parsed event. No decode of the whole text,
// no JSON.parse of it, no walk of the object.
//
// Exactness: the scanner answers only what it can prove; everything else goes to the parse path
// (eventCheck, then the encoder's `add`), which decides and says why:
//   - it accepts a record only when it has shown everything eventCheck checks: the bytes are UTF-8,
//     the text is one JSON object and nothing after it, no container is nested deeper than
//     maxDepth, no number is infinite as a double, no `\u` escape appears anywhere (the only way to
//     write a lone surrogate), the size is within the limit, and the time field is present and a
//     valid event time;
//   - each field's value is what JSON.parse gives it: a string (its bytes decoded as UTF-8; with
//     a short escape, that string's own JSON text parsed), a number (digit by digit below 2^53,
//     otherwise the same string-to-double conversion JSON.parse uses), true, false, null, or a
//     nested object or array (that value's own JSON text parsed: the same value);
//   - the order is the order of the text only when JSON.parse keeps it: a field name that starts
//     with a digit (an array index, which an object lists first, ascending), a name with an
//     escape, `__proto__` (the encoder keeps such an event whole) and a name that appears twice
//     (JSON.parse keeps the first place and the last value) go to the parse path, as does a
//     nested value holding `-0` (the encoder keeps such an event whole: JSON.stringify writes 0),
//     spelled `-0…` or a negative number that underflows to it (`-1e-400`).
// test/archive/event-scan.property.test.ts compares the packed bytes of both paths on random and
// adversarial records.
import { isUtf8 } from 'node:buffer'
import { defaultEventLimits } from './event.ts'
import { parseEventTime } from './event-time.ts'
import {
  BACKSLASH,
  CLOSE_ARRAY,
  CLOSE_OBJECT,
  COLON,
  COMMA,
  isShortEscape,
  MINUS,
  NINE,
  OPEN_ARRAY,
  OPEN_OBJECT,
  QUOTE,
  type Slicers,
  scannedNumber,
  skipLiteral,
  skipNumber,
  skipSpace,
  ZERO,
} from './json-bytes.ts'

// Set by the scanners as they go (one thread, synchronous): whether a string had a byte >= 0x80;
// whether the last string had a (short) escape. Numbers: json-bytes.ts scannedNumber.
let high = false
let escaped = false

/** A string opened before `i`, escapes allowed but `\u`: the index of its closing quote, or -1. */
function stringEnd(b: Uint8Array, i: number, n: number): number {
  escaped = false
  while (i < n) {
    const c = b[i]!
    if (c === QUOTE) return i
    if (c === BACKSLASH) {
      // A \u (and anything else but a short escape) is left to the parse path.
      if (!isShortEscape(b[i + 1])) return -1
      escaped = true
      i += 2
    } else if (c < 0x20) return -1
    else {
      if (c >= 0x80) high = true
      i++
    }
  }
  return -1
}

const { maxEventBytes, maxDepth } = defaultEventLimits

/** Any value at `i`, validated (depth: of a container starting here, the top-level object being 1). */
function skipValue(b: Buffer, i: number, n: number, depth: number): number {
  const c = b[i]
  if (c === QUOTE) {
    const end = stringEnd(b, i + 1, n)
    return end < 0 ? -1 : end + 1
  }
  if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) {
    const end = skipNumber(b, i, n)
    if (end < 0) return -1
    // Up to 300 characters and no exponent cannot exceed the largest double (about 1.8e308), nor
    // round to 0 unless spelled 0… (a nested -0 spelled `-0…` is hasMinusZero's). A negative one
    // that underflows (-1e-400) is -0, which the encoder keeps whole: the parse path's.
    if (scannedNumber.exponent || end - i > 300) {
      const v = Number(b.toString('latin1', i, end))
      if (!Number.isFinite(v) || Object.is(v, -0)) return -1
    }
    return end
  }
  if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
    if (depth > maxDepth) return -1
    const close = c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY
    i = skipSpace(b, i + 1, n)
    if (b[i] === close) return i + 1
    for (;;) {
      if (c === OPEN_OBJECT) {
        if (b[i] !== QUOTE) return -1
        i = stringEnd(b, i + 1, n)
        if (i < 0) return -1
        i = skipSpace(b, i + 1, n)
        if (b[i] !== COLON) return -1
        i = skipSpace(b, i + 1, n)
      }
      i = skipValue(b, i, n, depth + 1)
      if (i < 0) return -1
      i = skipSpace(b, i, n)
      const d = b[i]
      if (d === close) return i + 1
      if (d !== COMMA) return -1
      i = skipSpace(b, i + 1, n)
    }
  }
  return c === undefined ? -1 : skipLiteral(b, i, c)
}

/** True when b[start, end) holds the bytes `-0` (a nested -0 somewhere, or not). */
function hasMinusZero(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end - 1; i++) if (b[i] === MINUS && b[i + 1] === ZERO) return true
  return false
}

export interface EventScanner {
  /**
   * True when `b` is an event (eventCheck would accept it) whose fields the scanner has split:
   * `keys` and `values` then hold them in [0, count). False leaves the record to the parse path.
   */
  scan(b: Buffer): boolean
  /** The field names; the same string objects as the last record's where the bytes are equal. */
  readonly keys: string[]
  readonly values: unknown[]
  readonly count: number
}

/** The scanner for events whose time is in `timeField`, with the default limits. */
export function eventScanner(timeField: string): EventScanner {
  const keys: string[] = []
  const values: unknown[] = []
  // The bytes of the name at each place, as last seen: a name seen again reuses its string.
  const keyBytes: Buffer[] = []
  // The last accepted record's names, known to be distinct (a copy: `keys` is overwritten).
  let distinct: string[] = []
  let count = 0

  const keyAt = (b: Buffer, f: number, start: number, end: number): string => {
    const known = keyBytes[f]
    const length = end - start
    if (known !== undefined && known.length === length) {
      let j = 0
      while (j < length && known[j] === b[start + j]) j++
      if (j === length) return keys[f]!
    }
    const s = b as Buffer & Slicers
    const name = high ? s.utf8Slice(start, end) : s.latin1Slice(start, end)
    keyBytes[f] = Buffer.from(b.subarray(start, end))
    keys[f] = name
    return name
  }

  // The value at `i` into values[f]: the index after it, or -1.
  const readValue = (b: Buffer, i: number, n: number, f: number): number => {
    const c = b[i]
    const s = b as Buffer & Slicers
    if (c === QUOTE) {
      const wasHigh: boolean = high
      high = false
      const end = stringEnd(b, i + 1, n)
      if (end < 0) return -1
      if (escaped) values[f] = JSON.parse(s.utf8Slice(i, end + 1))
      else values[f] = high ? s.utf8Slice(i + 1, end) : s.latin1Slice(i + 1, end)
      high ||= wasHigh
      return end + 1
    }
    if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) {
      const end = skipNumber(b, i, n)
      if (end < 0) return -1
      if (scannedNumber.simple) values[f] = scannedNumber.value
      else {
        const v = Number(s.latin1Slice(i, end))
        if (!Number.isFinite(v)) return -1
        values[f] = v
      }
      return end
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const end = skipValue(b, i, n, 2)
      if (end < 0 || hasMinusZero(b, i, end)) return -1
      try {
        values[f] = JSON.parse(s.utf8Slice(i, end))
      } catch {
        return -1 // not expected (the bytes were validated): the parse path decides
      }
      return end
    }
    if (c === undefined) return -1
    const end = skipLiteral(b, i, c)
    if (end < 0) return -1
    values[f] = c === 0x74 ? true : c === 0x66 ? false : null
    return end
  }

  const scan = (b: Buffer): boolean => {
    const n = b.length
    if (n === 0 || n > maxEventBytes) return false
    let i = skipSpace(b, 0, n)
    if (b[i] !== OPEN_OBJECT) return false
    high = false
    let f = 0
    let time = -1
    i = skipSpace(b, i + 1, n)
    for (; ; f++) {
      if (b[i] !== QUOTE) return false
      const wasHigh: boolean = high
      high = false
      const end = stringEnd(b, i + 1, n)
      // A name with an escape, starting with a digit (an array index goes first), or __proto__.
      if (end < 0 || escaped || (b[i + 1]! >= ZERO && b[i + 1]! <= NINE)) return false
      const name = keyAt(b, f, i + 1, end)
      high ||= wasHigh
      if (name === '__proto__') return false
      if (name === timeField) time = f
      i = skipSpace(b, end + 1, n)
      if (b[i] !== COLON) return false
      i = readValue(b, skipSpace(b, i + 1, n), n, f)
      if (i < 0) return false
      i = skipSpace(b, i, n)
      const c = b[i]
      if (c === CLOSE_OBJECT) break
      if (c !== COMMA) return false
      i = skipSpace(b, i + 1, n)
    }
    if (skipSpace(b, i + 1, n) !== n) return false
    if (high && !isUtf8(b)) return false
    const fields = f + 1
    // Distinct names: the last record's names (by identity, as keyAt reuses them), or checked.
    let same = fields === distinct.length
    for (let k = 0; k < fields && same; k++) if (keys[k] !== distinct[k]) same = false
    if (!same) {
      if (new Set(keys.slice(0, fields)).size !== fields) return false
      distinct = keys.slice(0, fields)
    }
    // With distinct names, the time field was seen once.
    if (time < 0 || parseEventTime(values[time]) === undefined) return false
    count = fields
    return true
  }

  return {
    scan,
    keys,
    values,
    get count() {
      return count
    },
  }
}
