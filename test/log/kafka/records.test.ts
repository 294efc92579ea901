// records.ts decodes record batches from the bytes a broker sends. The batches here are built by
// platformatic's encoder (the producer's, which Kafka itself accepts), with the base offset, the
// producer and the control bit patched in where a broker would set them; the decoder is checked
// against platformatic's own decoder plus the rules Strata relies on: offsets, the fetch offset
// inside a batch, compression, control batches, aborted transactions (read_committed) and a batch
// cut off by the fetch's size limit.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Reader, readRecordsBatches } from '@platformatic/kafka'
import { ErrorCodes, type StrataError } from '../../../src/core/errors.ts'
import { type AbortedTransaction, decodeRecordSet } from '../../../src/log/kafka/records.ts'
import { batchBytes, CONTROL, markerBytes } from './record-batches.ts'

const values = (set: Buffer, from = 0, aborted: AbortedTransaction[] | null = null) => {
  const { records, nextOffset } = decodeRecordSet('t', 2, set, from, aborted)
  return { got: records.map((r) => [r.offset, r.value.toString()]), nextOffset, records }
}

test('records decode with their offsets, keys, timestamps and headers across batches', () => {
  const set = Buffer.concat([
    batchBytes({ base: 10, values: ['a', 'b', 'c'], headers: true }),
    batchBytes({ base: 13, values: ['d', null], keys: false }),
  ])
  const { got, nextOffset, records } = values(set)
  assert.deepEqual(got, [
    [10, 'a'],
    [11, 'b'],
    [12, 'c'],
    [13, 'd'],
    [14, ''],
  ])
  assert.equal(nextOffset, 15)
  assert.equal(records[1]!.partition, 2)
  assert.equal(records[1]!.topic, 't')
  assert.equal(records[1]!.timestamp, 1_700_000_001_000)
  assert.equal(records[1]!.key?.toString(), 'k1')
  assert.equal(records[1]!.headers.h?.toString(), '1')
  assert.equal(records[3]!.key, null)
  assert.deepEqual(records[3]!.headers, {})
})

test('records before the fetch offset are dropped, and an empty set keeps the fetch offset', () => {
  const set = Buffer.concat([
    batchBytes({ base: 10, values: ['a', 'b', 'c'] }),
    batchBytes({ base: 13, values: ['d'] }),
  ])
  assert.deepEqual(values(set, 11).got, [
    [11, 'b'],
    [12, 'c'],
    [13, 'd'],
  ])
  assert.deepEqual(values(set, 13).got, [[13, 'd']])
  assert.deepEqual(decodeRecordSet('t', 0, Buffer.alloc(0), 7), { records: [], nextOffset: 7 })
})

for (const compression of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
  test(`a ${compression} batch decodes like an uncompressed one, from an offset inside it`, () => {
    const words = Array.from({ length: 50 }, (_, i) => `{"n":${i},"url":"/p/${i % 7}"}`)
    const set = Buffer.concat([
      batchBytes({ base: 100, values: words, compression, headers: true }),
      batchBytes({ base: 150, values: ['tail'] }),
    ])
    const { got, nextOffset } = values(set, 120)
    assert.deepEqual(got, [...words.slice(20).map((w, i) => [120 + i, w]), [150, 'tail']])
    assert.equal(nextOffset, 151)
  })
}

test('a batch cut off by the size limit is left for the next fetch', () => {
  const whole = Buffer.concat([
    batchBytes({ base: 0, values: ['a', 'b'] }),
    batchBytes({ base: 2, values: ['c', 'd'] }),
  ])
  const first = batchBytes({ base: 0, values: ['a', 'b'] }).length
  for (const cut of [first, first + 1, first + 11, first + 12, whole.length - 1]) {
    const { got, nextOffset } = values(whole.subarray(0, cut))
    assert.deepEqual(got, [
      [0, 'a'],
      [1, 'b'],
    ])
    assert.equal(nextOffset, 2, `cut at ${cut}`)
  }
  // Only part of the first batch: nothing, and the fetch offset stays.
  assert.deepEqual(values(whole.subarray(0, first - 1), 0), { got: [], nextOffset: 0, records: [] })
})

test('control batches are never records, and the next offset moves past them', () => {
  const set = Buffer.concat([
    batchBytes({ base: 0, values: ['a'], producerId: 7n, transactional: true }),
    markerBytes(1, 7n, 'commit'),
  ])
  assert.deepEqual(values(set), { got: [[0, 'a']], nextOffset: 2, records: values(set).records })
  assert.deepEqual(values(markerBytes(5, 7n, 'commit'), 5).got, [])
  assert.equal(values(markerBytes(5, 7n, 'commit'), 5).nextOffset, 6)
})

test('read_committed: an aborted transaction is dropped, a committed one and plain records kept', () => {
  const set = Buffer.concat([
    batchBytes({ base: 0, values: ['x1', 'x2'], producerId: 7n, transactional: true }), // aborted
    batchBytes({ base: 2, values: ['c1'], producerId: 8n, transactional: true }), // committed
    batchBytes({ base: 3, values: ['plain'] }),
    markerBytes(4, 7n, 'abort'),
    markerBytes(5, 8n, 'commit'),
    batchBytes({ base: 6, values: ['y1'], producerId: 7n, transactional: true }), // a later, committed one
    markerBytes(7, 7n, 'commit'),
  ])
  const aborted = [{ producerId: 7n, firstOffset: 0n }]
  const { got, nextOffset } = values(set, 0, aborted)
  assert.deepEqual(got, [
    [2, 'c1'],
    [3, 'plain'],
    [6, 'y1'],
  ])
  assert.equal(nextOffset, 8)
  // Without the broker's list (read_uncommitted) every data record is there.
  assert.equal(values(set, 0, null).got.length, 5)
})

test('read_committed: an aborted transaction whose marker the fetch did not reach is still dropped', () => {
  // The size limit cut the answer after the aborted records: the marker comes with the next fetch.
  const set = Buffer.concat([
    batchBytes({ base: 0, values: ['ok'] }),
    batchBytes({ base: 1, values: ['x1', 'x2'], producerId: 7n, transactional: true }),
    batchBytes({ base: 3, values: ['x3'], producerId: 7n, transactional: true }),
  ])
  const { got, nextOffset } = values(set, 0, [{ producerId: 7n, firstOffset: 1n }])
  assert.deepEqual(got, [[0, 'ok']])
  assert.equal(nextOffset, 4)
  // The next fetch starts at 4 with the marker: nothing, and past it.
  assert.deepEqual(values(markerBytes(4, 7n, 'abort'), 4, [{ producerId: 7n, firstOffset: 1n }]).got, [])
})

test('the decoder agrees with platformatic on random batch sets', () => {
  let seed = 42
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
    return seed / 2 ** 31
  }
  const codecs = [undefined, 'gzip', 'snappy', 'lz4', 'zstd'] as const
  for (let round = 0; round < 40; round++) {
    const parts: Buffer[] = []
    let base = Math.floor(random() * 1e6)
    const start = base
    for (let b = 0; b < 1 + Math.floor(random() * 5); b++) {
      const n = 1 + Math.floor(random() * 30)
      const vals = Array.from({ length: n }, () =>
        random() < 0.1 ? null : 'v'.repeat(Math.floor(random() * 300)) + String(random()),
      )
      const compression = codecs[Math.floor(random() * codecs.length)]
      parts.push(
        batchBytes({ base, values: vals, headers: random() < 0.5, ...(compression ? { compression } : {}) }),
      )
      base += n
    }
    const set = Buffer.concat(parts)
    const from = start + Math.floor(random() * (base - start))
    const expected = readRecordsBatches(Reader.from(set)).flatMap((batch) =>
      batch.records
        .map((r) => ({
          offset: Number(batch.firstOffset) + r.offsetDelta,
          key: r.key,
          value: r.value ?? Buffer.alloc(0),
          timestamp: Number(batch.firstTimestamp + r.timestampDelta),
          headers: Object.fromEntries(r.headers.map(([k, v]) => [String(k), v])),
        }))
        .filter((r) => r.offset >= from),
    )
    const { records, nextOffset } = decodeRecordSet('t', 0, set, from)
    assert.deepEqual(
      records.map(({ offset, key, value, timestamp, headers }) => ({
        offset,
        key,
        value,
        timestamp,
        headers,
      })),
      expected,
      `round ${round}`,
    )
    assert.equal(nextOffset, base)
  }
})

// Java's consumer checks every batch's CRC-32C (check.crcs); without it one damaged byte in a
// value is decoded into a different event, counted and archived with nothing to say so.
test('a batch with one damaged byte fails its CRC check: a retriable error naming it, nothing decoded', () => {
  for (const compression of [undefined, 'gzip'] as const) {
    const good = batchBytes({
      base: 40,
      values: ['{"a":1}', '{"a":2}'],
      ...(compression ? { compression } : {}),
    })
    assert.equal(decodeRecordSet('t', 3, good, 40).records.length, 2)
    for (const at of [21, 61, good.length - 2]) {
      const damaged = Buffer.from(good)
      damaged[at] = damaged[at]! ^ 0x04
      assert.throws(
        () => decodeRecordSet('t', 3, damaged, 40),
        (error: StrataError) =>
          error.code === ErrorCodes.KAFKA &&
          error.retriable &&
          /t\[3\]: the record batch at 40 fails its CRC check/.test(error.message),
        `byte ${at} of a ${compression ?? 'plain'} batch`,
      )
    }
  }
})

// The CRC covers the attributes and the last offset delta: a damaged one must not make a data
// batch be skipped as a control batch, an aborted one or one before the fetch offset (its records
// silently lost), nor a damaged abort marker be passed over (aborted records then delivered).
test('a damaged batch fails its CRC check even where it would be skipped: control bit, offsets, markers', () => {
  const data = () => batchBytes({ base: 10, values: ['a', 'b', 'c', 'd'] })
  const after = batchBytes({ base: 14, values: ['e'] })
  const fails = (set: Buffer, from: number, aborted: AbortedTransaction[] | null, what: string) =>
    assert.throws(
      () => decodeRecordSet('t', 2, set, from, aborted),
      (error: StrataError) => error.retriable && /fails its CRC check/.test(error.message),
      what,
    )
  // The control bit flipped on in a data batch.
  const control = data()
  control[22] = control[22]! ^ CONTROL
  fails(Buffer.concat([control, after]), 10, null, 'a data batch read as a control batch')
  // The last offset delta damaged so the batch seems to end before the fetch offset.
  const short = data()
  short.writeInt32BE(0, 23)
  fails(Buffer.concat([short, after]), 12, null, 'a batch read as ending before fromOffset')
  // An abort marker with a damaged producer id: the aborted producer would stay "aborting" for ever.
  const marker = markerBytes(20, 7n, 'abort')
  marker[50] = marker[50]! ^ 0x01
  fails(marker, 0, [{ producerId: 7n, firstOffset: 15n }], 'a damaged abort marker')
})

// The batch length is outside the CRC: a damaged one must not walk the decoder backwards (a hang)
// or over the header.
test('a batch length shorter than a batch header is refused, retriable, never looped on', () => {
  for (const length of [-12, 0, 48]) {
    const damaged = batchBytes({ base: 7, values: ['{"a":1}'] })
    damaged.writeInt32BE(length, 8)
    assert.throws(
      () => decodeRecordSet('t', 0, damaged, 7),
      (error: StrataError) => error.retriable && /impossible length/.test(error.message),
      `length ${length}`,
    )
  }
})

// The magic byte is outside the CRC too; Kafka 4 serves format 2 only, so another value is damage:
// retriable (the fetcher asks again, a lasting one is the partition's read trouble), not fatal.
test('a batch whose format byte is not 2 is refused, retriable, naming the batch', () => {
  for (const magic of [0, 1, 3, 0x82]) {
    const damaged = batchBytes({ base: 9, values: ['{"a":1}'] })
    damaged[16] = magic
    assert.throws(
      () => decodeRecordSet('t', 4, damaged, 9),
      (error: StrataError) =>
        error.code === ErrorCodes.KAFKA &&
        error.retriable &&
        new RegExp(`t\\[4\\]: a record batch at 9 says format ${magic}`).test(error.message),
      `magic ${magic}`,
    )
  }
})
