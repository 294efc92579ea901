// The master dataset's segment format (docs/master-dataset.md is the long form).
//
//   <root>/p0003/00000000000000001000-00000000000000002000.ndjson
//   <root>/p0003/00000000000000001000-00000000000000002000.ndjson.sha256
//
// - One folder per partition, `p` + the partition number (at least 4 digits).
// - A segment's name is its offset range, half-open [start, end), 20 digits each. The range says
//   which offsets the segment ACCOUNTS for: every offset in it is either a line of the file or a
//   gap that was never an event (a Kafka transaction marker, a dead-lettered record). Ranges of a
//   partition tile [0, nextOffset) with no gap and no overlap, so "every offset exactly once"
//   is checkable from the names alone.
// - One line per record, offsets strictly increasing, every line ending in "\n":
//     {"offset":1000,"timestamp":1764000000000,"key":"u456","event":<the event's JSON text>}
//   `timestamp` is the Kafka record timestamp (epoch ms), `key` the record key as a JSON string
//   or null. Lines the embedded log writes carry `"crc":"<8 hex>"` between key and event: the
//   CRC-32 of the event bytes, which tells a damaged acknowledged record from a torn tail in an
//   active segment (no file checksum yet; decision 0006). Lines without it stay valid. `event` is the event's own JSON text as it was accepted, byte for byte, except that
//   CR and LF bytes become spaces (in valid JSON they can only be whitespace between tokens, so
//   the event means the same, and the file stays one line per record). No re-serialization, so
//   archiving the same records again produces identical bytes.
// - The `.sha256` sidecar holds the SHA-256 of the data file in `sha256sum` format
//   ("<hex>  <file name>\n"), so `sha256sum -c p0003/*.sha256` verifies a copy. DuckDB and Spark
//   read the `*.ndjson` data files directly.
// The field order is fixed so that readers can find the event's bytes without parsing the line.
import { crc32 } from 'node:zlib'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { MAX_NUMBER_BYTES, writeAscii, writeNumber } from '../core/number-bytes.ts'

export const SEGMENT_EXTENSION = '.ndjson'
export const CHECKSUM_EXTENSION = '.sha256'
/** Derived packed encoding (packed-segment.ts): a cache, rebuilt from the NDJSON when needed. */
export const PACKED_EXTENSION = '.packed'
/** The embedded log's open segment, `<20-digit start>.active`, renamed to its range when sealed. */
export const ACTIVE_EXTENSION = '.active'
const OFFSET_DIGITS = 20

/** One record of a segment: the event JSON stays raw bytes. */
export interface SegmentRecord {
  offset: number
  /** Kafka record timestamp, epoch ms. */
  timestamp: number
  key: string | null
  /** The event's JSON text. */
  value: Buffer
}

export interface SegmentRange {
  start: number
  end: number
}

export function partitionDirName(partition: number): string {
  return 'p' + String(partition).padStart(4, '0')
}

const partitionDirPattern = /^p(\d{4,})$/

export function parsePartitionDirName(name: string): number | undefined {
  const match = partitionDirPattern.exec(name)
  return match ? Number(match[1]) : undefined
}

export function segmentFileName(range: SegmentRange): string {
  return (
    String(range.start).padStart(OFFSET_DIGITS, '0') +
    '-' +
    String(range.end).padStart(OFFSET_DIGITS, '0') +
    SEGMENT_EXTENSION
  )
}

export function activeFileName(start: number): string {
  return String(start).padStart(OFFSET_DIGITS, '0') + ACTIVE_EXTENSION
}

const activeNamePattern = /^(\d{20})\.active$/

export function parseActiveFileName(name: string): number | undefined {
  const match = activeNamePattern.exec(name)
  return match ? Number(match[1]) : undefined
}

const segmentNamePattern = /^(\d{20})-(\d{20})\.ndjson$/

export function parseSegmentFileName(name: string): SegmentRange | undefined {
  const match = segmentNamePattern.exec(name)
  if (!match) return undefined
  const range = { start: Number(match[1]), end: Number(match[2]) }
  return range.end > range.start ? range : undefined
}

const CR = 0x0d
const LF = 0x0a
const SPACE = 0x20

/** The event text as stored: CR/LF become spaces (a copy only when there are any). */
export function storedEventBytes(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value
  if (!hasLineBreak(bytes)) return bytes
  const copy = Buffer.from(bytes)
  for (let i = 0; i < copy.length; i++) if (copy[i] === LF || copy[i] === CR) copy[i] = SPACE
  return copy
}

// An event of a few dozen bytes is looked through in JavaScript: two indexOf calls into C++ a
// record cost the archiver more than the bytes (BENCHMARKS.md, Ingest, session 15).
function hasLineBreak(bytes: Buffer): boolean {
  if (bytes.length > 256) return bytes.indexOf(LF) !== -1 || bytes.indexOf(CR) !== -1
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!
    if (c === LF || c === CR) return true
  }
  return false
}

/**
 * The line of one record, "\n" included. `record.value` must already be valid JSON. With `crc`
 * (the embedded log) the line carries the CRC-32 of the event bytes.
 */
export function encodeRecordLine(record: SegmentRecord, crc = false): Buffer {
  const event = storedEventBytes(record.value)
  const line = Buffer.allocUnsafe(maxRecordLineBytes(record, crc))
  return line.subarray(0, writeLine(line, 0, record, event, crc))
}

/**
 * Writes the line of one record (what encodeRecordLine returns) into `out` at `at`, which must
 * have room for maxRecordLineBytes(record) bytes there: the index after it. `stored` is
 * storedEventBytes(record.value), which the caller has.
 */
export function writeRecordLine(out: Buffer, at: number, record: SegmentRecord, stored: Buffer): number {
  return writeLine(out, at, record, stored, false)
}

// {"offset":<offset>,"timestamp":<timestamp>,"key":<key JSON>[,"crc":"<hex>"],"event":<event>}\n,
// the numbers and the fixed parts written into the buffer as they go: a string of the head a
// record, and its write into the buffer, cost more than the line's bytes.
function writeLine(line: Buffer, at: number, record: SegmentRecord, event: Buffer, crc: boolean): number {
  at = writeAscii(line, at, HEAD)
  at = writeNumber(line, at, record.offset)
  at = writeAscii(line, at, TIMESTAMP)
  at = writeNumber(line, at, record.timestamp)
  at = writeAscii(line, at, KEY)
  at =
    record.key === null ? writeAscii(line, at, NULL) : at + line.write(JSON.stringify(record.key), at, 'utf8')
  if (crc) {
    at = writeAscii(line, at, CRC)
    // Hex digits written in place: formatting a string per record would cost more than the CRC.
    const value = crc32(event)
    for (let shift = 28; shift >= 0; shift -= 4) line[at++] = HEX[(value >>> shift) & 0xf]!
    line[at++] = 0x22 // "
  }
  at = writeAscii(line, at, EVENT)
  line.set(event, at)
  at += event.length
  line[at++] = 0x7d // }
  line[at++] = LF
  return at
}

const HEX = Buffer.from('0123456789abcdef')

/**
 * An upper bound on the line's length whatever its offset (room is reserved before offsets are
 * assigned), cheap to compute: MAX_NUMBER_BYTES for the offset and the timestamp, 6 bytes per
 * UTF-16 unit of the key (a \uXXXX escape is the longest it can become).
 */
export function maxRecordLineBytes(record: Omit<SegmentRecord, 'offset'>, crc = false): number {
  const key = record.key === null ? 4 : 6 * record.key.length + 2
  // {"offset": ,"timestamp": ,"key": ,"event": } and \n, plus ,"crc":"<8 hex>", and the two numbers
  return 46 + 2 * MAX_NUMBER_BYTES + key + (crc ? 17 : 0) + record.value.length
}

/** Where the parts of one line are, found without parsing the event. */
export interface LineFields {
  offset: number
  timestamp: number
  /** Byte range of the key's JSON (a string literal or `null`). */
  keyStart: number
  keyEnd: number
  /** The CRC-32 the line carries for its event, or -1 (a line without one). */
  crc: number
  /** Byte range of the event's JSON text. */
  eventStart: number
  eventEnd: number
}

const HEAD = Buffer.from('{"offset":')
const TIMESTAMP = Buffer.from(',"timestamp":')
const KEY = Buffer.from(',"key":')
const EVENT = Buffer.from(',"event":')
const CRC = Buffer.from(',"crc":"')
const NULL = Buffer.from('null')

function expect(buf: Buffer, at: number, literal: Buffer, lineStart: number): number {
  for (let i = 0; i < literal.length; i++) {
    if (buf[at + i] !== literal[i]) throw malformed(buf, lineStart)
  }
  return at + literal.length
}

function malformed(buf: Buffer, lineStart: number): StrataError {
  const preview = buf.subarray(lineStart, Math.min(buf.length, lineStart + 60)).toString()
  return new StrataError(
    ErrorCodes.SEGMENT_CORRUPT,
    `malformed segment line at byte ${lineStart}: ${preview}`,
  )
}

/**
 * Reads the fixed envelope of the line in buf[start, end) (end excludes the "\n"). The event's
 * JSON itself is not checked: the segment checksum vouches for sealed data.
 */
export function scanLine(buf: Buffer, start: number, end: number, out: LineFields): LineFields {
  let at = expect(buf, start, HEAD, start)
  let offset = 0
  let c = buf[at]
  if (c === undefined || c < 0x30 || c > 0x39) throw malformed(buf, start)
  while (c !== undefined && c >= 0x30 && c <= 0x39) {
    offset = offset * 10 + (c - 0x30)
    c = buf[++at]
  }
  at = expect(buf, at, TIMESTAMP, start)
  let timestamp = 0
  c = buf[at]
  const negative = c === 0x2d
  if (negative) c = buf[++at]
  if (c === undefined || c < 0x30 || c > 0x39) throw malformed(buf, start)
  while (c !== undefined && c >= 0x30 && c <= 0x39) {
    timestamp = timestamp * 10 + (c - 0x30)
    c = buf[++at]
  }
  at = expect(buf, at, KEY, start)
  const keyStart = at
  if (buf[at] === 0x22) {
    // A JSON string: skip to the closing quote, stepping over escapes.
    at++
    while (at < end && buf[at] !== 0x22) at += buf[at] === 0x5c ? 2 : 1
    if (at >= end) throw malformed(buf, start)
    at++
  } else {
    at = expect(buf, at, NULL, start)
  }
  const keyEnd = at
  let crc = -1
  if (buf[at + 2] === 0x63 /* c */) {
    at = expect(buf, at, CRC, start)
    const hex = buf.toString('latin1', at, at + 8)
    if (!/^[0-9a-f]{8}$/.test(hex) || buf[at + 8] !== 0x22) throw malformed(buf, start)
    crc = Number.parseInt(hex, 16)
    at += 9
  }
  at = expect(buf, at, EVENT, start)
  if (end - 1 <= at || buf[end - 1] !== 0x7d) throw malformed(buf, start)
  out.offset = offset
  out.timestamp = negative ? -timestamp : timestamp
  out.keyStart = keyStart
  out.keyEnd = keyEnd
  out.crc = crc
  out.eventStart = at
  out.eventEnd = end - 1
  return out
}

export function newLineFields(): LineFields {
  return { offset: 0, timestamp: 0, keyStart: 0, keyEnd: 0, crc: -1, eventStart: 0, eventEnd: 0 }
}

/**
 * Checks what scanLine leaves alone (for lines no file checksum vouches for: the active
 * segment): the event is valid JSON and matches the line's CRC-32 when it has one.
 */
export function checkLine(buf: Buffer, fields: LineFields): void {
  const event = buf.subarray(fields.eventStart, fields.eventEnd)
  if (fields.crc !== -1 && crc32(event) !== fields.crc) {
    throw new StrataError(ErrorCodes.SEGMENT_CORRUPT, `event of offset ${fields.offset} fails its CRC-32`)
  }
  JSON.parse(event.toString('utf8'))
}

/** The key of a scanned line, decoded. */
export function lineKey(buf: Buffer, fields: LineFields): string | null {
  if (buf[fields.keyStart] !== 0x22) return null
  // Most keys have no escapes: slice between the quotes instead of JSON.parse.
  for (let i = fields.keyStart + 1; i < fields.keyEnd - 1; i++) {
    if (buf[i] === 0x5c) return JSON.parse(buf.toString('utf8', fields.keyStart, fields.keyEnd)) as string
  }
  return buf.toString('utf8', fields.keyStart + 1, fields.keyEnd - 1)
}
