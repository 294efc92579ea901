// The archiver's event scanner (src/core/event-scan.ts) against the parse path it stands in for
// (eventCheck, then the packed encoder's add with the parsed event): on runs of random and
// adversarial records (escapes, unicode, numbers in every JSON form, big numbers, nesting, field
// names that are array indices, `__proto__`, duplicate names, nested -0, non-objects, invalid
// JSON and UTF-8, oversized records), both paths reject the same records with the same reasons
// and write the same NDJSON and the same packed bytes.
import assert from 'node:assert/strict'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import fc from 'fast-check'
import { Archiver } from '../../src/archive/archiver.ts'
import { eventCheck } from '../../src/core/event.ts'
import { eventScanner } from '../../src/core/event-scan.ts'
import type { PartitionHandlers, PartitionSource } from '../../src/log/partition-source.ts'
import { sha256Hex } from '../../src/master-dataset/checksum.ts'
import { SegmentBuilder, SegmentStore } from '../../src/master-dataset/index.ts'
import { PackedCursor } from '../../src/master-dataset/packed-cursor.ts'
import { packSegment } from '../../src/master-dataset/segment-reader.ts'
import { KEY_TEXTS, NOW, space, timeText, valueText } from '../helpers/json-texts.ts'
import { tempDir } from '../master-dataset/test-helpers.ts'

const member = fc.tuple(space, fc.constantFrom(...KEY_TEXTS), space, space, valueText, space)
const withTime = fc.tuple(fc.constant(''), fc.constant('"ts"'), space, space, timeText, space)

// A record as the producers write it, or close to it; mostly with a time field.
const objectText = fc
  .tuple(
    fc.array(member, { maxLength: 7 }),
    fc.option(withTime, { freq: 4 }),
    fc.nat(),
    space,
    space,
    fc.option(fc.constantFrom(',', '}', ' x', '{}', '\u0000'), { freq: 20 }),
  )
  .map(([members, time, at, before, after, tail]) => {
    const all = [...members]
    if (time !== null) all.splice(at % (all.length + 1), 0, time)
    const body = all.map(([a, k, b, c, v, d]) => `${a}${k}${b}:${c}${v}${d}`).join(',')
    return `${before}{${body}}${after}${tail ?? ''}`
  })

// Valid members under any of the names (array indices, duplicates, __proto__ …): mostly events.
const jsonSpace = fc.constantFrom('', '', '', ' ', '\n', '\t', '\r\n  ')
const validMember = fc.tuple(
  jsonSpace,
  fc.constantFrom(...KEY_TEXTS),
  jsonSpace,
  jsonSpace,
  fc.oneof(
    fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
    fc.constantFrom(
      '1',
      '-0',
      '"a"',
      '"é"',
      'true',
      'null',
      '{"b":1}',
      '[0]',
      '[-0]',
      '{"a":-0.0}',
      '[-0.5]',
      '"a\\nb"',
      '[-1e-400]',
      '{"z":-5e-325}',
      '[-1E-999,1]',
      '-1e-400',
    ),
  ),
  jsonSpace,
)
const validObjectText = fc
  .tuple(fc.array(validMember, { maxLength: 6 }), fc.nat(), timeText)
  .map(([members, at, time]) => {
    const all = members.map(([a, k, b, c, v, d]) => `${a}${k}${b}:${c}${v}${d}`)
    all.splice(at % (all.length + 1), 0, `"ts":${time}`)
    return `{${all.join(',')}}`
  })

// Nested values with -0 in them, and well-formed events with the usual fields.
const eventText = fc
  .record(
    {
      type: fc.constantFrom('page_view', 'click', 'é', '', 'a"b', 'tab\there'),
      url: fc.constantFrom('/p/1', '/p/2', '/p/é', '/p/😀', '/p/"q"'),
      user: fc.constantFrom('u1', 'u2', 'u3'),
      ts: fc.integer({ min: NOW - 86_400_000 * 3, max: NOW }),
      x: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant('7')),
      n: fc.constantFrom(-0, 0, 1e21, 2 ** 53 + 2, -1.5e-7),
      extra: fc.jsonValue({ maxDepth: 2 }),
      deep: fc.constantFrom([-0], { a: -0 }, { a: [0, -0.5] }, { '1': 1, b: 2, '0': 0 }, '-0'),
    },
    { requiredKeys: ['ts'] },
  )
  .map((e) => JSON.stringify(e))

// Records as bytes, some with a byte that is not UTF-8 or an overlong one put in.
const recordBytes = fc
  .tuple(
    fc.oneof(objectText, validObjectText, validObjectText, eventText, eventText),
    fc.option(fc.tuple(fc.nat(), fc.constantFrom(0x80, 0xc0, 0xff, 0xed, 0xe9)), { freq: 15 }),
  )
  .map(([text, bad]) => {
    const bytes = Buffer.from(text)
    if (bad === null || bytes.length === 0) return bytes
    const [at, byte] = bad
    const i = at % bytes.length
    return Buffer.concat([bytes.subarray(0, i), Buffer.from([byte]), bytes.subarray(i)])
  })

interface Outcome {
  rejected: Array<[number, string]>
  data: Buffer
  packed: Buffer
}

// The parse path: what the archiver did for every record before the scanner.
function parsePath(records: Buffer[]): Outcome {
  const check = eventCheck('ts')
  const builder = new SegmentBuilder()
  const rejected: Array<[number, string]> = []
  records.forEach((value, i) => {
    const checked = check(value)
    if ('reason' in checked) rejected.push([i, checked.reason])
    else
      builder.add(
        { offset: 10 + i, timestamp: NOW + i, key: i % 3 ? `k${i % 2}` : null, value },
        checked.event,
        checked.text,
      )
  })
  return { rejected, data: builder.data(), packed: builder.packer().finish('x') }
}

// The archiver's path now (partition-archiver.ts): the scanner, else the parse path.
function scanPath(records: Buffer[], scanner = eventScanner('ts'), accepted = { count: 0 }): Outcome {
  const check = eventCheck('ts')
  const builder = new SegmentBuilder()
  const rejected: Array<[number, string]> = []
  records.forEach((value, i) => {
    const record = { offset: 10 + i, timestamp: NOW + i, key: i % 3 ? `k${i % 2}` : null, value }
    if (scanner.scan(value)) {
      accepted.count++
      builder.addFields(record, scanner.keys, scanner.values, scanner.count)
      return
    }
    const checked = check(value)
    if ('reason' in checked) rejected.push([i, checked.reason])
    else builder.add(record, checked.event, checked.text)
  })
  return { rejected, data: builder.data(), packed: builder.packer().finish('x') }
}

function assertSame(records: Buffer[], scanner = eventScanner('ts'), accepted = { count: 0 }): void {
  const want = parsePath(records)
  const got = scanPath(records, scanner, accepted)
  const shown = records.map((r) => r.toString('latin1'))
  assert.deepEqual(got.rejected, want.rejected, `rejections differ for ${JSON.stringify(shown)}`)
  assert.ok(got.data.equals(want.data), `NDJSON differs for ${JSON.stringify(shown)}`)
  assert.ok(got.packed.equals(want.packed), `packed bytes differ for ${JSON.stringify(shown)}`)
  // Both equal to the truth: the packed cache rebuilt from the NDJSON (what the batch layer builds
  // when the archiver's is missing) is the same bytes, and it decodes to JSON.parse of each event
  // (-0 anywhere, field order and all).
  assert.ok(packSegment(got.data, 'x').equals(got.packed), `packSegment differs for ${JSON.stringify(shown)}`)
  const cursor = new PackedCursor(got.packed)
  const rejected = new Set(got.rejected.map(([i]) => i))
  for (const [i, value] of records.entries()) {
    if (rejected.has(i)) continue
    assert.ok(cursor.next())
    const event = cursor.event()
    const want = JSON.parse(value.toString())
    assert.deepStrictEqual(
      event,
      want,
      `decoded event differs for ${JSON.stringify(value.toString('latin1'))}`,
    )
    assert.deepEqual(Object.keys(event as object), Object.keys(want))
    assert.equal(cursor.offset, 10 + i)
  }
  assert.equal(cursor.next(), false)
}

test('event scan: the same rejections, NDJSON and packed bytes as the parse path, on random runs of records', () => {
  const accepted = { count: 0 }
  const events = { count: 0 }
  // One scanner across runs, as the archiver keeps one: its name cache must not leak between records.
  const scanner = eventScanner('ts')
  fc.assert(
    fc.property(fc.array(recordBytes, { minLength: 1, maxLength: 8 }), (records) => {
      events.count += records.length - parsePath(records).rejected.length
      assertSame(records, scanner, accepted)
    }),
    { numRuns: 3000 },
  )
  // The scanner takes a good part of the events (it is not simply refusing everything).
  assert.ok(accepted.count > events.count / 2, `the scanner took ${accepted.count} of ${events.count} events`)
})

test('event scan: the same packed bytes on runs sharing layouts, with names and kinds changing', () => {
  const scanner = eventScanner('ts')
  const runs = [
    [
      '{"ts":1,"a":"x","b":2}',
      '{"ts":2,"a":"y","b":3}',
      '{"ts":3,"a":"y","b":"3"}',
      '{"ts":4,"a":null,"b":3}',
    ],
    ['{"ts":1,"a":1}', '{"ts":1,"a":1,"c":2}', '{"ts":1,"b":1}', '{"ts":1,"a":1}', '{"ts":1,"aa":1}'],
    ['{"ts":1,"a":1}', '{"ts":1,"a":1,"a":2}', '{"ts":1,"a":1}', '{"ts":1,"b":1,"b":2}'],
    ['{"ts":1,"a":{"x":-0}}', '{"ts":1,"a":{"x":0}}', '{"ts":1,"a":-0}', '{"ts":1,"a":"-0"}'],
    [
      '{"ts":1,"2":1,"a":0}',
      '{"ts":1,"a":0,"2":1}',
      '{"__proto__":1,"ts":1}',
      '{"ts":1,"é":"é"}',
      '{"ts":1,"é":"ü"}',
    ],
    [
      '{"ts":1,"a":{"b":1,"b":2}}',
      '{"ts":1,"a":[1, 2 ,{"c" : "\\n"}]}',
      '{"ts":1,"a":"q\\"\\/"}',
      '{"ts":1e3}',
    ],
    [
      '{"ts":1,"a":123456789012345678901234567890}',
      '{"ts":1,"a":1e-400}',
      '{"ts":1,"a":-1e308}',
      '{"ts":1,"a":1e309}',
    ],
    [
      '{"ts":1,"a":[-1e-400]}',
      '{"ts":1,"a":{"b":-5e-325}}',
      '{"ts":1,"a":[-1E-999]}',
      '{"ts":1,"a":-1e-400}',
    ],
  ]
  for (const run of runs)
    assertSame(
      run.map((text) => Buffer.from(text)),
      scanner,
    )
})

test('event scan: takes plain events, with their fields in order and their values as JSON.parse gives them', () => {
  const scanner = eventScanner('ts')
  const text =
    '{"type":"click","url":"/p/é","ts":1765000000000,"n":-0,"big":12345678901234567,"ok":true,"no":null,"o":{"a":[1,"b"]},"s":"a\\tb"}'
  assert.equal(scanner.scan(Buffer.from(text)), true)
  const event = JSON.parse(text)
  assert.deepEqual(scanner.keys.slice(0, scanner.count), Object.keys(event))
  assert.deepEqual(scanner.values.slice(0, scanner.count), Object.values(event))
  assert.ok(Object.is(scanner.values[3], -0))
  // What it leaves to the parse path.
  for (const refused of [
    '{"ts":1,"ts":2}',
    '{"1":1,"ts":1}',
    '{"ts":1,"a":"\\u0041"}',
    '{"ts":1,"a":[-0]}',
    '{"__proto__":{},"ts":1}',
    '{"ts":"x"}',
    '{}',
    '[]',
    '{"ts":1} x',
  ])
    assert.equal(scanner.scan(Buffer.from(refused)), false, refused)
})

// A topic in memory whose partitions are delivered at the same time (one scanner serves them all
// while their cuts wait on the store), in batches of the given sizes, then revoked.
class ConcurrentSource implements PartitionSource {
  #topic: Buffer[][]
  #sizes: number[]
  constructor(topic: Buffer[][], sizes: number[]) {
    this.#topic = topic
    this.#sizes = sizes
  }
  #handlers: PartitionHandlers | undefined
  #done: Promise<unknown> = Promise.resolve()
  async start(handlers: PartitionHandlers): Promise<void> {
    this.#handlers = handlers
    await handlers.onAssign(this.#topic.map((_, p) => p))
    this.#done = Promise.all(
      this.#topic.map(async (values, p) => {
        let at = 0
        for (let round = 0; at < values.length; round++) {
          const size = this.#sizes[(round + p) % this.#sizes.length]!
          const records = values.slice(at, at + size).map((value, i) => ({
            offset: at + i,
            timestamp: NOW + at + i,
            key: (at + i) % 3 ? Buffer.from(`k${(at + i) % 2}`) : null,
            value,
          }))
          at += records.length
          await handlers.onBatch({ partition: p, records, nextOffset: at })
        }
      }),
    )
  }
  async commit(): Promise<void> {}
  async close(): Promise<void> {
    await this.#done
    await this.#handlers?.onRevoke(this.#topic.map((_, p) => p))
  }
}

async function archive(root: string, topic: Buffer[][], sizes: number[], scan: boolean): Promise<string[]> {
  const reasons: string[] = []
  const source = new ConcurrentSource(topic, sizes)
  const archiver = new Archiver(await SegmentStore.open(root), source, {
    maxSegmentRecords: 7,
    maxSegmentBytes: 900,
    // A check of its own turns the scanner off: every record takes the parse path.
    ...(scan ? {} : { check: eventCheck('ts') }),
    onReject: (r) => {
      reasons.push(`${r.partition}@${r.record.offset}: ${r.reason}`)
    },
  })
  await archiver.start()
  await archiver.close()
  return reasons.sort()
}

async function filesOf(root: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>()
  for (const name of (await readdir(root, { recursive: true })).sort()) {
    const path = join(root, name)
    if ((await stat(path)).isFile()) files.set(name, await readFile(path))
  }
  return files
}

test('event scan: the archiver with its scanner writes the same files (NDJSON, packed, checksums) and dead-letters the same records as without it', async (t) => {
  let run = 0
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(recordBytes, { maxLength: 30 }), { minLength: 1, maxLength: 3 }),
      fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 }),
      async (topic, sizes) => {
        const scanned = await tempDir(t, `strata-scan-${run}-`)
        const parsed = await tempDir(t, `strata-parse-${run++}-`)
        assert.deepEqual(
          await archive(scanned, topic, sizes, true),
          await archive(parsed, topic, sizes, false),
        )
        const want = await filesOf(parsed)
        const got = await filesOf(scanned)
        assert.deepEqual([...got.keys()], [...want.keys()])
        for (const [name, bytes] of want) assert.ok(got.get(name)!.equals(bytes), `${name} differs`)
        // And the batch layer reads from them what the NDJSON says.
        for (const [name, bytes] of got)
          if (name.endsWith('.ndjson')) {
            const packed = got.get(name.replace(/\.ndjson$/, '.packed'))
            if (packed)
              assert.ok(packSegment(bytes, sha256Hex(bytes)).equals(packed), `${name}: packed cache`)
          }
      },
    ),
    { numRuns: 40 },
  )
})
