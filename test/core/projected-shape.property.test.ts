// The projected check's shape path (src/core/projected-check.ts, scanShaped): a record with the
// last accepted record's separators and field order is read without the field-name scan. It must
// answer exactly as the full scan and eventCheck do, whatever differs from the shape: a value of
// another kind (a number where a string was, an object, an escape, invalid UTF-8), a field
// reordered, added, dropped or repeated, other whitespace, a damaged byte. Records come in runs
// of one shape with such variants among them, read one after another by one reader (the shape
// carries over from record to record), and are compared with eventCheck record by record, and
// folded as a fold thread's batch (PendingWindow.foldRecords, rebuilt) against whole events.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { compileView } from '../../src/core/compiled-view.ts'
import { eventCheck, type RecordCheck, type StrataEvent } from '../../src/core/event.ts'
import { count } from '../../src/core/monoids/count.ts'
import { distinctCount } from '../../src/core/monoids/distinct-count.ts'
import { projectedEventCheck, type RecordReader, recordReaderFor } from '../../src/core/projected-check.ts'
import { view } from '../../src/core/view.ts'
import { tumbling } from '../../src/core/window.ts'
import { PendingWindow } from '../../src/speed/pending-window.ts'

const NOW = 1_765_000_000_000

// Values a field may take in a variant: the usual ones, and everything the fast path must not
// take for one (escapes, other kinds, nesting, invalid numbers and literals, raw control bytes).
const VALUES = [
  '"page_view"',
  '"click"',
  '"/p/1"',
  '"/p/22"',
  '"a-string-longer-than-twelve"',
  '"é"',
  '"\\u0041"',
  '"\\ud800"',
  '"a\\"b"',
  '"a\\nb"',
  '"tab\there"',
  '"unterminated',
  '7',
  '-0',
  '1.5',
  '1e400',
  '12345678901234567890',
  '01',
  `${NOW}`,
  `${NOW - 1}`,
  `"2026-12-06T08:00:00Z"`,
  '"yesterday"',
  'true',
  'null',
  'nul',
  '{"a":1}',
  '[1,2]',
  '[1,]',
  `${'['.repeat(40)}${']'.repeat(40)}`,
  '',
]

const NAMES = ['"type"', '"url"', '"user"', '"ts"', '"x"', '"u\\u0072l"', '"t\\u0073"', '"__proto__"']

type Member = [name: string, value: string]

const text = (members: Member[], seps: string[]): string =>
  `${seps[0] ?? ''}{${members.map(([k, v], i) => `${i === 0 ? '' : `${seps[i] ?? ''},`}${k}:${v}`).join('')}}`

// A base event (valid) with its fields in some order, and variants of it.
const base = fc
  .record({
    type: fc.constantFrom('"page_view"', '"click"'),
    url: fc.constantFrom('"/p/1"', '"/p/22"', '"/p/a-long-url-of-the-site"', '"/p/é"'),
    user: fc.constantFrom('"u1"', '"u22"', '"\\u0075"'),
    ts: fc.integer({ min: NOW - 86_400_000, max: NOW }).map(String),
  })
  .chain((e) =>
    fc.shuffledSubarray(
      Object.entries(e).map(([k, v]) => [`"${k}"`, v] as Member),
      { minLength: 4 },
    ),
  )

const variant = fc.oneof(
  fc.tuple(fc.constant('value' as const), fc.nat(), fc.constantFrom(...VALUES)),
  fc.tuple(fc.constant('ts' as const), fc.integer({ min: NOW - 86_400_000, max: NOW }), fc.constant('')),
  fc.tuple(fc.constant('swap' as const), fc.nat(), fc.constant('')),
  fc.tuple(fc.constant('space' as const), fc.nat(), fc.constantFrom(' ', '\n', '\t', '\u00a0')),
  fc.tuple(fc.constant('drop' as const), fc.nat(), fc.constant('')),
  fc.tuple(fc.constant('dup' as const), fc.nat(), fc.constant('')),
  fc.tuple(fc.constant('name' as const), fc.nat(), fc.constantFrom(...NAMES)),
  fc.tuple(fc.constant('add' as const), fc.nat(), fc.constantFrom(...VALUES)),
  fc.tuple(
    fc.constant('byte' as const),
    fc.nat(),
    fc.constantFrom('\u00ff', '\u00c3', '\u0000', '"', '\\', '}'),
  ),
  fc.tuple(fc.constant('same' as const), fc.nat(), fc.constant('')),
)

function variantOf(members: Member[], [how, at, what]: [string, number, string]): Buffer {
  const m = members.map(([k, v]) => [k, v] as Member)
  const seps = m.map(() => '')
  const j = at % m.length
  switch (how) {
    case 'value':
      m[j]![1] = what
      break
    case 'ts':
      for (const member of m) if (member[0] === '"ts"') member[1] = String(at)
      break
    case 'swap':
      ;[m[j], m[(j + 1) % m.length]] = [m[(j + 1) % m.length]!, m[j]!]
      break
    case 'space':
      seps[j] = what
      break
    case 'drop':
      m.splice(j, 1)
      break
    case 'dup':
      m.splice(j, 0, [m[j]![0], '"/p/dup"'])
      break
    case 'name':
      m[j]![0] = what
      break
    case 'add':
      m.splice(j, 0, ['"extra"', what])
      break
    case 'byte': {
      const bytes = Buffer.from(text(m, seps))
      const i = at % (bytes.length + 1)
      return Buffer.concat([bytes.subarray(0, i), Buffer.from(what, 'latin1'), bytes.subarray(i)])
    }
  }
  return Buffer.from(text(m, seps))
}

// Runs of records: each run a base and variants of it, in a random order.
const runs = fc.array(
  fc.tuple(base, fc.array(fc.tuple(variant, fc.nat(3)), { maxLength: 12 })).map(([members, variants]) => {
    const out: Buffer[] = [Buffer.from(text(members, []))]
    // Repeats of the base between variants: the shape is learned and used again.
    for (const [v, repeats] of variants) {
      out.push(variantOf(members, v))
      for (let r = 0; r < repeats; r++) out.push(Buffer.from(text(members, [])))
    }
    return out
  }),
  { minLength: 1, maxLength: 4 },
)

const FIELD_SETS = [['type', 'url'], ['url', 'user'], ['url'], []]

function assertSame(
  old: ReturnType<RecordCheck>,
  projected: ReturnType<RecordCheck>,
  fields: string[],
  t: string,
) {
  if ('reason' in old) {
    assert.deepEqual(projected, old, t)
    return
  }
  assert.ok('event' in projected, `accepted by eventCheck, rejected projected: ${t}`)
  const whole = old.event as Record<string, unknown>
  const part = projected.event as Record<string, unknown>
  for (const f of fields) assert.deepEqual(part[f], whole[f], `${f} of ${t}`)
  // Object.is tells -0 from 0.
  for (const f of fields)
    if (typeof whole[f] === 'number') assert.ok(Object.is(part[f], whole[f]), `${f} of ${t}`)
}

test('records of one shape and their variants get the verdict, reason and values of eventCheck, in any order', () => {
  fc.assert(
    fc.property(runs, fc.constantFrom(...FIELD_SETS), (groups, fields) => {
      const old = eventCheck('ts')
      const projected = projectedEventCheck('ts', fields)
      for (const value of groups.flat()) {
        assertSame(old(value), projected(value), [...fields, 'ts'], value.toString('latin1'))
      }
    }),
    { numRuns: 2000 },
  )
})

test('a shape change mid-batch, a field reordered, an escape, a number where a string was: as eventCheck', () => {
  const e = (type: string, url: string, user: string, ts: number | string) =>
    `{"type":${type},"url":${url},"user":${user},"ts":${ts}}`
  const records = [
    e('"page_view"', '"/p/1"', '"u1"', NOW),
    e('"click"', '"/p/2"', '"u2"', NOW - 1),
    // A number, an object, an array, a literal where a string was.
    e('"page_view"', '17', '"u1"', NOW),
    e('"page_view"', '{"a":"/p/1"}', '"u1"', NOW),
    e('"page_view"', '["/p/1"]', '"u1"', NOW),
    e('"page_view"', 'null', '"u1"', NOW),
    // Escapes in a read field and in a field no view reads.
    e('"page_view"', '"/p/\\"q\\""', '"u1"', NOW),
    e('"page_view"', '"/p/\\u0031"', '"u1"', NOW),
    e('"page_view"', '"/p/1"', '"\\ud800"', NOW),
    e('"page_view"', '"/p/1"', '"u\\n1"', NOW),
    // A time of another kind, or none valid.
    e('"page_view"', '"/p/1"', '"u1"', '"2026-12-06T08:00:00Z"'),
    e('"page_view"', '"/p/1"', '"u1"', '"yesterday"'),
    e('"page_view"', '"/p/1"', '"u1"', '1e400'),
    // A field reordered, a field dropped, one repeated, one spelled with an escape.
    `{"url":"/p/1","type":"page_view","user":"u1","ts":${NOW}}`,
    `{"type":"page_view","url":"/p/1","ts":${NOW}}`,
    `{"type":"page_view","url":"/p/1","url":"/p/2","user":"u1","ts":${NOW}}`,
    `{"type":"page_view","u\\u0072l":"/p/1","user":"u1","ts":${NOW}}`,
    // The same fields with other whitespace, or something after the object.
    `{"type": "page_view","url":"/p/1","user":"u1","ts":${NOW}}`,
    `{"type":"page_view","url":"/p/1","user":"u1","ts":${NOW}} `,
    `{"type":"page_view","url":"/p/1","user":"u1","ts":${NOW}}}`,
    `{"type":"page_view","url":"/p/1","user":"u1","ts":${NOW}`,
    // Back to the first shape.
    e('"page_view"', '"/p/3"', '"u3"', NOW),
  ]
  for (const fields of FIELD_SETS) {
    const old = eventCheck('ts')
    const projected = projectedEventCheck('ts', fields)
    for (const r of records) {
      // Each variant right after a record of the first shape, and after itself.
      for (const t of [records[0]!, r, r])
        assertSame(old(Buffer.from(t)), projected(Buffer.from(t)), [...fields, 'ts'], t)
    }
  }
})

test('a fold thread batch of shaped records and variants folds as whole events, rebuilt too', () => {
  const compiled = [
    view('pageviews_by_url')
      .filter((e) => e.type === 'page_view')
      .key((e) => e.url)
      .window(tumbling('1h'))
      .aggregate(count()),
    view('users_by_url')
      .key((e) => e.url)
      .window(tumbling('1d'))
      .aggregate(distinctCount((e) => e.user)),
  ].map((d) => compileView(d as any, 'ts'))
  const check = eventCheck('ts')
  const whole: RecordReader = (b, start, end) => {
    const checked = check(b.subarray(start, end))
    return 'reason' in checked ? checked.reason : (checked.event as StrataEvent)
  }
  fc.assert(
    fc.property(runs, (groups) => {
      const records = groups.flat()
      const values = Buffer.concat(records)
      const starts: number[] = []
      const ends: number[] = []
      let at = 0
      for (const r of records) {
        starts.push(at)
        at += r.length
        ends.push(at)
      }
      const fold = (read: RecordReader) => {
        const window = new PendingWindow(compiled, read, 0, 0, 1)
        const skipped: Array<[number, string]> = []
        const offsets = records.map((_, i) => i)
        window.foldRecords({ offsets, starts, ends, values }, [], skipped)
        const before = window.deltas()
        window.require([Math.floor(records.length / 2)])
        return { before, deltas: window.deltas(), events: window.events, skipped }
      }
      assert.deepEqual(fold(recordReaderFor(compiled, 'ts')), fold(whole))
    }),
    { numRuns: 300 },
  )
})
