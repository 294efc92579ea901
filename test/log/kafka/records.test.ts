import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { RecordsBatch } from '@platformatic/kafka'
import { decodeBatches } from '../../../src/log/kafka/records.ts'

function batch(firstOffset: number, values: (string | null)[], attributes = 0): RecordsBatch {
  return {
    firstOffset: BigInt(firstOffset),
    length: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes,
    lastOffsetDelta: values.length - 1,
    firstTimestamp: 1_700_000_000_000n,
    maxTimestamp: 1_700_000_000_000n,
    producerId: -1n,
    producerEpoch: -1,
    firstSequence: -1,
    records: values.map((value, i) => ({
      length: 0,
      attributes: 0,
      timestampDelta: BigInt(i),
      offsetDelta: i,
      key: i === 0 ? Buffer.from('k') : null,
      value: value === null ? null : Buffer.from(value),
      headers: [[Buffer.from('h'), Buffer.from(String(i))]],
    })),
  }
}

test('decodeBatches drops records before the fetch offset and reports the next offset', () => {
  const { records, nextOffset } = decodeBatches('t', 3, [batch(10, ['a', 'b', 'c']), batch(13, ['d'])], 11)
  assert.deepEqual(
    records.map((r) => [r.offset, r.value.toString()]),
    [
      [11, 'b'],
      [12, 'c'],
      [13, 'd'],
    ],
  )
  assert.equal(nextOffset, 14)
  assert.equal(records[0]!.partition, 3)
  assert.equal(records[0]!.timestamp, 1_700_000_000_001)
  assert.equal(records[0]!.headers.h?.toString(), '1')
  assert.equal(records[0]!.key, null)
})

test('decodeBatches skips control batches but moves past them', () => {
  const control = 0b10_0000
  const { records, nextOffset } = decodeBatches('t', 0, [batch(0, ['a']), batch(1, ['marker'], control)], 0)
  assert.deepEqual(
    records.map((r) => r.value.toString()),
    ['a'],
  )
  assert.equal(nextOffset, 2)
})

test('decodeBatches keeps the fetch offset when nothing came back, and maps a null value to empty', () => {
  assert.deepEqual(decodeBatches('t', 0, [], 7), { records: [], nextOffset: 7 })
  const { records } = decodeBatches('t', 0, [batch(0, [null])], 0)
  assert.equal(records[0]!.value.length, 0)
})
