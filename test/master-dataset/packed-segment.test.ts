import assert from 'node:assert/strict'
import { readFile, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { crc32 } from 'node:zlib'
import fc from 'fast-check'
import { eventCheck } from '../../src/core/event.ts'
import { PackedCursor } from '../../src/master-dataset/packed-cursor.ts'
import { type PackedHeader, PackedSegmentEncoder } from '../../src/master-dataset/packed-segment.ts'
import { SegmentBuilder } from '../../src/master-dataset/segment-builder.ts'
import {
  openPackedSegment,
  PackedSegmentReader,
  packSegment,
  readSegmentChecksum,
} from '../../src/master-dataset/segment-reader.ts'
import { SegmentStore } from '../../src/master-dataset/segment-store.ts'
import { buildSegment, range, tempDir } from './test-helpers.ts'

function decodeAll(packed: Buffer) {
  const cursor = new PackedCursor(packed)
  const out = []
  while (cursor.next()) {
    out.push({ offset: cursor.offset, timestamp: cursor.timestamp, key: cursor.key, event: cursor.event() })
  }
  return out
}

// Any UTF-16 code unit, lone surrogates included (JSON text may hold "\ud800"), plus -0.
const anyUnit = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
)
const anyJson = fc.json({ stringUnit: anyUnit })
const negativeZero = fc.constantFrom('{"z":-0}', '{"n":{"z":[-0.0]}}', '{"n":[-0e3,1]}', '-0')

test('packed decode equals JSON.parse of the event text, for any JSON', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.oneof(
            fc.json(),
            anyJson,
            negativeZero,
            fc.jsonValue().map((v) => JSON.stringify({ v, w: [v] })),
            fc.jsonValue({ stringUnit: anyUnit }).map((v) => JSON.stringify({ v, w: [v] })),
          ),
          fc.option(fc.oneof(fc.string(), fc.string({ unit: anyUnit }))),
        ),
      ),
      (items) => {
        const encoder = new PackedSegmentEncoder()
        for (const [i, [text, key]] of items.entries())
          encoder.add(i * 2, 1000 + i, key, JSON.parse(text), text)
        const decoded = decodeAll(encoder.finish('0'.repeat(64)))
        assert.deepEqual(
          decoded,
          items.map(([text, key], i) => ({
            offset: i * 2,
            timestamp: 1000 + i,
            key,
            event: JSON.parse(text),
          })),
        )
      },
    ),
    { numRuns: 300 },
  )
})

test('awkward events: __proto__ keys, shared nested parts, same keys with other kinds', () => {
  const texts = [
    '{"__proto__":{"polluted":true},"a":1}',
    '{"a":"x","n":{"deep":[1,2]}}',
    '{"a":1,"n":{"deep":[1,2]}}',
    '{"a":true,"n":null,"2":"int-like key"}',
    '{"a":false}',
  ]
  const encoder = new PackedSegmentEncoder()
  for (const [i, text] of texts.entries()) encoder.add(i, 0, null, JSON.parse(text), text)
  const events = decodeAll(encoder.finish('0'.repeat(64))).map((r) => r.event as Record<string, unknown>)
  assert.deepEqual(
    events,
    texts.map((text) => JSON.parse(text)),
  )
  assert.equal(Object.getPrototypeOf(events[0]), Object.prototype, 'no prototype set from data')
  assert.deepEqual(Object.keys(events[3]!), Object.keys(JSON.parse(texts[3]!)))
  // Decoding twice gives fresh objects: a view mutating one event cannot change another.
  const again = decodeAll(encoder.finish('0'.repeat(64)))[1]!.event
  assert.notEqual(again, events[1])
})

test('a corrupt packed file is detected: any byte flipped is refused or not read at all', () => {
  const packed = buildSegment(range(0, 20)).packer().finish('0'.repeat(64))
  const expected = decodeAll(packed)
  for (let at = 0; at < packed.length; at++) {
    const damaged = Buffer.from(packed)
    damaged[at]! ^= 0x10
    let decoded: unknown
    try {
      decoded = decodeAll(damaged)
    } catch (error) {
      assert.equal((error as { code?: string }).code, 'STRATA_ERR_SEGMENT_CORRUPT', `byte ${at}`)
      continue
    }
    // Only the padding between sections is covered by no checksum, and no reader reads it.
    assert.deepEqual(decoded, expected, `byte ${at} changed the answer`)
  }
})

test('openPackedSegment rebuilds a missing, corrupt or stale cache from the NDJSON', async (t) => {
  const root = await tempDir(t)
  const store = await SegmentStore.open(root)
  const segment = buildSegment(range(0, 50))
  await store.writeSegment(0, { start: 0, end: 50 }, segment.data(), segment.packer())
  const file = join(root, 'p0000', '00000000000000000000-00000000000000000050.packed')
  const expected = decodeAll(await readFile(file))
  assert.equal(expected.length, 50)
  const read = async () => {
    const cursor = await openPackedSegment(root, 0, { start: 0, end: 50 })
    const out = []
    while (cursor.next()) {
      out.push({ offset: cursor.offset, timestamp: cursor.timestamp, key: cursor.key, event: cursor.event() })
    }
    return out
  }
  assert.deepEqual(await read(), expected)
  await unlink(file)
  assert.deepEqual(await read(), expected)
  await writeFile(file, 'garbage')
  assert.deepEqual(await read(), expected)
  // Stale: derived from other bytes than the segment's checksum names.
  await writeFile(file, buildSegment(range(0, 3)).packer().finish('f'.repeat(64)))
  assert.deepEqual(await read(), expected)
  assert.deepEqual(decodeAll(await readFile(file)), expected)
})

test('regression: lone surrogates in values, field names and keys survive (v2 wrote U+FFFD)', () => {
  const text = '{"a":"x\\ud800y","\\udc00k":1,"n":{"s":"\\udfff"}}'
  const encoder = new PackedSegmentEncoder()
  encoder.add(0, 0, 'k\ud800', JSON.parse(text), text)
  encoder.add(1, 0, 'plain', JSON.parse('"\\ud800"'), '"\ud800"')
  const [first, second] = decodeAll(encoder.finish('0'.repeat(64)))
  assert.deepEqual(first!.event, JSON.parse(text))
  assert.equal((first!.event as { a: string }).a, 'x\ud800y')
  assert.equal(first!.key, 'k\ud800')
  assert.equal(second!.event, '\ud800')
})

test('regression: -0 inside nested values survives (JSON.stringify writes 0)', () => {
  const text = '{"a":1,"n":{"z":[-0.0, 2]}}'
  const encoder = new PackedSegmentEncoder()
  encoder.add(0, 0, null, JSON.parse(text), text)
  const event = decodeAll(encoder.finish('0'.repeat(64)))[0]!.event as { n: { z: number[] } }
  assert.ok(Object.is(event.n.z[0], -0))
})

test('regression: a nested -0 spelled as a negative number that underflows (-1e-400) survives', () => {
  // JSON.parse gives -0 for each; the cheap check looked for the bytes "-0" only, so the encoder
  // took these events apart and JSON.stringify wrote the nested -0 as 0.
  const texts = [
    '{"a":1,"n":[-1e-400]}',
    '{"a":1,"n":{"z":-5e-325}}',
    '{"a":1,"n":[1,{"y":-1E-999}]}',
    '{"a":1,"n":[-2.5e-324]}',
  ]
  const encoder = new PackedSegmentEncoder()
  for (const [i, text] of texts.entries()) encoder.add(i, 0, null, JSON.parse(text), text)
  const decoded = decodeAll(encoder.finish('0'.repeat(64))).map((r) => r.event)
  assert.deepEqual(
    decoded,
    texts.map((text) => JSON.parse(text)),
  )
})

test('segments of one shape share a decoder, never their strings', () => {
  const segment = (tag: string) => {
    const encoder = new PackedSegmentEncoder()
    for (let i = 0; i < 50; i++) {
      const text = JSON.stringify({ type: `${tag}-${i % 3}`, url: `/${tag}/${i}`, n: i })
      encoder.add(i, i, `${tag}${i % 5}`, JSON.parse(text), text)
    }
    return new PackedCursor(encoder.finish('0'.repeat(64)))
  }
  const a = segment('a')
  const b = segment('b')
  // Interleaved, so a decoder compiled for one segment runs over the other's table.
  for (let i = 0; i < 50; i++) {
    for (const [cursor, tag] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      assert.ok(cursor.next())
      assert.deepEqual(cursor.event(), { type: `${tag}-${i % 3}`, url: `/${tag}/${i}`, n: i })
      assert.equal(cursor.key, `${tag}${i % 5}`)
    }
  }
  assert.equal(a.next(), false)
})

/** A packed file with its version, or one u32 of one section, changed; its CRCs made valid again. */
function tamper(
  packed: Buffer,
  change: {
    version?: number
    u32?: [section: (h: PackedHeader) => number | undefined, index: number, value: number]
  },
): Buffer {
  const out = Buffer.from(packed)
  if (change.version !== undefined) out.writeUInt32LE(change.version, 8)
  if (change.u32) {
    const length = out.readUInt32LE(16)
    const header = JSON.parse(out.toString('utf8', 20, 20 + length)) as PackedHeader
    const index = change.u32[0](header)
    assert.ok(index !== undefined, 'no such section')
    const section = header.sections[index]!
    out.writeUInt32LE(change.u32[2], section[0] + 4 * change.u32[1])
    section[2] = crc32(out.subarray(section[0], section[0] + section[1]))
    const text = JSON.stringify(header)
    assert.ok(Buffer.byteLength(text) <= length)
    const json = Buffer.alloc(length, ' ')
    json.write(text)
    json.copy(out, 20)
    out.writeUInt32LE(crc32(json), 12)
  }
  return out
}

test('a string id outside its dictionary, or a layout id outside the table, is SEGMENT_CORRUPT, even with valid CRCs', () => {
  const encoder = new PackedSegmentEncoder()
  encoder.add(0, 0, null, { a: 'x' }, '{"a":"x"}')
  encoder.add(1, 0, null, { a: 1 }, '{"a":1}')
  const packed = encoder.finish('0'.repeat(64))
  const column = (h: PackedHeader) => h.columns.find((c) => c.name === 'a')?.ids
  for (const fields of [null, ['a']]) {
    const cursor = new PackedCursor(tamper(packed, { u32: [column, 0, 999] }), fields)
    assert.ok(cursor.next())
    assert.throws(() => cursor.event(), { code: 'STRATA_ERR_SEGMENT_CORRUPT' })
    const layoutless = new PackedCursor(tamper(packed, { u32: [(h) => h.shapes, 0, 7] }), fields)
    assert.throws(() => layoutless.next(), { code: 'STRATA_ERR_SEGMENT_CORRUPT' })
  }
})

test('a cache of another format version is rebuilt, not misread', async (t) => {
  const root = await tempDir(t)
  const store = await SegmentStore.open(root)
  const segment = buildSegment(range(0, 30))
  await store.writeSegment(0, { start: 0, end: 30 }, segment.data(), segment.packer())
  const file = join(root, 'p0000', '00000000000000000000-00000000000000000030.packed')
  const current = await readFile(file)
  assert.equal(current.readUInt32LE(8), 4)
  const expected = decodeAll(current)
  await writeFile(file, tamper(current, { version: 3 }))
  assert.throws(() => new PackedCursor(tamper(current, { version: 3 })), {
    code: 'STRATA_ERR_SEGMENT_CORRUPT',
  })
  const cursor = await openPackedSegment(root, 0, { start: 0, end: 30 })
  const out = []
  while (cursor.next())
    out.push({ offset: cursor.offset, timestamp: cursor.timestamp, key: cursor.key, event: cursor.event() })
  assert.deepEqual(out, expected)
  assert.equal((await readFile(file)).readUInt32LE(8), 4, 'rewritten in the current format')
})

test('packSegment (the cold path) writes the bytes the archiver wrote', () => {
  const builder = new SegmentBuilder()
  const texts = [
    '{"type":"page_view","url":"/a","ts":1}',
    '{"__proto__":{"x":1},"a":2}',
    '[1,"two",{"three":3}]',
    '{"s":"caf\u00e9 \ud83d\ude00 \\ud800 \\ud83d\\ude00","n":{"deep":[1,-0.0]}}',
    '"just a string"',
    '{"a":1,\r\n"b":2}',
  ]
  for (const [i, text] of texts.entries()) {
    builder.add({
      offset: 10 + 3 * i,
      timestamp: 5 + i,
      key: i % 2 ? null : `k\u00e9${i}`,
      value: Buffer.from(text),
    })
  }
  const checksum = 'a'.repeat(64)
  const packed = packSegment(builder.data(), checksum)
  assert.deepEqual(packed, builder.packer().finish(checksum))
  assert.deepEqual(
    decodeAll(packed).map((r) => r.event),
    texts.map((text) => JSON.parse(text.replace('\r\n', '  '))),
  )
})

test('the archiver hands the decoded text of its check to the builder: the same bytes as the cold path, CR/LF lines included', () => {
  // The archiver's path (partition-archiver.ts): eventCheck parses the value and returns its
  // text; the builder reuses that text, except where the stored bytes are not the value's own
  // (CR/LF become spaces). Events kept raw (a __proto__ key, a nested -0) carry that text whole.
  const check = eventCheck('ts')
  const builder = new SegmentBuilder()
  const texts = [
    '{"type":"page_view","url":"/a","ts":1}',
    '{"__proto__":{"x":1},"a":2,"ts":2}',
    '{"__proto__":{"x":1},\r\n"a":2,"ts":3}',
    '{"n":{"z":[-0.0]},"ts":4}',
    '{"n":{"z":[-0.0]},\n"ts":5}',
    '{"s":"caf\u00e9 \ud83d\ude00 \\u00e9","ts":6}',
  ]
  for (const [i, text] of texts.entries()) {
    const value = Buffer.from(text)
    const checked = check(value)
    assert.ok('event' in checked, text)
    assert.equal(checked.text, text)
    builder.add({ offset: 10 + i, timestamp: 5 + i, key: `k${i}`, value }, checked.event, checked.text)
  }
  const checksum = 'b'.repeat(64)
  assert.deepEqual(builder.packer().finish(checksum), packSegment(builder.data(), checksum))
  assert.deepEqual(
    decodeAll(packSegment(builder.data(), checksum)).map((r) => r.event),
    texts.map((text) => JSON.parse(text.replace(/\r|\n/g, ' '))),
  )
})

test('one reader reuses its buffer across segments, and hands it on when released', async (t) => {
  const root = await tempDir(t)
  const store = await SegmentStore.open(root)
  const sizes = [
    [0, 40],
    [40, 45],
    [45, 400],
    [400, 410],
  ] as const
  for (const [start, end] of sizes) {
    const segment = buildSegment(range(start, end))
    await store.writeSegment(1, { start, end }, segment.data(), segment.packer())
  }
  const expected = await Promise.all(
    sizes.map(async ([start, end]) =>
      decodeAll(
        await readFile(
          join(root, 'p0001', `${String(start).padStart(20, '0')}-${String(end).padStart(20, '0')}.packed`),
        ),
      ),
    ),
  )
  for (let pass = 0; pass < 2; pass++) {
    const reader = new PackedSegmentReader(root, 1)
    for (const [i, [start, end]] of sizes.entries()) {
      const cursor = await reader.open({ start, end })
      assert.equal(cursor.source, await readSegmentChecksum(root, 1, { start, end }))
      const out = []
      while (cursor.next()) {
        out.push({
          offset: cursor.offset,
          timestamp: cursor.timestamp,
          key: cursor.key,
          event: cursor.event(),
        })
      }
      assert.deepEqual(out, expected[i])
    }
    reader.release()
  }
})

test('stringId names a string field by its id in the column dictionary: equal strings, equal ids; else -1', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record(
          {
            url: fc.oneof(fc.constantFrom('/a', '/b', ''), fc.string({ unit: anyUnit }), fc.jsonValue()),
            other: fc.integer(),
          },
          { requiredKeys: [] },
        ),
      ),
      fc.constantFrom<string[] | null>(null, ['url'], ['url', 'other'], ['other']),
      (events, fields) => {
        const encoder = new PackedSegmentEncoder()
        for (const [i, e] of events.entries()) encoder.add(i, i, null, e, JSON.stringify(e))
        const cursor = new PackedCursor(encoder.finish('0'.repeat(64)), fields)
        cursor.useStringIds(['url'])
        const idOf = new Map<string, number>()
        const dictionary = cursor.dictionary('url')
        for (const e of events) {
          assert.ok(cursor.next())
          const id = cursor.stringId(0)
          if (typeof e.url !== 'string' || (fields !== null && !fields.includes('url'))) {
            assert.equal(id, -1)
            continue
          }
          // A string with a lone surrogate is kept as JSON text (packed-segment.ts): no id.
          if (!e.url.isWellFormed()) {
            assert.equal(id, -1)
            continue
          }
          assert.ok(id >= 0 && dictionary !== undefined && id < dictionary.size)
          assert.equal(dictionary.get(id), e.url)
          assert.equal(idOf.get(e.url) ?? id, id)
          idOf.set(e.url, id)
        }
      },
    ),
    { numRuns: 200 },
  )
})

test("columnOf gives a whole column only when every record is of one layout holding the field so; its values are the events'", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({ url: fc.constantFrom('/a', '/b', '/é', ''), ts: fc.integer() }),
          fc.record({ url: fc.constantFrom('/a', '/c'), ts: fc.double() }),
          fc.record({ url: fc.integer(), ts: fc.integer() }),
          fc.record({ ts: fc.integer() }, { requiredKeys: [] }),
        ),
      ),
      fc.constantFrom<string[] | null>(null, ['url', 'ts'], ['url'], ['ts']),
      fc.boolean(),
      (events, fields, raw) => {
        const encoder = new PackedSegmentEncoder()
        for (const [i, e] of events.entries()) encoder.add(i, i, null, e, JSON.stringify(e))
        if (raw) encoder.add(events.length, events.length, null, {}, '{ }')
        const all = raw ? [...events, {}] : events
        const cursor = new PackedCursor(encoder.finish('0'.repeat(64)), fields)
        const shapes = new Set(
          all.map((e) =>
            Object.entries(e)
              .map(([k, v]) => `${k}:${typeof v}`)
              .join(','),
          ),
        )
        for (const [field, kind] of [
          ['url', 's'],
          ['ts', 'n'],
        ] as const) {
          const column = cursor.columnOf(field, kind)
          const decoded = fields === null || fields.includes(field)
          const single =
            all.length > 0 &&
            shapes.size === 1 &&
            typeof (all[0] as Record<string, unknown>)[field] === (kind === 's' ? 'string' : 'number')
          // Raw records (kept as their text) have no columns: never a whole column then.
          if (!decoded || !single || raw) {
            if (!(all.length > 0 && shapes.size === 1 && !raw && decoded && single)) {
              assert.equal(column, undefined, `${field}: ${[...shapes]}`)
            }
            continue
          }
          assert.ok(column !== undefined, `${field}: ${[...shapes]}`)
          assert.equal(column.length, all.length)
          const dictionary = cursor.dictionary(field)
          for (const [r, e] of all.entries()) {
            const value = (e as Record<string, unknown>)[field]
            if (kind === 's') assert.equal(dictionary?.get(column[r] as number), value)
            else assert.ok(Object.is(column[r], value) || (column[r] === 0 && value === 0))
          }
        }
      },
    ),
    { numRuns: 300 },
  )
})

// A reusing cursor hands out, per layout, one object whose fields are getters over the columns
// (packed-cursor.ts, lazyViewFor): every projected field must read the current record's value as
// the fresh object has it, and a field the layout lacks, whatever its name, must read undefined,
// even one named as the object's own machinery (at, r, constructor, K).
test('a reusing cursor reads the same fields as a fresh object, and nothing else', () => {
  const odd = ['at', 'r', 'K', 'constructor', 'toString']
  const encoder = new PackedSegmentEncoder()
  const events: Array<Record<string, unknown>> = []
  for (let i = 0; i < 60; i++) {
    const e: Record<string, unknown> =
      i % 3 === 0
        ? { type: `t${i % 4}`, n: i % 7 === 0 ? -0 : i / 3, ok: i % 2 === 0, none: null, at: `a${i}` }
        : i % 3 === 1
          ? { type: 'x', constructor: `c${i}`, r: i, K: [i] }
          : { n: 1e308, type: '' }
    const text = JSON.stringify(e)
    encoder.add(i, i, null, JSON.parse(text), text)
    events.push(JSON.parse(text))
  }
  const packed = encoder.finish('0'.repeat(64))
  const names = ['type', 'n', 'ok', 'none', 'missing', ...odd]
  for (const fields of [names, ['type', 'n'], ['at', 'constructor']]) {
    const fresh = new PackedCursor(packed, fields)
    const reused = new PackedCursor(packed, fields, true)
    for (let i = 0; fresh.next(); i++) {
      assert.ok(reused.next())
      const want = fresh.event() as Record<string, unknown>
      const got = reused.event() as Record<string, unknown>
      for (const name of names) {
        assert.deepEqual(got[name], want[name], `record ${i}, field ${name} of ${JSON.stringify(fields)}`)
        if (fields.includes(name) && Object.hasOwn(events[i]!, name))
          assert.deepEqual(got[name], events[i]![name])
      }
    }
    assert.equal(reused.next(), false)
  }
})

test('a column dictionary of thousands of strings (its table grown many times) stores each once and finds it again', () => {
  // Repeats far apart (not the last value): found through the table, not the last-value check.
  const distinct = Array.from({ length: 5000 }, (_, i) =>
    i % 3 === 0 ? `u${i}` : i % 3 === 1 ? `/p/é${i}` : `😀${i}`,
  )
  const urls = Array.from({ length: 20_000 }, (_, i) => distinct[(i * 7919) % distinct.length]!)
  const encoder = new PackedSegmentEncoder()
  for (const [i, url] of urls.entries()) encoder.add(i, i, url, { url }, JSON.stringify({ url }))
  const packed = encoder.finish('0'.repeat(64))
  const cursor = new PackedCursor(packed)
  cursor.useStringIds(['url'])
  const dictionary = cursor.dictionary('url')
  assert.equal(dictionary?.size, distinct.length)
  const idOf = new Map<string, number>()
  for (const url of urls) {
    assert.ok(cursor.next())
    assert.equal(cursor.key, url)
    const id = cursor.stringId(0)
    assert.equal(dictionary!.get(id), url)
    assert.equal(idOf.get(url) ?? id, id)
    idOf.set(url, id)
  }
  assert.equal(idOf.size, distinct.length)
})
