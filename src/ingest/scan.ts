// The fast path of ingest for a body of bytes: one pass over the bytes that proves every NDJSON
// line an event parse.ts would accept, and hands each event's ORIGINAL bytes (a slice of the body,
// no copy) to the sink as the record value, with no UTF-8 decode of the body, no JSON.parse and
// no JSON.stringify. A body it cannot prove goes whole to parse.ts (the caller's fallback), so
// which bodies are accepted, what is written and every error (code, message, line, field) are
// parse.ts's own.
//
// Exactness: the scanner accepts a body only when it has shown everything parse.ts would check:
//   - the body is UTF-8 (a leading byte-order mark is dropped, as decodeInput does);
//   - every line (split at \n, one trailing \r dropped, as parse.ts) is either JSON whitespace
//     only (a blank line, skipped) or one JSON object and nothing else but JSON whitespace; the
//     line's bytes are within maxEventBytes; there are at most maxEvents events and at least one;
//   - no container nests deeper than maxDepth (the object being 1), no number is infinite as a
//     double, and no string anywhere holds a `\u` escape (the only way to write a lone surrogate;
//     the other JSON escapes are validated and skipped);
//   - the time field is a top-level field once, a string or a number, and a valid event time
//     (parseEventTime of what JSON.parse would give); the key field, when there is one, is absent,
//     null, true, false, a number or a string, at most once (a string with an escape is read by
//     JSON.parse of its literal alone). A top-level
//     field name with an escape is neither (an escape other than \u writes one of `"\/` or a
//     control character) unless a field's name holds such a character: then it is left to parse.ts.
// Then the accepted text parse.ts would keep (the line, trimmed) is the object's bytes from `{` to
// `}`, as outside them a valid line holds only JSON whitespace; and a body whose lines are each one
// whole object is never parse.ts's single (pretty-printed) object, which needs one object spread
// over several lines. test/ingest/scan.property.test.ts compares both paths on random bodies.
import { isUtf8 } from 'node:buffer'
import type { EventLimits } from '../core/event.ts'
import { parseEventTime } from '../core/event-time.ts'
import {
  BACKSLASH,
  CLOSE_ARRAY,
  CLOSE_OBJECT,
  COLON,
  COMMA,
  digitsFrom,
  isShortEscape,
  MINUS,
  NEWLINE,
  NINE,
  OPEN_ARRAY,
  OPEN_OBJECT,
  QUOTE,
  RETURN,
  type Slicers,
  skipSpace,
  ZERO,
} from '../core/json-bytes.ts'

/** An event the scanner proved: its record key and its bytes, a slice of the body. */
export interface ScannedRecord {
  key: string | null
  value: Buffer
}

export interface ScanOptions {
  timeField: string
  keyField?: string
  limits: EventLimits
  maxEvents: number
}

/** A body's events, or undefined when the body is left to parse.ts. */
export type BodyScanner = (body: Buffer) => ScannedRecord[] | undefined

/** A string with no escape opened before `i`: the index of its closing quote, or -1. */
function plainStringEnd(b: Uint8Array, i: number, n: number): number {
  while (i < n) {
    const c = b[i]!
    if (c === QUOTE) return i
    if (c === BACKSLASH || c < 0x20) return -1
    i++
  }
  return -1
}

/** A string opened before `i`, escapes allowed but `\u`: the index after its closing quote, or -1. */
function skipString(b: Uint8Array, i: number, n: number): number {
  while (i < n) {
    const c = b[i]!
    if (c === QUOTE) return i + 1
    if (c === BACKSLASH) {
      // A \u (and anything else but a short escape) is left to parse.ts.
      if (isShortEscape(b[i + 1])) i += 2
      else return -1
    } else if (c < 0x20) return -1
    else i++
  }
  return -1
}

/**
 * A JSON number starting at `i` and ending by `n`: the index after it, or -1 (also when it is
 * infinite as a double).
 */
function skipNumber(b: Buffer, i: number, n: number): number {
  const start = i
  if (b[i] === MINUS) i++
  const first = i < n ? b[i]! : -1
  if (first === ZERO) i++
  else if (first > ZERO && first <= NINE) i = digitsFrom(b, i + 1, n)
  else return -1
  let exponent = false
  if (i < n && b[i] === 0x2e) {
    const end = digitsFrom(b, i + 1, n)
    if (end === i + 1) return -1
    i = end
  }
  const c = i < n ? b[i] : -1
  if (c === 0x65 || c === 0x45) {
    exponent = true
    i++
    const sign = i < n ? b[i] : -1
    if (sign === 0x2b || sign === MINUS) i++
    const end = digitsFrom(b, i, n)
    if (end === i) return -1
    i = end
  }
  // Up to 300 characters and no exponent cannot exceed the largest double (about 1.8e308).
  if (
    (exponent || i - start > 300) &&
    !Number.isFinite(Number((b as Buffer & Slicers).latin1Slice(start, i)))
  )
    return -1
  return i
}

/** `true`, `false` or `null` at `i`, ending by `n`: the index after it, or -1. */
function skipLiteral(b: Uint8Array, i: number, n: number): number {
  const c = b[i]
  if (c === 0x74)
    return i + 4 <= n && b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65 ? i + 4 : -1
  if (c === 0x66)
    return i + 5 <= n && b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65
      ? i + 5
      : -1
  if (c === 0x6e)
    return i + 4 <= n && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c ? i + 4 : -1
  return -1
}

function sameBytes(b: Uint8Array, start: number, end: number, name: Uint8Array): boolean {
  if (end - start !== name.length) return false
  for (let j = 0; j < name.length; j++) if (b[start + j] !== name[j]) return false
  return true
}

/** The scanner for these options, or undefined when a field's name is one it leaves to parse.ts. */
export function bodyScanner(options: ScanOptions): BodyScanner | undefined {
  const { timeField, keyField, maxEvents } = options
  const { maxEventBytes, maxDepth } = options.limits
  // A name the prototype has (`constructor`, `__proto__`, …) reads differently on an event that
  // lacks the field: whole events, through parse.ts.
  if (timeField in Object.prototype || (keyField !== undefined && keyField in Object.prototype))
    return undefined
  if (maxDepth < 1) return undefined
  const timeName = Buffer.from(timeField, 'utf8')
  const keyName = keyField === undefined || keyField === timeField ? undefined : Buffer.from(keyField, 'utf8')
  const keyIsTime = keyField !== undefined && keyField === timeField
  // What a field name's escape (other than \u, which is left to parse.ts) can write.
  const escapable = /["\\/\b\f\n\r\t]/
  const escapedNamesDiffer =
    !escapable.test(timeField) && !(keyField !== undefined && escapable.test(keyField))

  // Any value, validated (depth: of a container starting here, the line's object being 1).
  const skipValue = (b: Buffer, i: number, n: number, depth: number): number => {
    if (i >= n) return -1
    const c = b[i]!
    if (c === QUOTE) return skipString(b, i + 1, n)
    if (c === MINUS || (c >= ZERO && c <= NINE)) return skipNumber(b, i, n)
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (depth > maxDepth) return -1
      const close = c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY
      i = skipSpace(b, i + 1, n)
      if (i < n && b[i] === close) return i + 1
      for (;;) {
        if (c === OPEN_OBJECT) {
          if (i >= n || b[i] !== QUOTE) return -1
          i = skipString(b, i + 1, n)
          if (i < 0) return -1
          i = skipSpace(b, i, n)
          if (i >= n || b[i] !== COLON) return -1
          i = skipSpace(b, i + 1, n)
        }
        i = skipValue(b, i, n, depth + 1)
        if (i < 0) return -1
        i = skipSpace(b, i, n)
        if (i >= n) return -1
        const d = b[i]
        if (d === close) return i + 1
        if (d !== COMMA) return -1
        i = skipSpace(b, i + 1, n)
      }
    }
    return skipLiteral(b, i, n)
  }

  // What one top-level field's value is, as JSON.parse would give it (set by readValue).
  let value: string | number | boolean | null = null

  // An escape-free string, a number, or a literal, into `value`: the index after it, or -1.
  const readValue = (b: Buffer, i: number, n: number): number => {
    if (i >= n) return -1
    const c = b[i]!
    if (c === QUOTE) {
      const end = plainStringEnd(b, i + 1, n)
      if (end >= 0) {
        value = (b as Buffer & Slicers).utf8Slice(i + 1, end) // the body is known to be UTF-8
        return end + 1
      }
      // With escapes (not \u): the string literal alone, through JSON.parse.
      const after = skipString(b, i + 1, n)
      if (after < 0) return -1
      value = JSON.parse((b as Buffer & Slicers).utf8Slice(i, after)) as string
      return after
    }
    if (c === MINUS || (c >= ZERO && c <= NINE)) {
      const end = skipNumber(b, i, n)
      if (end < 0) return -1
      // An integer of up to 15 digits digit by digit (exact below 2^53), else as JSON.parse does.
      const negative = c === MINUS
      let j = negative ? i + 1 : i
      let plain = end - j <= 15
      let v = 0
      for (; plain && j < end; j++) {
        const d = b[j]! - ZERO
        if (d < 0 || d > 9) plain = false
        else v = v * 10 + d
      }
      value = plain ? (negative ? -v : v) : Number((b as Buffer & Slicers).latin1Slice(i, end))
      return end
    }
    const end = skipLiteral(b, i, n)
    if (end < 0) return -1
    value = c === 0x74 ? true : c === 0x66 ? false : null
    return end
  }

  return (b) => {
    const length = b.length
    if (!isUtf8(b)) return undefined
    const records: ScannedRecord[] = []
    // A leading byte-order mark is not part of the first line (decodeInput drops it).
    let start = length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0
    while (start < length) {
      let end = b.indexOf(NEWLINE, start)
      const next = end === -1 ? length : end + 1
      if (end === -1) end = length
      const n = end > start && b[end - 1] === RETURN ? end - 1 : end
      let i = skipSpace(b, start, n)
      if (i === n) {
        start = next
        continue // a blank line
      }
      if (records.length >= maxEvents || n - start > maxEventBytes || b[i] !== OPEN_OBJECT) return undefined
      const objectStart = i
      let time: string | number | boolean | null | undefined
      let key: string | null = null
      let keySeen = false
      i = skipSpace(b, i + 1, n)
      if (i < n && b[i] === CLOSE_OBJECT) return undefined // {}: no time field
      for (;;) {
        if (i >= n || b[i] !== QUOTE) return undefined
        let nameEnd = plainStringEnd(b, i + 1, n)
        let isTime = false
        let isKey = false
        if (nameEnd >= 0) {
          isTime = sameBytes(b, i + 1, nameEnd, timeName)
          isKey = keyIsTime ? isTime : keyName !== undefined && sameBytes(b, i + 1, nameEnd, keyName)
        } else {
          // A name with an escape holds a character that neither field's name has.
          if (!escapedNamesDiffer) return undefined
          nameEnd = skipString(b, i + 1, n) - 1
          if (nameEnd < 0) return undefined
        }
        i = skipSpace(b, nameEnd + 1, n)
        if (i >= n || b[i] !== COLON) return undefined
        i = skipSpace(b, i + 1, n)
        if (isTime || isKey) {
          if ((isTime && time !== undefined) || (isKey && keySeen)) return undefined // a duplicate
          i = readValue(b, i, n)
          if (i < 0) return undefined
          if (isTime) time = value
          if (isKey) {
            keySeen = true
            key = value === null ? null : typeof value === 'string' ? value : String(value)
          }
        } else {
          i = skipValue(b, i, n, 2)
          if (i < 0) return undefined
        }
        i = skipSpace(b, i, n)
        if (i >= n) return undefined
        const c = b[i]
        if (c === CLOSE_OBJECT) break
        if (c !== COMMA) return undefined
        i = skipSpace(b, i + 1, n)
      }
      const objectEnd = i + 1
      if (skipSpace(b, objectEnd, n) !== n) return undefined
      if (time === undefined || parseEventTime(time) === undefined) return undefined
      records.push({ key: keyField === undefined ? null : key, value: b.subarray(objectStart, objectEnd) })
      start = next
    }
    return records.length === 0 ? undefined : records
  }
}
