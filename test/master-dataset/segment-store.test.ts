import assert from 'node:assert/strict'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { readRecords, readSegment } from '../../src/master-dataset/segment-reader.ts'
import { SegmentStore } from '../../src/master-dataset/segment-store.ts'
import { buildSegment, pageView, range, tempDir } from './test-helpers.ts'

async function collect(root: string, partition: number, bounds = {}) {
  const out = []
  for await (const batch of readRecords(root, partition, bounds)) out.push(...batch)
  return out
}

test('a segment round-trips: names, sidecar in sha256sum format, records, nextOffset', async (t) => {
  const root = await tempDir(t)
  const store = await SegmentStore.open(root)
  assert.equal(await store.nextOffset(3), 0)
  const first = buildSegment(range(0, 10))
  assert.equal(await store.writeSegment(3, { start: 0, end: 10 }, first.data(), first.packer()), 'written')
  // Offsets 12 and 14 are gaps (say transaction markers): the range still accounts for them.
  const second = buildSegment([10, 11, 13])
  await store.writeSegment(3, { start: 10, end: 15 }, second.data(), second.packer())
  assert.deepEqual(await store.segments(3), [
    { start: 0, end: 10 },
    { start: 10, end: 15 },
  ])
  assert.equal(await store.nextOffset(3), 15)
  assert.deepEqual(await store.partitions(), [3])
  const names = (await readdir(join(root, 'p0003'))).sort()
  assert.deepEqual(names, [
    '00000000000000000000-00000000000000000010.ndjson',
    '00000000000000000000-00000000000000000010.ndjson.sha256',
    '00000000000000000000-00000000000000000010.packed',
    '00000000000000000010-00000000000000000015.ndjson',
    '00000000000000000010-00000000000000000015.ndjson.sha256',
    '00000000000000000010-00000000000000000015.packed',
    'first-offset',
  ])
  const sidecar = await readFile(join(root, 'p0003', names[1]!), 'utf8')
  assert.match(sidecar, /^[0-9a-f]{64} {2}00000000000000000000-00000000000000000010\.ndjson\n$/)

  const records = await collect(root, 3)
  assert.deepEqual(
    records.map((r) => r.offset),
    [...range(0, 12), 13],
  )
  for (const record of records) {
    const expected = pageView(record.offset)
    assert.equal(record.value.toString(), expected.value.toString())
    assert.equal(record.key, expected.key)
    assert.equal(record.timestamp, expected.timestamp)
  }
  // A horizon bound: offsets in [5, 11).
  assert.deepEqual(
    (await collect(root, 3, { from: 5, to: 11 })).map((r) => r.offset),
    [5, 6, 7, 8, 9, 10],
  )
})

test('a checksum mismatch is SEGMENT_CORRUPT on read', async (t) => {
  const root = await tempDir(t)
  const store = await SegmentStore.open(root)
  const segment = buildSegment(range(0, 5))
  await store.writeSegment(0, { start: 0, end: 5 }, segment.data())
  const file = join(root, 'p0000', '00000000000000000000-00000000000000000005.ndjson')
  const bytes = await readFile(file)
  bytes[bytes.indexOf('/p/3')] = 0x71 // one byte flipped: "/p/" becomes "q/p/"-like garbage
  await writeFile(file, bytes)
  await assert.rejects(readSegment(root, 0, { start: 0, end: 5 }), { code: 'STRATA_ERR_SEGMENT_CORRUPT' })
  await assert.rejects(collect(root, 0), { code: 'STRATA_ERR_SEGMENT_CORRUPT' })
})

test('rewriting a segment: identical bytes are accepted, different bytes are a conflict', async (t) => {
  const root = await tempDir(t)
  const store = await SegmentStore.open(root)
  const segment = buildSegment(range(0, 5))
  await store.writeSegment(0, { start: 0, end: 5 }, segment.data())
  assert.equal(
    await store.writeSegment(0, { start: 0, end: 5 }, buildSegment(range(0, 5)).data()),
    'identical',
  )
  const other = buildSegment(range(0, 4))
  await assert.rejects(store.writeSegment(0, { start: 0, end: 5 }, other.data()), {
    code: 'STRATA_ERR_SEGMENT_CONFLICT',
  })
  // An overlapping range with another name, and a segment that would leave a gap.
  await assert.rejects(store.writeSegment(0, { start: 3, end: 8 }, buildSegment(range(5, 8)).data()), {
    code: 'STRATA_ERR_SEGMENT_CONFLICT',
  })
  await assert.rejects(store.writeSegment(0, { start: 6, end: 8 }, buildSegment(range(6, 8)).data()), {
    code: 'STRATA_ERR_SEGMENT_CORRUPT',
  })
  // Records outside the range they are written under are refused.
  await assert.rejects(store.writeSegment(0, { start: 5, end: 7 }, buildSegment(range(5, 8)).data()), {
    code: 'STRATA_ERR_SEGMENT_CORRUPT',
  })
  assert.equal(await store.nextOffset(0), 5)
})

test('a gap or an overlap between segment files is detected', async (t) => {
  const root = await tempDir(t)
  const store = await SegmentStore.open(root)
  for (const [start, end] of [
    [0, 5],
    [5, 9],
    [9, 12],
  ] as const) {
    await store.writeSegment(1, { start, end }, buildSegment(range(start, end)).data())
  }
  const dir = join(root, 'p0001')
  const middle = '00000000000000000005-00000000000000000009.ndjson'
  const bytes = await readFile(join(dir, middle))
  await writeFile(join(dir, '00000000000000000004-00000000000000000009.ndjson'), bytes)
  await assert.rejects(store.nextOffset(1), { code: 'STRATA_ERR_SEGMENT_CONFLICT' })
  const { unlink } = await import('node:fs/promises')
  await unlink(join(dir, '00000000000000000004-00000000000000000009.ndjson'))
  await unlink(join(dir, middle))
  await assert.rejects(store.nextOffset(1), { code: 'STRATA_ERR_SEGMENT_CORRUPT', message: /\[5, 9\)/ })
})

test('opening a store removes crash leftovers and restores a lost sidecar on rewrite', async (t) => {
  const root = await tempDir(t)
  const store = await SegmentStore.open(root)
  const segment = buildSegment(range(0, 5))
  await store.writeSegment(0, { start: 0, end: 5 }, segment.data())
  const dir = join(root, 'p0000')
  // What a crash can leave: a temp file, a sidecar and a packed cache for a segment never committed.
  await writeFile(join(dir, '.00000000000000000005-00000000000000000009.ndjson.123.ab.tmp'), 'partial')
  await writeFile(join(dir, '00000000000000000005-00000000000000000009.ndjson.sha256'), 'x')
  await writeFile(join(dir, '00000000000000000005-00000000000000000009.packed'), 'x')
  await SegmentStore.open(root)
  assert.deepEqual((await readdir(dir)).sort(), [
    '00000000000000000000-00000000000000000005.ndjson',
    '00000000000000000000-00000000000000000005.ndjson.sha256',
    'first-offset',
  ])
  const { unlink } = await import('node:fs/promises')
  await unlink(join(dir, '00000000000000000000-00000000000000000005.ndjson.sha256'))
  await assert.rejects(readSegment(root, 0, { start: 0, end: 5 }), { code: 'STRATA_ERR_SEGMENT_CORRUPT' })
  assert.equal(await store.writeSegment(0, { start: 0, end: 5 }, segment.data()), 'identical')
  assert.equal((await readSegment(root, 0, { start: 0, end: 5 })).length, segment.bytes)
})
