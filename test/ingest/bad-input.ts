// Arbitraries for issue 7's bad-input properties, shared by the HTTP edge (POST /events) and the
// CLI (`strata produce`), which must agree: one malformed line among good ones, in every class
// the validator knows, with the code and status it must be answered with and the line it is on.
import fc from 'fast-check'
import { ErrorCodes } from '../../src/core/errors.ts'
import { defaultEventLimits, maxEventTime } from '../../src/core/event.ts'

export interface GoodEvent {
  type: string
  url: string
  user: string
  ts: number | string
}

export const goodEvent: fc.Arbitrary<GoodEvent> = fc
  .record({
    type: fc.constantFrom('page_view', 'click'),
    url: fc.constantFrom('/a', '/b', '/ü/日本', '/"quoted"'),
    user: fc.string({ maxLength: 8 }),
    ts: fc.oneof(
      fc.integer({ min: 0, max: maxEventTime }),
      fc.constantFrom('2025-11-24T15:00:00Z', '9999-12-31T23:59:59.999Z', '1970-01-01'),
    ),
  })
  .map((e) => ({ ...e })) // plain objects: fc.record may build them without a prototype

/** One bad line: its bytes, and the code and status it must be rejected with. */
export interface BadLine {
  kind: string
  bytes: Buffer
  code: string
  status: number
}

const event = (fields: object) =>
  JSON.stringify({ type: 'page_view', url: '/a', user: 'u', ts: 1, ...fields })
const bad =
  (kind: string, code: string, status = 400) =>
  (text: string | Buffer) => ({
    kind,
    bytes: Buffer.isBuffer(text) ? text : Buffer.from(text),
    code,
    status,
  })
const notJson = (s: string) => {
  try {
    JSON.parse(s)
    return false
  } catch {
    return true
  }
}

export const badLine: fc.Arbitrary<BadLine> = fc.oneof(
  // Not JSON at all (no line breaks: the line is the unit of NDJSON).
  fc
    .string({ minLength: 1, maxLength: 40 })
    .filter((s) => !/[\r\n]/.test(s) && s.trim() !== '' && notJson(s))
    .map(bad('not JSON', ErrorCodes.INVALID_JSON)),
  fc
    .constantFrom('{"ts": NaN}', '{"ts":1764000000000', "{'ts':1}", '{"ts":1}}')
    .map(bad('broken JSON', ErrorCodes.INVALID_JSON)),
  // JSON that is not an object.
  fc
    .oneof(
      fc.integer(),
      fc.string({ maxLength: 10 }),
      fc.array(fc.integer(), { maxLength: 3 }),
      fc.constantFrom(null, true),
    )
    .map((v) => JSON.stringify(v))
    .filter((s) => s.trim() !== '')
    .map(bad('not an object', ErrorCodes.INVALID_EVENT)),
  // Wrong types or values in the event-time field, or none.
  fc
    .oneof(
      fc.constantFrom(
        null,
        true,
        {},
        [],
        '',
        'yesterday',
        'NaN',
        '2024',
        '0001-01-01T00:00:00Z',
        '1969-12-31T23:59:59Z',
        '10000-01-01T00:00:00Z',
        // Impossible calendar days and clock times (issue 11): Date.parse shifted these.
        '2026-02-30',
        '2026-13-01T00:00Z',
        '2025-02-29T12:00:00Z',
        '2026-01-01T24:00',
        '2026-01-01T12:61Z',
        '2026-01-01T23:59:60Z',
        1e20,
        -1e20,
        -1,
        1.5,
        maxEventTime + 1,
      ),
      fc.string({ maxLength: 12 }).filter((s) => !/^\d{4}-\d{2}-\d{2}/.test(s)),
      fc.double({ noNaN: true }).filter((d) => !Number.isSafeInteger(d) || d < 0 || d > maxEventTime),
    )
    .map((ts) => event({ ts }))
    .map(bad('bad event time', ErrorCodes.INVALID_EVENT_TIME)),
  fc
    .constant(JSON.stringify({ type: 'page_view', url: '/a' }))
    .map(bad('no event time', ErrorCodes.INVALID_EVENT_TIME)),
  // Nested deeper than the limit.
  fc
    .integer({ min: defaultEventLimits.maxDepth + 1, max: 5000 })
    // As text: JSON.stringify of thousands of levels can overflow the stack of the test itself.
    .map((depth) => `{"ts":1764000000000,"deep":${'['.repeat(depth)}${']'.repeat(depth)}}`)
    .map(bad('too deep', ErrorCodes.INVALID_EVENT)),
  // A field over the event size limit.
  fc
    .integer({ min: 1, max: 4096 })
    .map((extra) => event({ pad: 'x'.repeat(defaultEventLimits.maxEventBytes + extra) }))
    .map(bad('too large', ErrorCodes.EVENT_TOO_LARGE, 413)),
  // Invalid UTF-8 inside an otherwise good event.
  fc
    .constantFrom(
      [0xff],
      [0xc3, 0x28],
      [0xe2, 0x82],
      [0xed, 0xa0, 0x80],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0x80],
    )
    .map((b) =>
      Buffer.concat([Buffer.from('{"ts":1764000000000,"url":"'), Buffer.from(b), Buffer.from('"}')]),
    )
    .map(bad('invalid UTF-8', ErrorCodes.INVALID_JSON)),
)

/** A body of good lines around one bad line, and the 1-based line the bad one is on. */
export interface BadBatch {
  body: Buffer
  line: number
  bad: BadLine
  goodBefore: number
}

export const badBatch: fc.Arbitrary<BadBatch> = fc
  .record({
    before: fc.array(
      fc.oneof(
        goodEvent.map((e) => JSON.stringify(e)),
        fc.constantFrom('', '  '),
      ),
      {
        maxLength: 8,
      },
    ),
    bad: badLine,
    after: fc.array(
      goodEvent.map((e) => JSON.stringify(e)),
      { maxLength: 8 },
    ),
    eol: fc.constantFrom('\n', '\r\n'),
    trailing: fc.boolean(),
    bom: fc.boolean(),
  })
  .map(({ before, bad, after, eol, trailing, bom }) => {
    const parts: Buffer[] = []
    if (bom) parts.push(Buffer.from('\uFEFF'))
    for (const line of before) parts.push(Buffer.from(line + eol))
    parts.push(bad.bytes)
    for (const line of after) parts.push(Buffer.from(eol + line))
    if (trailing) parts.push(Buffer.from(eol))
    return {
      body: Buffer.concat(parts),
      line: before.length + 1,
      bad,
      goodBefore: before.filter((l) => l.trim() !== '').length,
    }
  })

/** A valid batch: NDJSON (LF or CRLF, blank lines, BOM) or one pretty-printed object. */
export const goodBatch: fc.Arbitrary<{ body: Buffer; events: GoodEvent[] }> = fc.oneof(
  fc
    .record({
      events: fc.array(goodEvent, { minLength: 1, maxLength: 40 }),
      eol: fc.constantFrom('\n', '\r\n'),
      blankEvery: fc.integer({ min: 0, max: 5 }),
      bom: fc.boolean(),
    })
    .map(({ events, eol, blankEvery, bom }) => {
      const lines = events.flatMap((e, i) =>
        blankEvery > 0 && i % blankEvery === 0 ? ['', JSON.stringify(e)] : [JSON.stringify(e)],
      )
      return { body: Buffer.from((bom ? '\uFEFF' : '') + lines.join(eol) + eol), events }
    }),
  goodEvent.map((e) => ({ body: Buffer.from(JSON.stringify(e, null, 2)), events: [e] })),
)
