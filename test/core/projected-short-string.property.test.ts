// The projected check builds a read string of up to SHORT_STRING plain ASCII bytes with
// String.fromCharCode (src/core/short-ascii.ts), longer or other strings with a slice. Exact only
// if no string it builds from raw bytes is one JSON.parse would decode differently, and a record
// eventCheck rejects is still rejected with the same reason. The strings here sit on the boundary:
// 0 to 16 ASCII characters (12 and 13 often) with, at the start, the end, or right after the 12th
// character, an escape (`\"`, `\\`, `\/`, `\u0041`, `\n`), a raw control byte, 0x7f, a UTF-8
// character or an invalid byte; in the read fields (the time field too), in field names of 12 and
// 13 characters, as the record's last value, read in place with the record at the buffer's end.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { compileView } from '../../src/core/compiled-view.ts'
import { eventCheck } from '../../src/core/event.ts'
import { count } from '../../src/core/monoids/count.ts'
import { recordReaderFor } from '../../src/core/projected-check.ts'
import { SHORT_STRING } from '../../src/core/short-ascii.ts'
import { view } from '../../src/core/view.ts'
import { tumbling } from '../../src/core/window.ts'

const NOW = 1_765_000_000_000
const TWELVE = 'abcdefghijkl'
const THIRTEEN = 'abcdefghijklm'
assert.equal(TWELVE.length, SHORT_STRING)

// Printable ASCII but the quote and the backslash, digits often (a number-looking string).
const plain = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }).filter((c) => c !== 0x22 && c !== 0x5c),
  fc.integer({ min: 0x30, max: 0x39 }),
)
const UTF8 = new Set(['é', '😀', '\u2028'])
// What may stand next to the plain characters, as the bytes between the quotes.
const odd = fc.oneof(
  fc.constantFrom(
    '\\"',
    '\\\\',
    '\\/',
    '\\u0041',
    '\\n',
    '\\t',
    '\\u00e9',
    '\\ud800',
    '\\x41',
    'é',
    '😀',
    '\u2028',
  ),
  fc.constantFrom(0x00, 0x01, 0x09, 0x0a, 0x1f, 0x7f, 0x80, 0xc3, 0xff).map((c) => String.fromCharCode(c)),
)
const stringBytes = fc
  .tuple(
    fc.oneof(
      fc.integer({ min: 0, max: 16 }),
      fc.constantFrom(SHORT_STRING - 1, SHORT_STRING, SHORT_STRING + 1),
    ),
    fc.array(plain, { minLength: 16, maxLength: 16 }),
    fc.option(fc.tuple(odd, fc.constantFrom('start', 'end', 'twelve')), { freq: 2 }),
  )
  .map(([length, chars, extra]) => {
    // latin1 below: one byte per character, so a raw byte stays that byte; the UTF-8 characters
    // are written as their UTF-8 bytes.
    let s = String.fromCharCode(...chars.slice(0, length))
    if (extra !== null) {
      const [text, where] = extra
      const bytes = UTF8.has(text) ? Buffer.from(text, 'utf8').toString('latin1') : text
      const at = where === 'start' ? 0 : where === 'end' ? s.length : Math.min(SHORT_STRING, s.length)
      s = s.slice(0, at) + bytes + s.slice(at)
    }
    return `"${s}"`
  })

const timeValue = fc.oneof(
  fc.constant(String(NOW)),
  fc.constantFrom(
    '"2026-12-06"',
    '"2026-12-06Z"',
    '"2026-12-06T08:00:00Z"',
    '"2026-12-0\\u0036"',
    '"2026-12-06\n"',
  ),
)
const readName = fc.constantFrom('type', 'url', 'user', TWELVE, THIRTEEN)
// Names of 12 and 13 characters, near misses and an escaped one, as keys.
const name = fc.oneof(readName, fc.constantFrom('abcdefghijk', 'abcdefghijkL', 'abcdefghijkl\\u0020', 'pad'))

const recordText = fc
  .tuple(fc.array(fc.tuple(name, stringBytes), { maxLength: 5 }), fc.integer({ min: 0, max: 5 }), timeValue)
  .map(([members, at, time]) => {
    const all = members.map(([k, v]) => `"${k}":${v}`)
    all.splice(Math.min(at, all.length), 0, `"ts":${time}`)
    return `{${all.join(',')}}`
  })

test('short read strings are what JSON.parse reads, and records it rejects are rejected alike', () => {
  const views = [
    compileView(
      view('v')
        .filter((e) => e.type !== 'x')
        .key((e) => `${e.url}|${e.user}|${e.abcdefghijkl}|${e.abcdefghijklm}`)
        .window(tumbling('1h'))
        .aggregate(count()),
      'ts',
    ),
  ]
  const fields = ['type', 'url', 'user', TWELVE, THIRTEEN, 'ts']
  assert.deepEqual(views[0]!.fields, [...fields].sort())
  const full = eventCheck('ts')
  let short = 0
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.uint8Array({ maxLength: 8 }), recordText, fc.boolean()), {
        minLength: 1,
        maxLength: 8,
      }),
      (records) => {
        const read = recordReaderFor(views, 'ts')
        for (const [before, text, atEnd] of records) {
          const record = Buffer.from(text, 'latin1')
          // The record in place, at the buffer's end or followed by bytes >= 0x80.
          const bytes = Buffer.concat([
            Buffer.from(before),
            record,
            atEnd ? Buffer.alloc(0) : Buffer.from([0xff, 0x22]),
          ])
          const start = before.length
          const end = start + record.length
          const expected = full(bytes.subarray(start, end))
          const got = read(bytes, start, end)
          if ('reason' in expected) {
            assert.equal(got, expected.reason, text)
            continue
          }
          assert.equal(typeof got, 'object', text)
          const parsed = JSON.parse(record.toString('utf8')) as Record<string, unknown>
          const part = got as Record<string, unknown>
          for (const f of fields) {
            assert.ok(Object.is(part[f], parsed[f]), `${f} of ${text}`)
            const v = parsed[f]
            if (typeof v === 'string' && v.length <= SHORT_STRING && /^[\x20-\x7f]*$/.test(v)) short++
          }
        }
      },
    ),
    { numRuns: 3000 },
  )
  // A property that never read a short string would prove nothing.
  assert.ok(short > 2500, `short strings read ${short}`)
})
