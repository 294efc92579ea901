import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createRecordsBatch, Reader, readRecordsBatch } from '@platformatic/kafka'
import { asBuffer, prepareRecords } from '../../../src/log/kafka/produce-batch.ts'
import { encodeProduceRequest } from '../../../src/log/kafka/produce-request.ts'

const records = prepareRecords(
  'events',
  [
    { key: 'user-1', value: '{"a":1}', headers: { source: 'test', n: '1' } },
    { value: 'no key', timestamp: 1_700_000_000_123 },
    { key: '', value: '' },
    { key: 'k', value: 'x'.repeat(300), timestamp: 1_699_999_999_000 },
    { key: 'ü', value: Buffer.from([0, 1, 2, 255]) },
    // Strings by each of writeData's paths (ASCII up to 16 characters, longer ASCII, UTF-8):
    // exactly 16 and 17 ASCII characters, Latin-1 characters, which are not ASCII, long and short,
    // and characters outside the BMP (a surrogate pair, 4 bytes).
    { key: 'abcdefghijklmnop', value: 'abcdefghijklmnopq' },
    { key: 'ÿé', value: `${'é'.repeat(20)} and ASCII after, past 16 characters` },
    { key: '😀', value: `{"emoji":"😀","url":"/p/1","user":"u1","ts":1700000000000,"more":"x"}` },
  ],
  3,
  1,
).map((record) => ({ ...record, partition: 2 }))

// Reads the body back: one topic, one partition, returns the record batch bytes.
function batchBytes(body: Buffer): Buffer {
  const reader = Reader.from(body)
  assert.equal(reader.readNullableString(), null) // transactional id
  assert.equal(reader.readInt16(), -1) // acks=all
  assert.equal(reader.readInt32(), 5000)
  assert.equal(reader.readUnsignedVarInt(), 2) // one topic
  assert.equal(reader.readString(), 'events')
  assert.equal(reader.readUnsignedVarInt(), 2) // one partition
  assert.equal(reader.readInt32(), 2)
  const length = reader.readUnsignedVarInt() - 1
  const bytes = body.subarray(reader.position, reader.position + length)
  reader.skip(length)
  assert.equal(reader.readUnsignedVarInt(), 0)
  assert.equal(reader.readUnsignedVarInt(), 0)
  assert.equal(reader.readUnsignedVarInt(), 0)
  assert.equal(reader.remaining, 0)
  return bytes
}

test('encodeProduceRequest writes the record batch platformatic writes, byte for byte', () => {
  const now = 1_700_000_000_000
  const body = encodeProduceRequest(
    [{ topic: 'events', partition: 2, records, producerId: 4242n, producerEpoch: 3, sequence: 17 }],
    5000,
    now,
  )
  const ours = batchBytes(body)
  const theirs = createRecordsBatch(
    records.map((r) => ({
      ...r,
      key: asBuffer(r.key),
      value: asBuffer(r.value),
      timestamp: r.timestamp ?? BigInt(now),
    })) as never,
    {
      producerId: 4242n,
      producerEpoch: 3,
      sequences: { getWithDefault: () => 17 },
      partitionLeaderEpoch: -1,
    } as never,
  ).buffer
  assert.deepEqual(ours, theirs)

  const batch = readRecordsBatch(Reader.from(ours))
  assert.equal(batch.producerId, 4242n)
  assert.equal(batch.firstSequence, 17)
  assert.equal(batch.records.length, records.length)
  assert.equal(batch.records[0]!.key?.toString(), 'user-1')
  assert.equal(batch.records[1]!.key, null)
  assert.equal(batch.records[3]!.value?.toString(), 'x'.repeat(300))
})

test('encodeProduceRequest: several topics and partitions in one request', () => {
  const body = encodeProduceRequest(
    [
      {
        topic: 'a',
        partition: 0,
        records: records.slice(0, 2),
        producerId: 1n,
        producerEpoch: 0,
        sequence: 0,
      },
      {
        topic: 'b',
        partition: 5,
        records: records.slice(2, 5),
        producerId: 1n,
        producerEpoch: 0,
        sequence: 9,
      },
      {
        topic: 'a',
        partition: 1,
        records: records.slice(1, 2),
        producerId: 1n,
        producerEpoch: 0,
        sequence: 3,
      },
    ],
    1000,
  )
  const reader = Reader.from(body)
  reader.readNullableString()
  reader.readInt16()
  reader.readInt32()
  const seen: string[] = []
  const topics = reader.readUnsignedVarInt() - 1
  for (let t = 0; t < topics; t++) {
    const name = reader.readString()
    const partitions = reader.readUnsignedVarInt() - 1
    for (let p = 0; p < partitions; p++) {
      const partition = reader.readInt32()
      const length = reader.readUnsignedVarInt() - 1
      const batch = readRecordsBatch(Reader.from(body.subarray(reader.position, reader.position + length)))
      reader.skip(length)
      reader.readUnsignedVarInt()
      seen.push(`${name}[${partition}] seq ${batch.firstSequence} × ${batch.records.length}`)
    }
    reader.readUnsignedVarInt()
  }
  assert.deepEqual(seen, ['a[0] seq 0 × 2', 'a[1] seq 3 × 1', 'b[5] seq 9 × 3'])
})
