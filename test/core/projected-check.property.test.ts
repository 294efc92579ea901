// The projected record check (src/core/projected-check.ts) against eventCheck, the whole-event
// parse it stands in for: on random and adversarial records (escapes, unicode, numbers in every
// JSON form, missing, extra and duplicate fields, nesting, non-objects, invalid JSON and UTF-8,
// oversized records), a record one rejects the other rejects with the same reason, and a record
// both accept has the same values in every field the views read, and folds into the same deltas
// and view errors.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { type CompiledView, compileView } from '../../src/core/compiled-view.ts'
import { eventCheck, type RecordCheck, type StrataEvent } from '../../src/core/event.ts'
import { count } from '../../src/core/monoids/count.ts'
import { distinctCount } from '../../src/core/monoids/distinct-count.ts'
import { sum } from '../../src/core/monoids/sum.ts'
import { projectedEventCheck, type RecordReader, recordReaderFor } from '../../src/core/projected-check.ts'
import { view } from '../../src/core/view.ts'
import { tumbling } from '../../src/core/window.ts'
import { PendingWindow } from '../../src/speed/pending-window.ts'
import { KEY_TEXTS, NOW, space, valueText } from '../helpers/json-texts.ts'

// A record as the producers write it, or close to it.
const objectText = fc
  .tuple(
    fc.array(fc.tuple(space, fc.constantFrom(...KEY_TEXTS), space, space, valueText, space), {
      maxLength: 7,
    }),
    space,
    space,
  )
  .map(
    ([members, before, after]) =>
      `${before}{${members.map(([a, k, b, c, v, d]) => `${a}${k}${b}:${c}${v}${d}`).join(',')}}${after}`,
  )

// A well-formed event with the usual fields, often valid: most of what the speed layer reads.
const eventText = fc
  .record(
    {
      type: fc.constantFrom('page_view', 'click', 'é', ''),
      url: fc.constantFrom('/p/1', '/p/2', '/p/é', '/p/😀', '/p/"q"'),
      user: fc.constantFrom('u1', 'u2', 'u3'),
      ts: fc.integer({ min: NOW - 86_400_000 * 3, max: NOW }),
      x: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant('7')),
      extra: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: ['ts'] },
  )
  .map((e) => JSON.stringify(e))

// Damage done to a record's text or bytes.
const damaged = fc
  .tuple(fc.oneof(objectText, eventText), fc.nat(), fc.constantFrom('cut', 'byte', 'prefix', 'suffix', 'dup'))
  .map(([text, at, how]) => {
    const bytes = Buffer.from(text)
    const i = bytes.length === 0 ? 0 : at % bytes.length
    switch (how) {
      case 'cut':
        return bytes.subarray(0, i)
      case 'byte':
        return Buffer.concat([
          bytes.subarray(0, i),
          Buffer.from([[0xff, 0xc3, 0x80, 0x00, 0x22, 0x5c][at % 6]!]),
          bytes.subarray(i),
        ])
      case 'prefix':
        return Buffer.concat([Buffer.from(['\ufeff', 'x', '[', ' '][at % 4]!), bytes])
      case 'suffix':
        return Buffer.concat([bytes, Buffer.from([',', '}', ' x', '\n{}'][at % 4]!)])
      default:
        // A field repeated: JSON.parse keeps the last.
        return Buffer.from(text.replace(/^\s*\{/, `{"ts":${NOW},"url":"/p/dup",`))
    }
  })

const topLevel = fc.constantFrom(
  '',
  '[]',
  '1',
  '"x"',
  'null',
  'true',
  '{}',
  ' ',
  '{"ts":1}{"ts":1}',
  '{"ts":1}x',
)

const record = fc.oneof(
  { arbitrary: eventText.map((t) => Buffer.from(t)), weight: 4 },
  { arbitrary: objectText.map((t) => Buffer.from(t)), weight: 4 },
  { arbitrary: damaged, weight: 3 },
  { arbitrary: topLevel.map((t) => Buffer.from(t)), weight: 1 },
)

const FIELD_SETS: string[][] = [
  ['type', 'url'],
  ['url', 'user'],
  ['x'],
  [],
  ['type', 'url', 'user', 'x'],
  ['constructor'],
]

// Records the scanner answered itself (the projected event lacks a field of the whole one): a
// property that always fell back to eventCheck would prove nothing.
const tally = { accepted: 0, scanned: 0 }

function assertSame(
  old: ReturnType<RecordCheck>,
  projected: ReturnType<RecordCheck>,
  fields: string[],
  text: string,
): void {
  if ('reason' in old) {
    assert.deepEqual(projected, old, text)
    return
  }
  assert.ok('event' in projected, `accepted by eventCheck, rejected projected: ${text}`)
  const whole = old.event as Record<string, unknown>
  const part = projected.event as Record<string, unknown>
  for (const f of fields) assert.deepEqual(part[f], whole[f], `${f} of ${text}`)
  // Object.is tells -0 from 0.
  for (const f of fields)
    if (typeof whole[f] === 'number') assert.ok(Object.is(part[f], whole[f]), `${f} of ${text}`)
  tally.accepted++
  if (Object.keys(whole).some((k) => !Object.hasOwn(part, k))) tally.scanned++
}

test('a record gets the same verdict, reason and field values from the projected check as from eventCheck', () => {
  fc.assert(
    fc.property(
      fc.array(record, { minLength: 1, maxLength: 20 }),
      fc.constantFrom(...FIELD_SETS),
      fc.constantFrom('ts', 'time', 'event-time', 'été'),
      (records, fields, timeField) => {
        const old = eventCheck(timeField)
        const projected = projectedEventCheck(timeField, fields)
        for (const value of records) {
          assertSame(old(value), projected(value), [...fields, timeField], value.toString('latin1'))
        }
      },
    ),
    { numRuns: 3000 },
  )
  assert.ok(tally.scanned > tally.accepted / 4, `scanned ${tally.scanned} of ${tally.accepted} accepted`)
  console.log(`accepted ${tally.accepted} records, ${tally.scanned} of them by the scanner`)
})

test('adversarial records, one by one', () => {
  const cases = [
    `{"ts":${NOW},"url":"/a","url":"/b"}`,
    `{"url":"/a","ts":${NOW},"ts":"x"}`,
    `{"ts":${NOW},"u\\u0072l":"/b"}`,
    `{"ts":${NOW},"url":"\\ud800"}`,
    `{"ts":${NOW},"other":"\\ud800"}`,
    `{"ts":${NOW},"other":1e400}`,
    `{"ts":${NOW},"other":-1e400}`,
    `{"ts":${NOW},"url":1e400}`,
    `{"ts":${NOW},"url":1e-400}`,
    `{"ts":${NOW},"url":-0}`,
    `{"ts":${NOW},"url":{"a":1}}`,
    `{"ts":${NOW},"url":[1]}`,
    `{"ts":${NOW},"other":${'['.repeat(31)}${']'.repeat(31)}}`,
    `{"ts":${NOW},"other":${'['.repeat(32)}${']'.repeat(32)}}`,
    `{"ts":${NOW},"url":"${'x'.repeat(300 * 1024)}"}`,
    `{"ts":${NOW}.0}`,
    `{"ts":${NOW}e0}`,
    `{"ts":"2026-12-06T08:00:00Z","url":"/é"}`,
    `{"ts":${NOW},"url":"/p","__proto__":{"url":"/q"}}`,
    `{"__proto__":1,"ts":${NOW}}`,
    `{"ts":${NOW},"url":"a\u0000b"}`,
    `\ufeff{"ts":${NOW}}`,
    ` \n{"ts":${NOW}}\r\n `,
    `{"ts" : ${NOW} , "url" : "/p" }`,
  ]
  for (const fields of FIELD_SETS) {
    const old = eventCheck('ts')
    const projected = projectedEventCheck('ts', fields)
    for (const text of cases)
      assertSame(old(Buffer.from(text)), projected(Buffer.from(text)), [...fields, 'ts'], text)
    const invalid = Buffer.from([
      0x7b, 0x22, 0x74, 0x73, 0x22, 0x3a, 0x31, 0x2c, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d,
    ])
    assertSame(old(invalid), projected(invalid), [...fields, 'ts'], 'invalid UTF-8 in a string')
  }
})

// Views whose fields are known (so recordCheckFor projects), and one whose code throws on some
// events (recorded view errors must be the same).
function views(): Array<CompiledView<any, any>> {
  const defs = [
    view('pageviews_by_url')
      .filter((e) => e.type === 'page_view')
      .key((e) => e.url)
      .window(tumbling('1h'))
      .aggregate(count()),
    view('unique_users_by_url')
      .key((e) => e.url)
      .window(tumbling('1d'))
      .aggregate(distinctCount((e) => e.user)),
    view('x_by_type')
      .key((e) => e.type)
      .aggregate(sum((e) => (e.x as any).length)),
  ]
  return defs.map((d) => compileView(d as any, 'ts'))
}

test('a batch of records folds into the same deltas and view errors with either check', () => {
  const compiled = views()
  assert.deepEqual(
    compiled.map((v) => v.fields),
    [
      ['ts', 'type', 'url'],
      ['ts', 'url', 'user'],
      ['type', 'x'],
    ],
  )
  const projected = recordReaderFor(compiled, 'ts')
  const check = eventCheck('ts')
  const whole: RecordReader = (b, start, end) => {
    const checked = check(b.subarray(start, end))
    return 'reason' in checked ? checked.reason : (checked.event as StrataEvent)
  }
  fc.assert(
    fc.property(fc.array(record, { maxLength: 60 }), (records) => {
      // chunked: the records as a fold thread gets them, one buffer for the batch.
      const fold = (read: RecordReader, chunked: boolean) => {
        const window = new PendingWindow(compiled, read, 0, 0, 3)
        const skipped: Array<[number, string]> = []
        const all = Buffer.concat(records)
        let at = 0
        records.forEach((value, offset) => {
          const chunk = chunked ? all : value
          const start = chunked ? at : 0
          at += value.length
          const event = read(chunk, start, start + value.length)
          if (typeof event === 'string') {
            skipped.push([offset, event])
            window.advance(offset + 1)
          } else window.fold(offset, event, chunk, start, start + value.length)
        })
        // A rebuild reads the kept records again with the same reader.
        window.require([Math.floor(records.length / 2)])
        return { deltas: window.deltas(), errors: [...window.errors], events: window.events, skipped }
      }
      const expected = fold(whole, false)
      assert.deepEqual(fold(projected, true), expected)
      assert.deepEqual(fold(projected, false), expected)
    }),
    { numRuns: 500 },
  )
})
