import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCodes, StrataError } from '../../../src/core/errors.ts'
import { partitionForKey } from '../../../src/log/kafka/partitioner.ts'
import {
  chunkRecords,
  positionsFromBaseOffsets,
  prepareRecords,
  RequestBudget,
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

test('chunkRecords keeps order and respects the request and the per-partition budgets', () => {
  const records = prepareRecords(
    't',
    Array.from({ length: 60 }, (_, i) => ({ value: 'x'.repeat(i * 10), partition: i % 3 })),
    3,
    0,
  )
  const limits = { maxRequestBytes: 6000, maxBatchBytes: 2500 }
  const chunks = chunkRecords(records, limits)
  assert.deepEqual(chunks.flat(), records)
  assert.ok(chunks.length > 1)
  for (const chunk of chunks) {
    const total = chunk.reduce((sum, r) => sum + r.bytes, 0)
    assert.ok(total <= 6000 || chunk.length === 1, `request of ${total} bytes`)
    for (const partition of [0, 1, 2]) {
      const batch = chunk.filter((r) => r.partition === partition).reduce((sum, r) => sum + r.bytes, 0)
      assert.ok(batch <= 2500 || chunk.length === 1, `batch of ${batch} bytes`)
    }
  }
  assert.deepEqual(chunkRecords([], limits), [])
})

test('RequestBudget: a partition can be full while the request still has room for others', () => {
  const budget = new RequestBudget({ maxRequestBytes: 1000, maxBatchBytes: 400 })
  budget.add([{ topic: 't', partition: 0, bytes: 300 }])
  assert.equal(budget.fits([{ topic: 't', partition: 0, bytes: 200 }]), false)
  assert.equal(budget.fits([{ topic: 't', partition: 1, bytes: 200 }]), true)
  assert.equal(
    budget.fits([
      { topic: 't', partition: 1, bytes: 300 },
      { topic: 't', partition: 1, bytes: 300 },
    ]),
    false,
    'records of one call add up per partition',
  )
  budget.add([{ topic: 't', partition: 1, bytes: 400 }])
  assert.equal(budget.fits([{ topic: 't', partition: 2, bytes: 301 }]), false, 'the request total')
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
