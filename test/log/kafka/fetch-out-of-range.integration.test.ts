// A fetch whose partitions' offsets are out of range (OFFSET_OUT_OF_RANGE in the answer, per
// partition). Retention outran the role: the role stops with STRATA_ERR_RETENTION_OUTRAN naming
// every partition that lost records and their sum, the number the operator acts on
// (docs/master-dataset.md#retention-outran), not only the first partition the answer listed.
// Past the end of the log: SOURCE_MISMATCH, naming the partition; a partition in range beside it
// does not change that.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Producer, stringSerializers } from '@platformatic/kafka'
import { ErrorCodes, type StrataError } from '../../../src/core/errors.ts'
import { createFetcher } from '../../../src/log/kafka/fetcher.ts'
import { RetentionOutranError } from '../../../src/log/kafka/retention.ts'
import { brokers, createTestTopic, defer, testAdmin } from './helpers.ts'

async function topicWithRecords(t: Parameters<typeof testAdmin>[0], perPartition: number): Promise<string> {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, 2)
  const producer = new Producer({
    clientId: 'strata-test-oor',
    bootstrapBrokers: [brokers],
    serializers: stringSerializers,
  })
  defer(t, () => producer.close())
  for (const partition of [0, 1]) {
    const messages = Array.from({ length: perPartition }, (_, i) => ({
      topic,
      partition,
      key: 'k',
      value: `${i}`,
    }))
    await producer.send({ messages })
  }
  return topic
}

test('retention outran two partitions of one answer: the refusal names both and counts both', async (t) => {
  const topic = await topicWithRecords(t, 10)
  const admin = testAdmin(t)
  await admin.deleteRecords(topic, 0, 4)
  await admin.deleteRecords(topic, 1, 7)
  const fetcher = createFetcher({ brokers })
  defer(t, () => fetcher.close())
  await assert.rejects(
    fetcher.fetch(
      [
        { topic, partition: 0, offset: 1 },
        { topic, partition: 1, offset: 2 },
      ],
      { maxWaitMs: 100 },
    ),
    (error: StrataError) => {
      assert.ok(error instanceof RetentionOutranError, `${error.code}: ${error.message}`)
      assert.deepEqual(error.partitions.map((p) => [p.partition, p.offset, p.logStart, p.lost]).sort(), [
        [0, 1, 4, 3],
        [1, 2, 7, 5],
      ])
      assert.equal(error.lost, 8)
      return true
    },
  )
})

test('an offset past the end beside one in range: SOURCE_MISMATCH naming that partition', async (t) => {
  const topic = await topicWithRecords(t, 3)
  const fetcher = createFetcher({ brokers })
  defer(t, () => fetcher.close())
  await assert.rejects(
    fetcher.fetch(
      [
        { topic, partition: 0, offset: 0 },
        { topic, partition: 1, offset: 50 },
      ],
      { maxWaitMs: 100 },
    ),
    (error: StrataError) =>
      error.code === ErrorCodes.SOURCE_MISMATCH &&
      error.message.includes(`${topic}[1] at 50, log end 3`) &&
      !error.message.includes(`${topic}[0]`),
  )
})
