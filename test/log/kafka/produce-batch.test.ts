import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCodes, StrataError } from '../../../src/core/errors.ts'
import { partitionForKey } from '../../../src/log/kafka/partitioner.ts'
import {
  chunkRecords,
  positionsFromBaseOffsets,
  prepareRecords,
} from '../../../src/log/kafka/produce-batch.ts'

test('prepareRecords: keyed records by murmur2, keyless to the sticky partition, explicit ones kept', () => {
  const prepared = prepareRecords(
    't',
    [
      { key: 'user-42', value: 'a' },
      { value: 'b' },
      { key: null, value: 'c' },
      { key: 'x', value: 'd', partition: 5 },
    ],
    6,
    2,
  )
  assert.deepEqual(
    prepared.map((r) => r.partition),
    [partitionForKey('user-42', 6), 2, 2, 5],
  )
  assert.equal(prepared[0]!.key!.toString(), 'user-42')
  assert.equal(prepared[1]!.key, undefined)
  assert.equal(prepared[3]!.value.toString(), 'd')
})

test('prepareRecords: headers become bytes, timestamps bigint, sizes grow with content', () => {
  const [small, large] = prepareRecords(
    't',
    [
      { value: 'v', timestamp: 1_700_000_000_000 },
      { value: 'v'.repeat(1000), headers: { origin: 'kcat' } },
    ],
    1,
    0,
  )
  assert.equal(small!.timestamp, 1_700_000_000_000n)
  assert.equal(large!.headers?.size, 1)
  const [[name, value]] = [...large!.headers!]
  assert.equal(name.toString(), 'origin')
  assert.equal(value.toString(), 'kcat')
  assert.ok(large!.bytes > small!.bytes + 999)
})

test('prepareRecords refuses a missing value and a partition outside the topic', () => {
  const invalid = (error: unknown) =>
    error instanceof StrataError && error.code === ErrorCodes.INVALID_ARGUMENT
  assert.throws(() => prepareRecords('t', [{ value: undefined as unknown as string }], 3, 0), invalid)
  assert.throws(() => prepareRecords('t', [{ value: 'v', partition: 3 }], 3, 0), invalid)
  assert.throws(() => prepareRecords('t', [{ value: 'v', partition: -1 }], 3, 0), invalid)
})

test('chunkRecords keeps order, respects the byte budget, and never splits nothing', () => {
  const records = prepareRecords(
    't',
    Array.from({ length: 50 }, (_, i) => ({ value: 'x'.repeat(i * 10) })),
    1,
    0,
  )
  const chunks = chunkRecords(records, 2000)
  assert.deepEqual(chunks.flat(), records)
  for (const chunk of chunks) {
    const bytes = chunk.reduce((sum, r) => sum + r.bytes, 0)
    assert.ok(bytes <= 2000 || chunk.length === 1, `chunk of ${bytes} bytes`)
  }
  assert.ok(chunks.length > 1)
  assert.deepEqual(chunkRecords([], 100), [])
})

test('positionsFromBaseOffsets: the n-th record of a partition sits at base + n', () => {
  const records = [
    { topic: 'a', partition: 0 },
    { topic: 'a', partition: 1 },
    { topic: 'a', partition: 0 },
    { topic: 'b', partition: 0 },
    { topic: 'a', partition: 0 },
  ]
  const positions = positionsFromBaseOffsets(
    records,
    new Map([
      ['a:0', 100],
      ['a:1', 7],
      ['b:0', 0],
    ]),
  )
  assert.deepEqual(positions, [
    { partition: 0, offset: 100 },
    { partition: 1, offset: 7 },
    { partition: 0, offset: 101 },
    { partition: 0, offset: 0 },
    { partition: 0, offset: 102 },
  ])
  assert.throws(() => positionsFromBaseOffsets([{ topic: 'a', partition: 2 }], new Map()), StrataError)
})
