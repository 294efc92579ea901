import assert from 'node:assert/strict'
import { test } from 'node:test'
import { StrataError } from '../../../src/core/errors.ts'
import {
  normalizeOffsets,
  resolveStartOffsets,
  type TopicPartition,
} from '../../../src/log/kafka/start-offsets.ts'

test('normalizeOffsets accepts a partition map for one topic, or a list for any', () => {
  assert.deepEqual(
    normalizeOffsets(
      new Map([
        [0, 5],
        [2, 0],
      ]),
      ['events'],
    ),
    new Map([
      ['events:0', 5],
      ['events:2', 0],
    ]),
  )
  assert.deepEqual(
    normalizeOffsets([{ topic: 'b', partition: 1, offset: 9 }], ['a', 'b']),
    new Map([['b:1', 9]]),
  )
  assert.deepEqual(normalizeOffsets(undefined, ['a']), new Map())
  assert.throws(() => normalizeOffsets(new Map([[0, 1]]), ['a', 'b']), StrataError)
  assert.throws(() => normalizeOffsets(new Map([[0, -1]]), ['a']), StrataError)
  assert.throws(() => normalizeOffsets(new Map([[0, 1.5]]), ['a']), StrataError)
})

test('resolveStartOffsets: the caller first, then the committed offset, then the earliest', async () => {
  const asked: { committed: TopicPartition[][]; earliest: TopicPartition[][] } = {
    committed: [],
    earliest: [],
  }
  const starts = await resolveStartOffsets(
    [0, 1, 2, 3].map((partition) => ({ topic: 't', partition })),
    new Map([['t:0', 42]]),
    {
      committed: async (partitions) => {
        asked.committed.push(partitions)
        return new Map([['t:1', 17]])
      },
      earliest: async (partitions) => {
        asked.earliest.push(partitions)
        return new Map([
          ['t:2', 3],
          ['t:3', 0],
        ])
      },
    },
  )
  assert.deepEqual(
    starts.map((s) => s.offset),
    [42, 17, 3, 0],
  )
  assert.deepEqual(
    asked.committed[0]!.map((p) => p.partition),
    [1, 2, 3],
  )
  assert.deepEqual(
    asked.earliest[0]!.map((p) => p.partition),
    [2, 3],
  )
})

test('resolveStartOffsets asks the broker nothing when the caller knows every offset', async () => {
  const fail = async (): Promise<Map<string, number>> => {
    throw new Error('should not be asked')
  }
  const starts = await resolveStartOffsets([{ topic: 't', partition: 0 }], new Map([['t:0', 1]]), {
    committed: fail,
    earliest: fail,
  })
  assert.deepEqual(starts, [{ topic: 't', partition: 0, offset: 1 }])
})
