import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCodes, type StrataError } from '../../src/core/errors.ts'
import { eventCheck } from '../../src/core/event.ts'
import { BatchRejected, decodeInput, parseEvents } from '../../src/ingest/parse.ts'

const ts = 1764000000000
const line = (fields: object) => JSON.stringify({ type: 'page_view', url: '/a', user: 'u1', ts, ...fields })

test('NDJSON lines become events that keep their own text', () => {
  const body = `${line({ url: '/a' })}\n\n${line({ url: '/b' })}\r\n`
  const events = parseEvents(body, { timeField: 'ts' })
  assert.deepEqual(
    events.map((e) => [e.event.url, e.line]),
    [
      ['/a', 1],
      ['/b', 3],
    ],
  )
  assert.equal(events[1].text, line({ url: '/b' }))
})

test('one pretty-printed object is one event', () => {
  const events = parseEvents(JSON.stringify({ url: '/x', ts }, null, 2), { timeField: 'ts' })
  assert.equal(events.length, 1)
  assert.equal(events[0].text, JSON.stringify({ url: '/x', ts }))
})

test('a pretty-printed object is kept as it was spelled, only the whitespace between tokens dropped', () => {
  const body = `{\r\n  "ts" : ${ts},\n\t"id": 12345678901234567890,\n  "v": 1.0, "e": 1E3,\n  "s": "a  b\\" \\n c",\n  "o": { "x": [ 1 , 2 ] }\n}\n`
  const [event] = parseEvents(body, { timeField: 'ts' })
  assert.equal(
    event.text,
    `{"ts":${ts},"id":12345678901234567890,"v":1.0,"e":1E3,"s":"a  b\\" \\n c","o":{"x":[1,2]}}`,
  )
  assert.deepEqual(JSON.parse(event.text), JSON.parse(body))
})

test('ISO-8601 event times are accepted; other strings are not', () => {
  assert.equal(parseEvents(line({ ts: '2025-11-24T15:00:00Z' }), { timeField: 'ts' }).length, 1)
  assert.equal(parseEvents(line({ ts: '2025-11-24T15:00:00.123+01:00' }), { timeField: 'ts' }).length, 1)
  for (const bad of ['March 7', '2024', 'yesterday', '2025-13-45T99:00:00Z']) {
    assert.throws(
      () => parseEvents(line({ ts: bad }), { timeField: 'ts' }),
      (error: StrataError) => error.code === ErrorCodes.INVALID_EVENT_TIME && error.line === 1,
      bad,
    )
  }
})

test('a bad line rejects the batch and names the line and code', () => {
  const cases: Array<[string, string]> = [
    ['not json', ErrorCodes.INVALID_JSON],
    ['[1,2]', ErrorCodes.INVALID_EVENT],
    ['"text"', ErrorCodes.INVALID_EVENT],
    [JSON.stringify({ url: '/a' }), ErrorCodes.INVALID_EVENT_TIME],
    [line({ ts: -5 }), ErrorCodes.INVALID_EVENT_TIME],
    [line({ ts: 1.5 }), ErrorCodes.INVALID_EVENT_TIME],
  ]
  for (const [bad, code] of cases) {
    const body = [line({}), line({}), bad, line({})].join('\n')
    assert.throws(
      () => parseEvents(body, { timeField: 'ts' }),
      (error: StrataError) => error.code === code && error.line === 3 && error.status === 400,
      bad,
    )
  }
})

test('the event-time field is the one the source names', () => {
  const body = JSON.stringify({ at: ts })
  assert.equal(parseEvents(body, { timeField: 'at' }).length, 1)
  assert.throws(() => parseEvents(body, { timeField: 'ts' }), { code: ErrorCodes.INVALID_EVENT_TIME })
})

test('size, depth and count limits', () => {
  const limits = { maxEventBytes: 100, maxDepth: 3 }
  assert.throws(() => parseEvents(line({ pad: 'x'.repeat(200) }), { timeField: 'ts', limits }), {
    code: ErrorCodes.EVENT_TOO_LARGE,
    status: 413,
  })
  assert.throws(
    () => parseEvents(JSON.stringify({ ts, a: { b: { c: { d: 1 } } } }), { timeField: 'ts', limits }),
    {
      code: ErrorCodes.INVALID_EVENT,
    },
  )
  const three = [line({}), line({}), line({})].join('\n')
  assert.throws(() => parseEvents(three, { timeField: 'ts', maxEvents: 2 }), {
    code: ErrorCodes.BATCH_TOO_LARGE,
    line: 3,
  })
})

test('an empty body is an error, not an empty success', () => {
  assert.throws(() => parseEvents('\n \n', { timeField: 'ts' }), { code: ErrorCodes.EMPTY_BATCH })
})

test('maxErrors collects several bad lines for the CLI', () => {
  const body = ['x', line({}), '{"ts":"no"}', line({})].join('\n')
  assert.throws(
    () => parseEvents(body, { timeField: 'ts', maxErrors: 10 }),
    (error: BatchRejected) =>
      error instanceof BatchRejected && error.errors.map((e) => e.line).join(',') === '1,3',
  )
})

test('invalid UTF-8 is rejected with its line, not replaced by U+FFFD and accepted', () => {
  const bad = Buffer.concat([
    Buffer.from(`${line({})}\n{"ts":${ts},"u":"`),
    Buffer.from([0xc3, 0x28]),
    Buffer.from('"}'),
  ])
  assert.throws(() => decodeInput(bad), { code: ErrorCodes.INVALID_JSON, line: 2, status: 400 })
  // The log's predicate agrees: the archiver dead-letters such a record and the speed layer skips it.
  assert.deepEqual(eventCheck('ts')(Buffer.from([0x7b, 0xff, 0x7d])), {
    reason: 'not UTF-8 [STRATA_ERR_INVALID_JSON]',
  })
})

test('a leading byte-order mark is dropped (RFC 8259 allows it)', () => {
  assert.equal(parseEvents(decodeInput(Buffer.from(`\uFEFF${line({})}`)), { timeField: 'ts' }).length, 1)
})

test('a pretty-printed object nested thousands deep is a 400, not a stack overflow', () => {
  const deep = `{\n"ts": ${ts}, "a": ${'['.repeat(50_000)}${']'.repeat(50_000)}}`
  assert.throws(() => parseEvents(deep, { timeField: 'ts' }), { code: ErrorCodes.INVALID_EVENT, line: 1 })
})

test('event times from 1970 to 9999, the same range as numbers and as ISO-8601', () => {
  for (const good of [0, '9999-12-31T23:59:59.999Z', Date.UTC(9999, 11, 31, 23, 59, 59, 999)]) {
    assert.equal(parseEvents(line({ ts: good }), { timeField: 'ts' }).length, 1, String(good))
  }
  for (const bad of ['0001-01-01T00:00:00Z', '1969-12-31T23:59:59Z', 253402300800000, 1e20, -1e20]) {
    assert.throws(() => parseEvents(line({ ts: bad }), { timeField: 'ts' }), {
      code: ErrorCodes.INVALID_EVENT_TIME,
      line: 1,
    })
  }
})

// Issue 12, item 2: values no store, sketch or JSON answer can carry are refused at the edge
// (400 with the line), and dead-lettered by the archiver / skipped by the speed layer (one check).
test('lone surrogate escapes and numbers beyond a double are refused with their line', () => {
  const bad = [
    `{"ts":${ts},"url":"/s\\ud800"}`,
    `{"ts":${ts},"url":"/s\\udc01x"}`,
    `{"ts":${ts},"\\ud801":1}`,
    `{"ts":${ts},"n":1e400}`,
    `{"ts":${ts},"n":-1e400}`,
    `{"ts":${ts},"a":[{"n":${'9'.repeat(400)}}]}`,
  ]
  for (const text of bad) {
    assert.throws(
      () => parseEvents(`${line({})}\n${text}`, { timeField: 'ts' }),
      (error: StrataError) => error.code === ErrorCodes.INVALID_EVENT && error.line === 2,
      text,
    )
    assert.ok('reason' in eventCheck('ts')(Buffer.from(text)), text)
  }
  // A pretty-printed single object goes the same way.
  assert.throws(() => parseEvents(`{\n"ts": ${ts},\n"url": "\\ud800"\n}`, { timeField: 'ts' }), {
    code: ErrorCodes.INVALID_EVENT,
  })
  // Pairs are fine, escaped or not, and so are large finite numbers.
  for (const text of [
    `{"ts":${ts},"url":"/\\ud83d\\ude00"}`,
    `{"ts":${ts},"url":"/😀"}`,
    `{"ts":${ts},"n":1e308}`,
  ]) {
    assert.equal(parseEvents(text, { timeField: 'ts' }).length, 1, text)
    assert.ok('event' in eventCheck('ts')(Buffer.from(text)), text)
  }
})

test("a broken NDJSON line is named by its line in the body and its column, not V8's line 1", () => {
  const body = `${line({ url: '/a' })}\n{"ts":2\n`
  assert.throws(
    () => parseEvents(body, { timeField: 'ts' }),
    (error: StrataError) => {
      assert.equal(error.code, ErrorCodes.INVALID_JSON)
      assert.equal(error.line, 2)
      assert.match(error.message, /^line 2 is not valid JSON: .* at column 8$/)
      assert.doesNotMatch(error.message, /line 1/)
      return true
    },
  )
})

test('a JSON array of events is refused with how to send several: NDJSON, one object per line', () => {
  assert.throws(
    () => parseEvents(JSON.stringify([{ ts }, { ts }]), { timeField: 'ts' }),
    (error: StrataError) => {
      assert.equal(error.code, ErrorCodes.INVALID_EVENT)
      assert.equal(error.line, 1)
      assert.match(
        error.message,
        /got an array on line 1 \(several events are sent as NDJSON: one object per line/,
      )
      return true
    },
  )
})
