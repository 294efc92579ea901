// The speed layer's record check when its views read known fields (view-fields.ts): the same
// predicate as eventCheck (event.ts), computed by one pass over the record's bytes that builds an
// event holding only the fields the views read (and the time field), instead of decoding the text,
// JSON.parse-ing the whole object and walking it.
//
// Exactness: the scanner answers only what it can prove; everything else goes to eventCheck:
//   - it accepts a record only when it has shown everything eventCheck would check: the bytes are
//     UTF-8, the text is one JSON object and nothing after it, no container is nested deeper than
//     maxDepth, no number is infinite as a double, no `\u` escape appears anywhere (the only way
//     to write a lone surrogate: the rest of the JSON escapes are validated and skipped in fields
//     no view reads), the size is within the limit, and the time field is present once and a valid
//     event time;
//   - the fields it extracts hold exactly what JSON.parse would give them: a string without any
//     escape (its bytes decoded as UTF-8), a number (digit by digit below 2^53, otherwise by the
//     same string-to-double conversion JSON.parse uses), true, false or null; a read field that
//     holds an object, an array, or a string with an escape, or a read field (or the time field)
//     that appears twice (JSON.parse keeps the last), goes to eventCheck, as does a field name
//     with an escape (it could spell a read field) and any record it would reject (eventCheck says
//     why, with its own message);
//   - the views are given an object with those fields' values and no others, which view-fields.ts
//     shows computes what the whole event would (a read field the record lacks is undefined in
//     both). A missing field is an own property holding undefined here, so that every event has
//     one shape: the functions analysed there read fields only as `p.f`, which cannot tell.
// test/core/projected-check.property.test.ts compares it with eventCheck on random and adversarial
// records.
//
// Shape: records from one producer mostly share their fields' order and spelling. The full scan
// remembers the shape of the last record it accepted: for each field, the bytes from the end of
// the value before (or the record's start) to its own value (whitespace, `{` or `,`, the quoted
// name, `:`), and whether a view reads it. The next record is first read against that shape: each
// such span must be the very same bytes (so the full scan would have read the same tokens and
// names, no name with an escape, no read field twice), each value is read or skipped by the full
// scan's own readValue and skipValue (which leave escapes, other kinds and nesting as the full
// scan does), the bytes after the last value must be the shape's, and the time field and UTF-8
// are checked as the full scan does. Anything else, the first byte that differs, and the record
// is scanned in full. It saves the names' scan and lookup (fieldAt) per field: ~12 % of a fold
// thread's CPU per record (decision 0011, session 16). Shapes that alternate would miss on every
// record and pay both scans: after a few misses in a row the shape path rests (scan). test/core/projected-shape.property.test.ts
// holds it to eventCheck on runs of one shape and their variants.
import { isUtf8 } from 'node:buffer'
import type { CompiledView } from './compiled-view.ts'
import { defaultEventLimits, eventCheck, type RecordCheck, type StrataEvent } from './event.ts'
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
import { SHORT_STRING, shortAscii } from './short-ascii.ts'
import { unionOfFields } from './view-fields.ts'

// Set by the scanners as they go (one thread, synchronous): whether a string had a byte >= 0x80.
// Numbers: json-bytes.ts scannedNumber.
let high = false

/** A string with no escape opened before `i`: the index of its closing quote, or -1. */
function plainStringEnd(b: Uint8Array, i: number, n: number): number {
  let h = false
  while (i < n) {
    const c = b[i]!
    if (c === QUOTE) {
      if (h) high = true
      return i
    }
    if (c === BACKSLASH || c < 0x20) return -1
    if (c >= 0x80) h = true
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
      // A \u (and anything else but a short escape) is left to eventCheck.
      if (isShortEscape(b[i + 1])) i += 2
      else return -1
    } else if (c < 0x20) return -1
    else {
      if (c >= 0x80) high = true
      i++
    }
  }
  return -1
}

/** Bytes of a record sliced as text at once for the read fields' strings (scannerFor). */
const TEXT_WINDOW = 256

interface Scanner {
  /** Scans record b[start, end): true when it is an event, its read fields then in `values`. */
  scan(b: Buffer, start: number, end: number): boolean
  values: unknown[]
  /** The fields `values` holds, in order: the fields read and the time field, sorted. */
  names: string[]
  /** The shape path's records tried and read by it (for tests: the rest after misses). */
  stats: { tries: number; hits: number }
}

/** Misses of the shape path in a row after which it rests, and for how many records (scan). */
export const SHAPE_MISSES = 8
export const SHAPE_REST = 256

/** The projected scanner for these fields, or undefined (exported for tests). */
export function scannerFor(timeField: string, fields: readonly string[]): Scanner | undefined {
  // A name the prototype has (`constructor`, `__proto__`, …) would read differently on an object
  // that lacks the field, and an object literal takes `__proto__` as its prototype: whole events.
  if ([...fields, timeField].some((name) => name in Object.prototype)) return undefined
  const { maxEventBytes, maxDepth } = defaultEventLimits
  const names = [...new Set([...fields, timeField])].sort()
  const keys = names.map((name) => Buffer.from(name, 'utf8'))
  const timeIndex = names.indexOf(timeField)
  const values: unknown[] = names.map(() => undefined)
  const seen = new Uint8Array(names.length)
  const fieldCount = names.length

  const fieldAt = (b: Uint8Array, start: number, end: number): number => {
    const length = end - start
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k]!
      if (key.length !== length) continue
      let j = 0
      while (j < length && key[j] === b[start + j]) j++
      if (j === length) return k
    }
    return -1
  }

  // Any value, validated (depth: of a container starting here, the top-level object being 1).
  const skipValue = (b: Buffer, i: number, n: number, depth: number): number => {
    const c = b[i]
    if (c === QUOTE) return skipString(b, i + 1, n)
    if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) {
      const end = skipNumber(b, i, n)
      if (end < 0) return -1
      // Up to 300 characters and no exponent cannot exceed the largest double (about 1.8e308).
      if ((scannedNumber.exponent || end - i > 300) && !Number.isFinite(Number(b.toString('latin1', i, end))))
        return -1
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
          i = skipString(b, i + 1, n)
          if (i < 0) return -1
          i = skipSpace(b, i, n)
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

  // The record's text from byte textStart to textEnd (latin1: one character per byte), sliced
  // once for the read fields' ASCII strings longer than SHORT_STRING (shorter ones are built by
  // shortAscii) of one record that lie in it, each then a substring of it.
  // Each latin1Slice is a call into C++ that cost more than the copy (one slice and two substrings
  // cost ~35 % less than two slices for the benchmark's fields, measured); the window is bounded
  // so that a large record is not copied whole for a short field. Reset per record by scan.
  // A substring of 13 characters or more is a V8 slice of the window: a string a view holds (a key
  // in the pending window's tables, until its commit) keeps the window alive, ~270 bytes, bounded
  // by that window's held strings (decision 0011, "Read strings cut from one slice").
  let text = ''
  let textStart = 0
  let textEnd = 0

  // The value of read field f at `i`, into values[f]: the index after it, or -1.
  const readValue = (b: Buffer, i: number, n: number, f: number): number => {
    const c = b[i]
    if (c === QUOTE) {
      high = false
      const end = plainStringEnd(b, i + 1, n)
      if (end < 0) return -1
      const s = b as Buffer & Slicers
      if (high) values[f] = s.utf8Slice(i + 1, end)
      else if (end - i - 1 <= SHORT_STRING) values[f] = shortAscii(b, i + 1, end - i - 1)
      else {
        // Every byte of this string is below 0x80: its characters are the same in the latin1
        // text of any span around it, whatever other bytes of the record are.
        if (i + 1 < textStart || end > textEnd) {
          textStart = i + 1
          textEnd = Math.max(end, Math.min(n, i + 1 + TEXT_WINDOW))
          text = s.latin1Slice(textStart, textEnd)
        }
        values[f] = text.substring(i + 1 - textStart, end - textStart)
      }
      return end + 1
    }
    if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) {
      const end = skipNumber(b, i, n)
      if (end < 0) return -1
      if (scannedNumber.simple) values[f] = scannedNumber.value
      else {
        const v = Number((b as Buffer & Slicers).latin1Slice(i, end))
        if (!Number.isFinite(v)) return -1
        values[f] = v
      }
      return end
    }
    if (c === undefined) return -1
    const end = skipLiteral(b, i, c)
    if (end < 0) return -1
    values[f] = c === 0x74 ? true : c === 0x66 ? false : null
    return end
  }

  // The shape of the last record the full scan accepted (see the top of this file, "Shape"): its
  // fields in order, each as the bytes before its value (from the end of the value before, or
  // the record's start: whitespace, `{` or `,`, the quoted name, `:`), the field's index in
  // `values` or -1 when no view reads it, and the bytes after the last value. Learned from
  // `seen*` below, which the full scan fills as it goes.
  const MAX_SHAPE_FIELDS = 32
  let shapeFields = 0
  const shapeField = new Int32Array(MAX_SHAPE_FIELDS)
  const shapeSepEnd = new Int32Array(MAX_SHAPE_FIELDS + 1)
  let shapeBytes = new Uint8Array(256)
  // A name with a byte >= 0x80: the record's UTF-8 is then checked whole, as the full scan does
  // (a name between quotes is whole characters, so this is caution, not a case found).
  let shapeHigh = false
  let seenFields = 0
  const seenSepStart = new Int32Array(MAX_SHAPE_FIELDS + 1)
  const seenSepEnd = new Int32Array(MAX_SHAPE_FIELDS + 1)
  const seenField = new Int32Array(MAX_SHAPE_FIELDS)
  // Records of shapes that alternate (an optional field, two producers) miss the shape record
  // after record, each miss found as late as the record's last byte and then scanned again in
  // full, the shape learned anew each time: measured up to +90 % CPU per record against no
  // shape path (decision 0011, session 16 review). After SHAPE_MISSES misses in a row the shape
  // path rests for SHAPE_REST records (not tried, nothing learned), then learns and tries again:
  // one miss per rest at most while the shapes alternate.
  let misses = 0
  let rest = 0
  const stats = { tries: 0, hits: 0 }

  // Whether b[i, i + length) is shapeBytes[from, from + length).
  const sameBytes = (b: Uint8Array, i: number, from: number, length: number): boolean => {
    for (let j = 0; j < length; j++) if (b[i + j] !== shapeBytes[from + j]) return false
    return true
  }

  // Learns the shape of record b[start, n) that the full scan just accepted.
  const learn = (b: Uint8Array): void => {
    let bytes = 0
    for (let p = 0; p <= seenFields; p++) bytes += seenSepEnd[p]! - seenSepStart[p]!
    if (bytes > shapeBytes.length) shapeBytes = new Uint8Array(bytes * 2)
    let at = 0
    let h = false
    for (let p = 0; p <= seenFields; p++) {
      for (let j = seenSepStart[p]!; j < seenSepEnd[p]!; j++) {
        const c = b[j]!
        if (c >= 0x80) h = true
        shapeBytes[at++] = c
      }
      shapeSepEnd[p] = at
      if (p < seenFields) shapeField[p] = seenField[p]!
    }
    shapeFields = seenFields
    shapeHigh = h
  }

  // The record read with the last shape: true when it is an event, its read fields in `values`,
  // as the full scan would have found; false when it is not (or not provably) of that shape,
  // and the full scan decides. Every byte is checked: a separator as the same bytes as the
  // shape's (so the same tokens and names the full scan would have read), each value by the
  // full scan's own readValue or skipValue, the rest of the record's checks as the full scan.
  const scanShaped = (b: Buffer, start: number, n: number): boolean => {
    const fields = shapeFields
    if (fields === 0) return false
    high = shapeHigh
    textStart = textEnd = 0
    for (let f = 0; f < fieldCount; f++) values[f] = undefined
    let i = start
    let from = 0
    for (let p = 0; p < fields; p++) {
      const to = shapeSepEnd[p]!
      const length = to - from
      if (i + length > n || !sameBytes(b, i, from, length)) return false
      i += length
      from = to
      const f = shapeField[p]!
      if (f < 0) i = skipValue(b, i, n, 2)
      else {
        const wasHigh: boolean = high
        i = readValue(b, i, n, f)
        high ||= wasHigh
      }
      if (i < 0) return false
    }
    const tail = shapeSepEnd[fields]! - from
    if (n - i !== tail || !sameBytes(b, i, from, tail)) return false
    if (high && !isUtf8(b.subarray(start, n))) return false
    return parseEventTime(values[timeIndex]) !== undefined
  }

  // The full scan; false when the record is left to eventCheck.
  const scanFull = (b: Buffer, start: number, n: number): boolean => {
    if (n === start || n - start > maxEventBytes) return false
    let i = skipSpace(b, start, n)
    if (b[i] !== OPEN_OBJECT) return false
    high = false
    textStart = textEnd = 0
    // A loop, not fill(): fill() is a call into the runtime, per record, for a handful of slots.
    for (let f = 0; f < fieldCount; f++) {
      seen[f] = 0
      values[f] = undefined
    }
    i = skipSpace(b, i + 1, n)
    let p = 0
    let sepStart = start
    for (;;) {
      if (b[i] !== QUOTE) return false
      const end = plainStringEnd(b, i + 1, n)
      if (end < 0) return false
      const f = fieldAt(b, i + 1, end)
      i = skipSpace(b, end + 1, n)
      if (b[i] !== COLON) return false
      i = skipSpace(b, i + 1, n)
      if (p < MAX_SHAPE_FIELDS) {
        seenSepStart[p] = sepStart
        seenSepEnd[p] = i
        seenField[p] = f
      }
      p++
      if (f < 0) i = skipValue(b, i, n, 2)
      else {
        if (seen[f] === 1) return false
        seen[f] = 1
        const wasHigh: boolean = high
        i = readValue(b, i, n, f)
        high ||= wasHigh
      }
      if (i < 0) return false
      sepStart = i
      i = skipSpace(b, i, n)
      const c = b[i]
      if (c === CLOSE_OBJECT) break
      if (c !== COMMA) return false
      i = skipSpace(b, i + 1, n)
    }
    if (skipSpace(b, i + 1, n) !== n) return false
    if (high && !isUtf8(b.subarray(start, n))) return false
    if (seen[timeIndex] !== 1 || parseEventTime(values[timeIndex]) === undefined) return false
    if (p <= MAX_SHAPE_FIELDS && rest === 0) {
      seenFields = p
      seenSepStart[p] = sepStart
      seenSepEnd[p] = n
      learn(b)
    }
    return true
  }

  const scan = (b: Buffer, start: number, n: number): boolean => {
    if (n === start || n - start > maxEventBytes) return false
    if (rest > 0) {
      rest--
      return scanFull(b, start, n)
    }
    if (shapeFields === 0) return scanFull(b, start, n)
    stats.tries++
    if (scanShaped(b, start, n)) {
      stats.hits++
      misses = 0
      return true
    }
    if (++misses >= SHAPE_MISSES) {
      // The record that ends the rest (rest back to 0) is learned; one more miss rests again.
      misses = SHAPE_MISSES - 1
      rest = SHAPE_REST
    }
    return scanFull(b, start, n)
  }
  return { scan, values, names, stats }
}

// An object literal of fixed shape (one hidden class for every event, so the views' field reads
// stay monomorphic; the batch layer's packed cursor builds its events the same way), and the
// function that refills one. The names are JSON string literals, which JavaScript reads as the
// same strings.
function literalOf(names: readonly string[]): (v: unknown[]) => StrataEvent {
  return new Function(
    'v',
    `return {${names.map((name, i) => `${JSON.stringify(name)}: v[${i}]`).join(', ')}}`,
  ) as (v: unknown[]) => StrataEvent
}

function refillOf(names: readonly string[]): (o: StrataEvent, v: unknown[]) => void {
  return new Function(
    'o',
    'v',
    names.map((name, i) => `o[${JSON.stringify(name)}] = v[${i}]`).join('\n'),
  ) as (o: StrataEvent, v: unknown[]) => void
}

/** eventCheck for views that read only `fields` (unionOfFields): each event a fresh object. */
export function projectedEventCheck(timeField: string, fields: readonly string[]): RecordCheck {
  const full = eventCheck(timeField)
  const scanner = scannerFor(timeField, fields)
  if (scanner === undefined) return full
  const { scan, values } = scanner
  const build = literalOf(scanner.names)
  return (value) => (scan(value, 0, value.length) ? { event: build(values) } : full(value))
}

/**
 * What the speed layer reads a record with: record b[start, end) is an event (returned) or not
 * (the reason, a string). The event may be one object the reader refills at its next call (when
 * the views read known fields: view-fields.ts shows they cannot keep it), so it must be folded
 * before the next record is read.
 */
export type RecordReader = (b: Buffer, start: number, end: number) => StrataEvent | string

/** The speed layer's reader for these views: projected when every view's fields are known. */
export function recordReaderFor(
  views: ReadonlyArray<CompiledView<any, any>>,
  timeField: string,
): RecordReader {
  const full = eventCheck(timeField)
  const whole = (b: Buffer, start: number, end: number): StrataEvent | string => {
    const checked = full(start === 0 && end === b.length ? b : b.subarray(start, end))
    return 'reason' in checked ? checked.reason : (checked.event as StrataEvent)
  }
  const fields = unionOfFields(views.map((v) => v.fields))
  const scanner = fields === null ? undefined : scannerFor(timeField, fields)
  if (scanner === undefined) return whole
  const { scan, values } = scanner
  const refill = refillOf(scanner.names)
  const event = literalOf(scanner.names)(values)
  return (b, start, end) => {
    if (!scan(b, start, end)) return whole(b, start, end)
    refill(event, values)
    return event
  }
}
