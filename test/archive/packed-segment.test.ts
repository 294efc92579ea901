import assert from 'node:assert/strict'
import { readFile, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import fc from 'fast-check'
import { PackedCursor, PackedSegmentEncoder } from '../../src/archive/packed-segment.ts'
import { openPackedSegment } from '../../src/archive/segment-reader.ts'
import { SegmentStore } from '../../src/archive/segment-store.ts'
import { buildSegment, range, tempDir } from './test-helpers.ts'

function decodeAll(packed: Buffer) {
  const cursor = new PackedCursor(packed)
  const out = []
  while (cursor.next()) {
    out.push({ offset: cursor.offset, timestamp: cursor.timestamp, key: cursor.key, event: cursor.event() })
  }
  return out
}

test('packed decode equals JSON.parse of the event text, for any JSON', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.oneof(
            fc.json(),
            fc.jsonValue().map((v) => JSON.stringify({ v, w: [v] })),
          ),
          fc.option(fc.string()),
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

test('a corrupt packed file is detected', () => {
  const packed = buildSegment(range(0, 20)).packer().finish('0'.repeat(64))
  packed[packed.length - 3]! ^= 1
  assert.throws(() => new PackedCursor(packed), { code: 'STRATA_ERR_SEGMENT_CORRUPT' })
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
