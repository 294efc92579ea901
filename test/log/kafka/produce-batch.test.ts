import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCodes, StrataError } from '../../../src/core/errors.ts'
import { partitionForKey } from '../../../src/log/kafka/partitioner.ts'
import { prepareRecords } from '../../../src/log/kafka/produce-batch.ts'

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
