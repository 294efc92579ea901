// The ingest body scanner (src/ingest/scan.ts) against parse.ts, the path it stands in for: on
// random and adversarial NDJSON bodies (escapes, unicode, numbers in every JSON form, missing,
// extra and duplicate fields, nesting, whitespace of every kind, blank lines, CR LF, a BOM,
// invalid JSON and UTF-8, oversized lines, too many events, pretty-printed single objects),
// ingestBytes writes exactly what ingestText(decodeInput(body)) writes (the same keys and the
// same bytes, in order) or fails with the same error (code, message, line, field); and a body the
// scanner accepts is one parse.ts accepts, with the same records.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { defaultEventLimits, type EventLimits, type StrataEvent } from '../../src/core/event.ts'
import { createIngest, type SinkRecord } from '../../src/ingest/ingest.ts'
import { decodeInput, parseEvents } from '../../src/ingest/parse.ts'
import { bodyScanner } from '../../src/ingest/scan.ts'
import { NOW, numberText, timeText } from '../helpers/json-texts.ts'
import { goodBatch } from './bad-input.ts'

const stringText = fc.oneof(
  fc.constantFrom(
    '"page_view"',
    '""',
    '"é"',
    '"😀"',
    '"\\u00e9"',
    '"\\ud800"',
    '"a\\"b"',
    '"a\\\\b"',
    '"a\\/b"',
    '"\\b\\f\\n\\r\\t"',
    '"\\x41"',
    '"tab\there"',
    '"\u007f"',
    '"\u2028"',
    '"unterminated',
  ),
  fc.string({ unit: 'grapheme', maxLength: 8 }).map((s) => JSON.stringify(s)),
)

const literalText = fc.constantFrom('true', 'false', 'null', 'tru', 'nul', 'True')

const valueText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    numberText,
    stringText,
    literalText,
    fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
    fc
      .array(fc.tuple(fc.constantFrom('"a"', '"ts"', '"b"', '"\\u0061"'), tie('value')), { maxLength: 3 })
      .map((fields) => `{${fields.map(([k, v]) => `${k}:${v}`).join(',')}}`),
  ),
})).value

const nameText = fc.constantFrom(
  '"ts"',
  '"user"',
  '"type"',
  '"x"',
  '"t\\u0073"',
  '"us\\/er"',
  '"ts "',
  '"été"',
  '""',
  '"__proto__"',
  '"constructor"',
  '"\\ud800"',
)

const deep = fc.integer({ min: 1, max: 40 }).map((d) => `${'['.repeat(d)}${']'.repeat(d)}`)

const space = fc.constantFrom('', '', '', ' ', '\t', '\r', ' \r ', '\u00a0', '\ufeff')

/** One JSON object as text: the time field most of the time, random fields around it. */
const objectText = fc
  .tuple(
    fc.array(fc.tuple(nameText, fc.oneof(valueText, deep)), { maxLength: 4 }),
    fc.option(timeText, { freq: 6 }),
    fc.nat(4),
    fc.option(fc.oneof(stringText, numberText, literalText, valueText), { freq: 2 }),
    space,
    space,
  )
  .map(([fields, time, at, user, s1, s2]) => {
    const all = fields.map(([k, v]) => `${k}${s1}:${s2}${v}`)
    if (time !== null) all.splice(Math.min(at, all.length), 0, `"ts":${time}`)
    if (user !== null) all.splice(Math.min(at + 1, all.length), 0, `"user":${user}`)
    return `{${s1}${all.join(`,${s2}`)}${s2}}`
  })

const lineText = fc.oneof(
  { weight: 8, arbitrary: objectText },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', ' ', '\t', '\r', '\u00a0', '[]', 'null', '"x"', '{}', '{', '}', '1'),
  },
  { weight: 1, arbitrary: fc.tuple(space, objectText, space).map(([a, o, b]) => `${a}${o}${b}`) },
)

/** A body: lines joined by LF or CR LF, maybe a BOM, a trailing newline, a mutated byte, a pretty object. */
const body: fc.Arbitrary<Buffer> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.array(lineText, { minLength: 0, maxLength: 8 }),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        fc.nat(20) as fc.Arbitrary<number>,
      )
      .map(([lines, eol, trailing, bom]) => {
        const text = `${bom === 0 ? '\ufeff' : ''}${lines.join(eol)}${trailing ? eol : ''}`
        return Buffer.from(text)
      }),
  },
  // A byte changed, removed or inserted anywhere (invalid UTF-8 and broken JSON included).
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.array(objectText, { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.nat(2),
      )
      .map(([lines, at, byte, how]) => {
        const b = Buffer.from(lines.join('\n'))
        const i = at % b.length
        if (how === 0) {
          b[i] = byte
          return b
        }
        if (how === 1) return Buffer.concat([b.subarray(0, i), b.subarray(i + 1)])
        return Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)])
      }),
  },
  // One object pretty-printed over several lines (parse.ts's single-object path).
  {
    weight: 1,
    arbitrary: fc
      .record({ ts: fc.integer({ min: NOW - 1000, max: NOW }), user: fc.string({ maxLength: 4 }) })
      .map((e) => Buffer.from(JSON.stringify({ ...e }, null, 2))),
  },
  // The shared generator of valid batches.
  { weight: 2, arbitrary: goodBatch.map(({ body }) => Buffer.from(body)) },
)

interface Setting {
  keyField: string | undefined
  limits: EventLimits
  maxEvents: number
}

const setting: fc.Arbitrary<Setting> = fc.record({
  keyField: fc.constantFrom(undefined, 'user', 'ts'),
  limits: fc.oneof(
    fc.constant(defaultEventLimits),
    fc.record({ maxEventBytes: fc.integer({ min: 10, max: 300 }), maxDepth: fc.integer({ min: 1, max: 6 }) }),
  ),
  maxEvents: fc.oneof(fc.constant(100_000), fc.integer({ min: 1, max: 6 })),
})

type Outcome = { records: Array<{ key: string | null; value: string }> } | { error: Record<string, unknown> }

const errorOf = (error: unknown) => {
  const e = error as { code?: string; message?: string; line?: number; field?: string }
  return { code: e.code, message: e.message, line: e.line, field: e.field, name: (error as Error).name }
}

const shown = (records: SinkRecord[]) =>
  records.map((r) => ({ key: r.key, value: Buffer.from(r.value).toString('hex') }))

/** What one door of createIngest writes for the body, or the error it fails with. */
async function outcome(
  s: Setting,
  call: (ingest: ReturnType<typeof createIngest>) => Promise<unknown>,
): Promise<Outcome> {
  const written: SinkRecord[] = []
  const ingest = createIngest({
    sink: {
      async append(records) {
        written.push(...records)
        return records.map((_, offset) => ({ partition: 0, offset }))
      },
    },
    timeField: 'ts',
    keyField: s.keyField,
    limits: s.limits,
    maxEvents: s.maxEvents,
  })
  try {
    await call(ingest)
    return { records: shown(written) }
  } catch (error) {
    assert.equal(written.length, 0)
    return { error: errorOf(error) }
  }
}

test('ingestBytes writes what ingestText(decodeInput(body)) writes, or fails with the same error', async () => {
  let fast = 0
  let accepted = 0
  await fc.assert(
    fc.asyncProperty(body, setting, async (b, s) => {
      const before = await outcome(s, (ingest) => ingest.ingestText(decodeInput(b)))
      const after = await outcome(s, (ingest) => ingest.ingestBytes(b))
      assert.deepEqual(after, before)
      if ('records' in before) accepted++
      if (bodyScanner({ timeField: 'ts', ...s })?.(b) !== undefined) fast++
    }),
    { numRuns: 3000 },
  )
  // The property says nothing if the scanner never answers (most of what it leaves to parse.ts
  // here holds a \u escape, a field name with an escape or a pretty-printed object).
  assert.ok(accepted > 300, `${accepted} accepted bodies`)
  assert.ok(fast > accepted / 8, `${fast} of ${accepted} accepted bodies scanned`)
})

test('a body the scanner accepts is one parse.ts accepts, with the same keys and bytes', () => {
  fc.assert(
    fc.property(body, setting, (b, s) => {
      const scanned = bodyScanner({ timeField: 'ts', ...s })?.(b)
      if (scanned === undefined) return
      const parsed = parseEvents(decodeInput(b), {
        timeField: 'ts',
        limits: s.limits,
        maxEvents: s.maxEvents,
      })
      const keyOf = (e: StrataEvent) => {
        if (s.keyField === undefined) return null
        const v = e[s.keyField]
        return v === undefined || v === null ? null : typeof v === 'string' ? v : JSON.stringify(v)
      }
      assert.deepEqual(
        scanned.map((r) => ({ key: r.key, value: r.value.toString('hex') })),
        parsed.map((p) => ({ key: keyOf(p.event), value: Buffer.from(p.text).toString('hex') })),
      )
    }),
    { numRuns: 3000 },
  )
})

// Events as clients send them: escape-free strings (any well-formed text but control characters),
// integer or ISO times, nested values, JSON whitespace around fields and lines, blank lines, CR LF,
// a BOM. The scanner must take every such body, and write what parse.ts writes.
const plainString = fc
  .string({ unit: 'grapheme', maxLength: 10 })
  .map((s) => JSON.stringify(s))
  .filter((s) => !s.includes('\\u'))
const plainValue: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    plainString,
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
    fc.constantFrom('true', 'false', 'null'),
    fc.array(tie('value'), { maxLength: 3 }).map((items) => `[ ${items.join(' , ')} ]`),
    fc
      .array(fc.tuple(plainString, tie('value')), { maxLength: 3 })
      .map((fields) => `{${fields.map(([k, v]) => `${k}:${v}`).join(',')}}`),
  ),
})).value
const jsonSpace = fc.constantFrom('', ' ', '\t', '\r', ' \t ')
/** An escape-free event; `duplicates`: sometimes its time or key field twice (JSON.parse keeps the last). */
const plainEvent = (duplicates: boolean) =>
  fc
    .tuple(
      fc.array(
        fc.tuple(
          plainString.filter((k) => k !== '"ts"' && k !== '"user"'),
          plainValue,
        ),
        { maxLength: 4 },
      ),
      fc.oneof(
        fc.integer({ min: 0, max: NOW }).map(String),
        fc.constantFrom('"2026-12-06T08:00:00Z"', '"2026-12-06"', '1765000000000.0', '1.765e12'),
      ),
      fc.option(
        fc.oneof(plainString, fc.integer().map(String), fc.constantFrom('true', 'null', '-0', '1e21')),
      ),
      fc.nat(4),
      jsonSpace,
      jsonSpace,
      duplicates ? fc.constantFrom('', '', '"ts":"soon"', '"ts":1', '"user":"u2"') : fc.constant(''),
    )
    .map(([fields, time, user, at, s1, s2, twice]) => {
      const all = fields.map(([k, v]) => `${k}${s1}:${s2}${v}`)
      all.splice(Math.min(at, all.length), 0, `"ts"${s1}:${s2}${time}`)
      if (user !== null) all.splice(Math.min(at + 1, all.length), 0, `"user":${user}`)
      if (twice !== '') all.splice(at % 2 === 0 ? 0 : all.length, 0, twice)
      return `${s2}{${s1}${all.join(`,${s2}`)}${s2}}${s1}`
    })
const plainBody = (duplicates: boolean) =>
  fc
    .tuple(
      fc.array(
        fc.oneof({ weight: 6, arbitrary: plainEvent(duplicates) }, { weight: 1, arbitrary: jsonSpace }),
        {
          minLength: 1,
          maxLength: 12,
        },
      ),
      fc.constantFrom('\n', '\r\n'),
      fc.boolean(),
      fc.boolean(),
    )
    .filter(([lines]) => lines.some((l) => l.includes('{')))
    .map(([lines, eol, trailing, bom]) =>
      Buffer.from(`${bom ? '\ufeff' : ''}${lines.join(eol)}${trailing ? eol : ''}`),
    )

/** A body of escape-free events with one thing spoiled: an adversarial field added, a byte changed, removed or added. */
const spoiled = fc
  .tuple(
    plainBody(false),
    fc.oneof(
      numberText,
      stringText,
      literalText,
      valueText,
      deep,
      fc.constantFrom(
        '{"a" 1}',
        '{"a":1 "b":2}',
        '[1 2]',
        '{"a":1,}',
        '[1,]',
        '{,}',
        '{"a":}',
        '{1:2}',
        '[',
        '{"a":[}]}',
      ),
    ),
    fc.nat(),
    fc.integer({ min: 0, max: 255 }),
    fc.nat(3),
  )
  .map(([b, bad, at, byte, how]) => {
    if (how === 0) {
      const closes = [...b.keys()].filter((i) => b[i] === 0x7d)
      const i = closes[at % closes.length]!
      return Buffer.concat([b.subarray(0, i), Buffer.from(`,"x":${bad}`), b.subarray(i)])
    }
    const i = at % b.length
    if (how === 1) {
      const c = Buffer.from(b)
      c[i] = byte
      return c
    }
    if (how === 2) return Buffer.concat([b.subarray(0, i), b.subarray(i + 1)])
    return Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)])
  })

test('on escape-free bodies with one thing spoiled, both paths agree', async () => {
  await fc.assert(
    fc.asyncProperty(spoiled, setting, async (b, s) => {
      const before = await outcome(s, (ingest) => ingest.ingestText(decodeInput(b)))
      assert.deepEqual(await outcome(s, (ingest) => ingest.ingestBytes(b)), before)
    }),
    { numRuns: 3000 },
  )
})

test('on escape-free bodies at every limit (depth, size, count) and with duplicate fields, both paths agree', async () => {
  const near: fc.Arbitrary<Setting> = fc.record({
    keyField: fc.constantFrom(undefined, 'user', 'ts'),
    limits: fc.record({
      maxEventBytes: fc.oneof(
        fc.integer({ min: 15, max: 90 }),
        fc.constant(defaultEventLimits.maxEventBytes),
      ),
      maxDepth: fc.integer({ min: 1, max: 3 }),
    }),
    maxEvents: fc.integer({ min: 1, max: 10 }),
  })
  await fc.assert(
    fc.asyncProperty(plainBody(true), near, async (b, s) => {
      const before = await outcome(s, (ingest) => ingest.ingestText(decodeInput(b)))
      assert.deepEqual(await outcome(s, (ingest) => ingest.ingestBytes(b)), before)
    }),
    { numRuns: 3000 },
  )
})

test('the scanner takes every body of escape-free events, and writes what parse.ts writes', async () => {
  await fc.assert(
    fc.asyncProperty(plainBody(false), fc.constantFrom(undefined, 'user', 'ts'), async (b, keyField) => {
      const s = { keyField, limits: defaultEventLimits, maxEvents: 100_000 }
      assert.notEqual(bodyScanner({ timeField: 'ts', ...s })!(b), undefined, b.toString())
      const before = await outcome(s, (ingest) => ingest.ingestText(decodeInput(b)))
      assert.ok('records' in before, JSON.stringify(before))
      assert.deepEqual(await outcome(s, (ingest) => ingest.ingestBytes(b)), before)
    }),
    { numRuns: 1000 },
  )
})

test('the scanner leaves to parse.ts a time or key field the prototype has', () => {
  const limits = defaultEventLimits
  assert.equal(bodyScanner({ timeField: 'constructor', limits, maxEvents: 10 }), undefined)
  assert.equal(bodyScanner({ timeField: 'ts', keyField: '__proto__', limits, maxEvents: 10 }), undefined)
  const scan = bodyScanner({ timeField: 'ts', keyField: 'user', limits, maxEvents: 10 })!
  const records = scan(Buffer.from(`{"user":"u1","ts":${NOW}}\r\n\n  {"ts":${NOW},"user":7}  \n`))!
  assert.deepEqual(
    records.map((r) => [r.key, r.value.toString()]),
    [
      ['u1', `{"user":"u1","ts":${NOW}}`],
      ['7', `{"ts":${NOW},"user":7}`],
    ],
  )
})
