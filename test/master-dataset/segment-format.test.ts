import assert from 'node:assert/strict'
import { test } from 'node:test'
import { crc32 } from 'node:zlib'
import fc from 'fast-check'
import { SegmentBuilder } from '../../src/master-dataset/segment-builder.ts'
import {
  encodeRecordLine,
  lineKey,
  newLineFields,
  parseSegmentFileName,
  partitionDirName,
  scanLine,
  segmentFileName,
} from '../../src/master-dataset/segment-format.ts'

test('segment names carry the half-open offset range and parse back', () => {
  const name = segmentFileName({ start: 1000, end: 2000 })
  assert.equal(name, '00000000000000001000-00000000000000002000.ndjson')
  assert.deepEqual(parseSegmentFileName(name), { start: 1000, end: 2000 })
  assert.equal(parseSegmentFileName('00000000000000002000-00000000000000002000.ndjson'), undefined)
  assert.equal(parseSegmentFileName('x.ndjson'), undefined)
  assert.equal(partitionDirName(3), 'p0003')
  assert.equal(partitionDirName(12345), 'p12345')
})

test('a line is JSON with the raw event bytes, and scanLine finds its parts', () => {
  const raw = '{"url":"/a", "n":1.50,\n"user":"\\u00e9"}'
  const line = encodeRecordLine({ offset: 42, timestamp: 7, key: 'k"\\x', value: Buffer.from(raw) })
  assert.equal(line.at(-1), 0x0a)
  assert.equal(line.indexOf(0x0a), line.length - 1, 'one line per record')
  const parsed = JSON.parse(line.toString())
  assert.deepEqual(parsed, {
    offset: 42,
    timestamp: 7,
    key: 'k"\\x',
    event: { url: '/a', n: 1.5, user: 'é' },
  })
  const fields = scanLine(line, 0, line.length - 1, newLineFields())
  assert.equal(fields.offset, 42)
  assert.equal(fields.timestamp, 7)
  assert.equal(lineKey(line, fields), 'k"\\x')
  // The event text is kept byte for byte (number formatting, escapes), newline turned into a space.
  assert.equal(line.toString('utf8', fields.eventStart, fields.eventEnd), raw.replace('\n', ' '))
})

test('a null key and a malformed line', () => {
  const line = encodeRecordLine({ offset: 0, timestamp: 1, key: null, value: Buffer.from('{}') })
  const fields = scanLine(line, 0, line.length - 1, newLineFields())
  assert.equal(lineKey(line, fields), null)
  const bad = Buffer.from('{"offset":1,"timestamp":2,"kex":null,"event":{}}')
  assert.throws(() => scanLine(bad, 0, bad.length, newLineFields()), { code: 'STRATA_ERR_SEGMENT_CORRUPT' })
})

test('SegmentBuilder: its NDJSON is the records encodeRecordLine writes, one after another, past its first buffer', () => {
  const builder = new SegmentBuilder()
  const lines: Buffer[] = []
  const keys = [null, 'u1', 'é😀', '\ud800', 'a"b\\c', '']
  for (let i = 0; i < 3000; i++) {
    const text =
      i % 7 === 0
        ? `{"ts":${i},\r\n"pad":"${'x'.repeat(i % 300)}"}`
        : `{"ts":${i},"k":"${'é'.repeat(i % 50)}"}`
    const record = {
      offset: 5 + i * 2,
      timestamp: 1_765_000_000_000 + i,
      key: keys[i % keys.length]!,
      value: Buffer.from(text),
    }
    builder.add(record)
    lines.push(encodeRecordLine(record))
  }
  const want = Buffer.concat(lines)
  assert.ok(want.length > 64 * 1024)
  assert.equal(builder.records, 3000)
  assert.equal(builder.bytes, want.length)
  assert.ok(builder.data().equals(want))
})

test('SegmentBuilder: a view data() handed out keeps its bytes while more records are added, in place or into a grown buffer', () => {
  // Keys at the bound's worst case (6 bytes a UTF-16 unit), timestamps of 20 characters, lines
  // that fill the buffer to its last byte or just past it.
  const keyOf = fc.oneof(
    fc.constant(null),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.integer({ min: 0, max: 3000 }).map((n) => '\u0001'.repeat(n)),
    fc.integer({ min: 0, max: 500 }).map((n) => '\ud800'.repeat(n)),
  )
  const recordOf = fc.record({
    key: keyOf,
    timestamp: fc.constantFrom(-1, 0, 1_765_000_000_000, -(2 ** 63), 2 ** 63, 1e21),
    pad: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 70_000 })),
    crlf: fc.boolean(),
    view: fc.boolean(),
  })
  fc.assert(
    fc.property(fc.array(recordOf, { minLength: 1, maxLength: 40 }), (records) => {
      const builder = new SegmentBuilder()
      const lines: Buffer[] = []
      const views: Array<[Buffer, Buffer]> = []
      for (const [i, r] of records.entries()) {
        const text = `{"ts":${i},${r.crlf ? '\r\n' : ''}"p":"${'x'.repeat(r.pad)}"}`
        const record = {
          offset: 2 ** 53 - 1 - (records.length - i),
          timestamp: r.timestamp,
          key: r.key,
          value: Buffer.from(text),
        }
        builder.add(record)
        lines.push(encodeRecordLine(record))
        if (r.view) {
          const view = builder.data()
          views.push([view, Buffer.from(view)])
        }
      }
      assert.ok(builder.data().equals(Buffer.concat(lines)))
      for (const [view, copy] of views) assert.ok(view.equals(copy), 'a view handed out changed')
    }),
    { numRuns: 150 },
  )
})

test('a line is the text its format spells: the numbers as String(n), the key as JSON.stringify, CR/LF made spaces, with and without its CRC', () => {
  // Written into the buffer byte by byte (writeNumber, no head string): any offset or timestamp
  // spelled otherwise would be a different line for the same record (a changed segment checksum,
  // or a line scanLine reads back as another record).
  const spelled = (
    r: { offset: number; timestamp: number; key: string | null; value: Buffer },
    crc: boolean,
  ) => {
    const event = Buffer.from(r.value.toString('latin1').replace(/[\r\n]/g, ' '), 'latin1')
    const hex = crc ? `,"crc":"${crc32(event).toString(16).padStart(8, '0')}"` : ''
    const key = r.key === null ? 'null' : JSON.stringify(r.key)
    return Buffer.concat([
      Buffer.from(`{"offset":${r.offset},"timestamp":${r.timestamp},"key":${key}${hex},"event":`),
      event,
      Buffer.from('}\n'),
    ])
  }
  const recordOf = fc.record({
    offset: fc.oneof(fc.maxSafeInteger().map(Math.abs), fc.integer({ min: 0, max: 1000 })),
    timestamp: fc.oneof(
      fc.integer({ min: 0, max: 2_000_000_000_000 }),
      fc.constantFrom(-1, 0, 9, 10, -(2 ** 63), 2 ** 63, 1e21, 1.5),
      fc.maxSafeInteger(),
    ),
    key: fc.oneof(fc.constant(null), fc.string({ unit: 'binary', maxLength: 20 })),
    value: fc
      .array(fc.constantFrom('{', '}', '"a"', ':', '1', '\r', '\n', ' ', 'é', '\u2028', 'x'.repeat(300)), {
        maxLength: 30,
      })
      .map((parts) => Buffer.from(parts.join(''))),
  })
  fc.assert(
    fc.property(fc.array(recordOf, { minLength: 1, maxLength: 20 }), (records) => {
      const builder = new SegmentBuilder()
      let offset = 0
      const lines: Buffer[] = []
      for (const r of records) {
        const record = { ...r, offset: offset + r.offset }
        offset = record.offset + 1
        if (!Number.isSafeInteger(offset)) break
        assert.ok(encodeRecordLine(record).equals(spelled(record, false)))
        assert.ok(encodeRecordLine(record, true).equals(spelled(record, true)))
        builder.add(record, null)
        lines.push(spelled(record, false))
      }
      assert.ok(builder.data().equals(Buffer.concat(lines)))
    }),
    { numRuns: 300 },
  )
})
