// The projected check reads a record's strings as substrings of one latin1 slice of up to 256
// bytes around them (src/core/projected-check.ts, readValue): a field in that window is cut from
// it, one outside it slices a new window. Exact only if every cut string is what eventCheck's
// JSON.parse gives, wherever the field lies: read fields near and far apart (filler members of
// any length between them, non-ASCII among them), ASCII, non-ASCII and long values, records read
// in place inside a larger buffer (bytes, some of them >= 0x80, before and after), many records in
// a row through one reader (so no window of a record is reused for the next).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { compileView } from '../../src/core/compiled-view.ts'
import { eventCheck } from '../../src/core/event.ts'
import { count } from '../../src/core/monoids/count.ts'
import { recordReaderFor } from '../../src/core/projected-check.ts'
import { view } from '../../src/core/view.ts'
import { tumbling } from '../../src/core/window.ts'

const NOW = 1_765_000_000_000

const ascii = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 40,
})
const anyText = fc.string({ unit: 'grapheme', maxLength: 20 })
const value = fc.oneof(
  { arbitrary: ascii.map((s) => JSON.stringify(s)), weight: 5 },
  { arbitrary: anyText.map((s) => JSON.stringify(s)), weight: 2 },
  { arbitrary: fc.integer({ min: 200, max: 700 }).map((n) => JSON.stringify('y'.repeat(n))), weight: 1 },
  { arbitrary: fc.constantFrom('1', '-0', '1.5e3', 'null', 'true', '"a\\"b"'), weight: 1 },
)
const filler = fc
  .tuple(fc.integer({ min: 0, max: 700 }), fc.constantFrom('f', 'é', '😀'))
  .map(([n, c]) => `"pad":${JSON.stringify(c.repeat(n))}`)

const member = fc.oneof(
  { arbitrary: value.map((v) => `"type":${v}`), weight: 2 },
  { arbitrary: value.map((v) => `"url":${v}`), weight: 2 },
  { arbitrary: value.map((v) => `"user":${v}`), weight: 2 },
  { arbitrary: filler, weight: 3 },
)

const recordText = fc
  .tuple(fc.array(member, { maxLength: 6 }), fc.integer({ min: 0, max: 3 }))
  .map(([members, at]) => {
    const all = [...members]
    all.splice(Math.min(at, all.length), 0, `"ts":${NOW}`)
    return `{${all.join(',')}}`
  })

const surround = fc.uint8Array({ maxLength: 40 })

test('strings cut from a window of the record are what eventCheck reads, wherever they lie', () => {
  const views = [
    compileView(
      view('v')
        .filter((e) => e.type !== 'x')
        .key((e) => `${e.url}|${e.user}`)
        .window(tumbling('1h'))
        .aggregate(count()),
      'ts',
    ),
  ]
  const full = eventCheck('ts')
  let compared = 0
  fc.assert(
    fc.property(
      fc.array(fc.tuple(surround, recordText, surround), { minLength: 1, maxLength: 8 }),
      (records) => {
        // A fresh reader per run, then every record of the run through it in turn.
        const read = recordReaderFor(views, 'ts')
        for (const [before, text, after] of records) {
          const bytes = Buffer.concat([Buffer.from(before), Buffer.from(text), Buffer.from(after)])
          const start = before.length
          const end = start + Buffer.byteLength(text)
          const expected = full(bytes.subarray(start, end))
          const got = read(bytes, start, end)
          if ('reason' in expected) {
            assert.equal(got, expected.reason, text)
            continue
          }
          assert.equal(typeof got, 'object', text)
          const whole = expected.event as Record<string, unknown>
          const part = got as Record<string, unknown>
          for (const f of ['type', 'url', 'user', 'ts'])
            assert.ok(Object.is(part[f], whole[f]), `${f} of ${text}`)
          compared++
        }
      },
    ),
    { numRuns: 2000 },
  )
  // Most records are valid events: a property that compared none would prove nothing.
  assert.ok(compared > 4000, `compared ${compared}`)
})
