// The review of the ingest body scanner (src/ingest/scan.ts, e511b0e) as named cases: what a
// foreign producer or a careless client sends, each compared with the old path (parse.ts) on the
// records written (key and bytes) or the error (code, message, line, field), and with whether the
// scanner itself takes the body (true) or leaves it whole to parse.ts (false). The random bodies of
// scan.property.test.ts cover the same ground; these pin the cases the review looked at by name,
// so that a change of the scanner that moves one of them to the other side is seen.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { defaultEventLimits, type EventLimits } from '../../src/core/event.ts'
import { createIngest, type SinkRecord } from '../../src/ingest/ingest.ts'
import { decodeInput } from '../../src/ingest/parse.ts'
import { bodyScanner } from '../../src/ingest/scan.ts'

const NOW = 1_765_000_000_000
const BOM = Buffer.from([0xef, 0xbb, 0xbf])

interface Case {
  name: string
  body: string | Buffer
  keyField?: string
  timeField?: string
  limits?: EventLimits
  maxEvents?: number
  /** Whether the scanner takes the body (else it goes whole to parse.ts). */
  scanned: boolean
  /** The keys written, when the body is accepted (checked on both paths). */
  keys?: (string | null)[]
}

const cases: Case[] = [
  // Line endings, blank lines, byte-order marks.
  { name: 'CR LF and a trailing CR LF', body: `{"ts":${NOW}}\r\n{"ts":${NOW}}\r\n`, scanned: true },
  { name: 'no trailing newline', body: `{"ts":${NOW}}\n{"ts":${NOW}}`, scanned: true },
  { name: 'CR CR LF (one CR is whitespace)', body: `{"ts":${NOW}}\r\r\n`, scanned: true },
  { name: 'a lone CR between objects', body: `{"ts":${NOW}}\r{"ts":${NOW}}`, scanned: false },
  { name: 'blank lines of JSON whitespace', body: `\n \t\r\n{"ts":${NOW}}\n\n`, scanned: true },
  { name: 'a line of NBSP (blank to trim())', body: `{"ts":${NOW}}\n\u00a0\n{"ts":${NOW}}`, scanned: false },
  { name: 'a line of form feed', body: `{"ts":${NOW}}\n\f\n`, scanned: false },
  { name: 'a leading BOM', body: Buffer.concat([BOM, Buffer.from(`{"ts":${NOW}}`)]), scanned: true },
  { name: 'a BOM on line 2', body: `{"ts":${NOW}}\n\ufeff{"ts":${NOW}}`, scanned: false },
  { name: 'only blank lines', body: '\n\r\n \t\n', scanned: false },
  // Bytes that are not UTF-8, and control characters.
  {
    name: 'CESU-8 surrogate',
    body: Buffer.from(`{"ts":${NOW},"a":"\xed\xa0\x80"}`, 'latin1'),
    scanned: false,
  },
  { name: 'overlong slash', body: Buffer.from(`{"ts":${NOW},"a":"\xc0\xaf"}`, 'latin1'), scanned: false },
  { name: 'raw NUL in a string', body: `{"ts":${NOW},"a":"\u0000"}`, scanned: false },
  { name: 'raw DEL in a string (valid JSON)', body: `{"ts":${NOW},"a":"\u007f"}`, scanned: true },
  // Numbers: the value keeps its digits on both paths (parse.ts keeps the line's text too).
  {
    name: 'an integer past 2^53 keeps its digits',
    body: `{"ts":${NOW},"v":12345678901234567890}`,
    scanned: true,
  },
  { name: '1e400', body: `{"ts":${NOW},"v":1e400}`, scanned: false },
  { name: 'a leading zero', body: `{"ts":${NOW},"v":012}`, scanned: false },
  { name: 'a minus alone', body: `{"ts":${NOW},"v":-}`, scanned: false },
  { name: 'time 1.765E12', body: '{"ts":1.765E12}', scanned: true },
  { name: 'time -0', body: '{"ts":-0}', scanned: true },
  { name: 'time with a fraction', body: `{"ts":${NOW}.5}`, scanned: false },
  { name: 'time as digits in a string', body: `{"ts":"${NOW}"}`, scanned: false },
  { name: 'time nested only', body: `{"a":{"ts":${NOW}}}`, scanned: false },
  // The key: a number is keyed by JSON.stringify of the double on both paths.
  ...(
    [
      ['1E5', '100000'],
      ['-0', '0'],
      ['1.50', '1.5'],
      ['5e-7', '5e-7'],
      ['1e21', '1e+21'],
      ['12345678901234567890', '12345678901234567000'],
      ['9007199254740993', '9007199254740992'],
      ['-999999999999999', '-999999999999999'],
      ['true', 'true'],
      ['null', null],
      ['"a\\/b\\"c\\t"', 'a/b"c\t'],
      ['"é😀"', 'é😀'],
    ] as const
  ).map(
    ([k, key]): Case => ({
      name: `key ${k}`,
      body: `{"ts":${NOW},"k":${k}}`,
      keyField: 'k',
      scanned: true,
      keys: [key],
    }),
  ),
  {
    name: 'key an object',
    body: `{"ts":${NOW},"k":{"a":1}}`,
    keyField: 'k',
    scanned: false,
    keys: ['{"a":1}'],
  },
  {
    name: 'key twice (the last)',
    body: `{"ts":${NOW},"k":"a","k":"b"}`,
    keyField: 'k',
    scanned: false,
    keys: ['b'],
  },
  {
    name: 'key by a \\u name',
    body: `{"ts":${NOW},"\\u006b":"z"}`,
    keyField: 'k',
    scanned: false,
    keys: ['z'],
  },
  {
    name: 'key in a nested object',
    body: `{"ts":${NOW},"a":{"k":"x"}}`,
    keyField: 'k',
    scanned: true,
    keys: [null],
  },
  {
    name: 'key is the time field',
    body: `{"ts":${NOW}.0}`,
    keyField: 'ts',
    scanned: true,
    keys: [String(NOW)],
  },
  {
    name: 'key decomposed é',
    body: `{"ts":${NOW},"e\u0301":"x"}`,
    keyField: 'é',
    scanned: true,
    keys: [null],
  },
  { name: 'key the empty name', body: `{"ts":${NOW},"":"x"}`, keyField: '', scanned: true, keys: ['x'] },
  { name: 'time twice', body: `{"ts":1,"ts":${NOW}}`, scanned: false },
  // Names the prototype has, whitespace, shapes.
  { name: 'a field __proto__', body: `{"__proto__":{"ts":1},"ts":${NOW}}`, scanned: true },
  {
    name: 'key field valueOf',
    body: `{"ts":${NOW},"valueOf":"x"}`,
    keyField: 'valueOf',
    scanned: false,
    keys: ['x'],
  },
  {
    name: 'tabs and spaces around colons',
    body: `{\t"ts"\t:\t${NOW} , "k" : "x" }\t`,
    keyField: 'k',
    scanned: true,
    keys: ['x'],
  },
  { name: 'two objects on a line', body: `{"ts":${NOW}}{"ts":${NOW}}`, scanned: false },
  { name: 'a JSON array', body: `[{"ts":${NOW}}]`, scanned: false },
  {
    name: 'pretty-printed (compacted by parse.ts)',
    body: `{\n "ts": ${NOW},\n "v": 1.0\n}`,
    scanned: false,
  },
  { name: 'an empty object', body: '{}', scanned: false },
  { name: 'a trailing comma', body: `{"ts":${NOW},}`, scanned: false },
  { name: 'an escaped slash in a name', body: `{"t\\/s":1,"ts":${NOW}}`, scanned: true },
  { name: 'the time field a/b spelled a\\/b', body: `{"a\\/b":${NOW}}`, timeField: 'a/b', scanned: false },
  // Limits, counted on the line without its line ending and without a leading BOM.
  ...[31, 32].map(
    (d): Case => ({
      name: `arrays ${d} deep in a field (depth ${d + 1})`,
      body: `{"ts":${NOW},"a":${'['.repeat(d)}${']'.repeat(d)}}`,
      scanned: d === 31,
    }),
  ),
  { name: 'two of two events', body: `{"ts":${NOW}}\n\n{"ts":${NOW}}\n`, maxEvents: 2, scanned: true },
  {
    name: 'three of two events',
    body: `{"ts":${NOW}}\n{"ts":${NOW}}\n{"ts":${NOW}}`,
    maxEvents: 2,
    scanned: false,
  },
  ...(
    [
      [`{"ts":${NOW}}\r\n`, true],
      [`{"ts":${NOW}} `, false],
      [`{"ts":${NOW}}\r\r\n`, false],
      [Buffer.concat([BOM, Buffer.from(`{"ts":${NOW}}`)]), true],
    ] as const
  ).map(
    ([body, scanned], i): Case => ({
      name: `a 20-byte limit, body ${i}`,
      body,
      limits: { maxEventBytes: 20, maxDepth: 32 },
      scanned,
    }),
  ),
]

async function outcome(c: Case, bytes: boolean): Promise<unknown> {
  const written: SinkRecord[] = []
  const sink = {
    async append(records: SinkRecord[]) {
      written.push(...records)
      return records.map((_, offset) => ({ partition: 0, offset }))
    },
  }
  const ingest = createIngest({
    sink,
    timeField: c.timeField ?? 'ts',
    keyField: c.keyField,
    limits: c.limits,
    maxEvents: c.maxEvents,
  })
  const body = Buffer.isBuffer(c.body) ? c.body : Buffer.from(c.body)
  try {
    await (bytes ? ingest.ingestBytes(body) : ingest.ingestText(decodeInput(body)))
    return written.map((r) => ({ key: r.key ?? null, value: Buffer.from(r.value).toString('hex') }))
  } catch (error) {
    const e = error as { code?: string; message: string; line?: number; field?: string }
    return { code: e.code, message: e.message, line: e.line, field: e.field }
  }
}

for (const c of cases) {
  test(`ingest scan: ${c.name}`, async () => {
    const before = await outcome(c, false)
    const after = await outcome(c, true)
    assert.deepEqual(after, before)
    const scan = bodyScanner({
      timeField: c.timeField ?? 'ts',
      keyField: c.keyField,
      limits: c.limits ?? defaultEventLimits,
      maxEvents: c.maxEvents ?? 100_000,
    })
    const body = Buffer.isBuffer(c.body) ? c.body : Buffer.from(c.body)
    assert.equal(scan?.(body) !== undefined, c.scanned)
    if (c.keys !== undefined) {
      assert.ok(Array.isArray(after), JSON.stringify(after))
      assert.deepEqual(
        (after as { key: string | null }[]).map((r) => r.key),
        c.keys,
      )
    }
  })
}

test('an integer past 2^53 is written with its own digits, and read as the same double on both paths', async () => {
  const c: Case = { name: 'big', body: `{"ts":${NOW},"v":12345678901234567890}`, scanned: true }
  const [record] = (await outcome(c, true)) as { value: string }[]
  const text = Buffer.from(record!.value, 'hex').toString()
  assert.equal(text, `{"ts":${NOW},"v":12345678901234567890}`)
  assert.equal(JSON.parse(text).v, 12345678901234567000)
})
