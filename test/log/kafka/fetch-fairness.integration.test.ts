// One fetch asks for several partitions of one leader. The broker fills the answer in the order
// the request lists the partitions (and gives only the first partition with records a batch larger
// than the size limits, KIP-74), so with the same order every time a partition listed late gets
// nothing for as long as the ones before it have records: under sustained load its lag grows
// without bound. A fetch session (KIP-227) used to avoid that: the broker moves the partitions that
// returned records to the end of the session. Without sessions the fetcher must rotate itself.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Producer, stringSerializers } from '@platformatic/kafka'
import { createFetcher } from '../../../src/log/kafka/fetcher.ts'
import { brokers, createTestTopic, defer, testAdmin } from './helpers.ts'

test('a partition listed second is answered before the first one runs out of records', async (t) => {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, 2)
  const producer = new Producer({
    clientId: 'strata-test-fairness',
    bootstrapBrokers: [brokers],
    serializers: stringSerializers,
  })
  defer(t, () => producer.close())
  // Partition 0: six batches (one send each); partition 1: one record.
  for (let i = 0; i < 6; i++) {
    await producer.send({ messages: [{ topic, partition: 0, key: 'k', value: `p0.${i}` }] })
  }
  await producer.send({ messages: [{ topic, partition: 1, key: 'k', value: 'p1.0' }] })
  const fetcher = createFetcher({ brokers })
  defer(t, () => fetcher.close())
  const offsets = [0, 0]
  const roundsWithRecords = [0, 0]
  let firstForPartition1 = -1
  // A tight size limit: one batch per answer (the first partition with records gets one whole batch).
  for (let round = 1; round <= 7 && firstForPartition1 < 0; round++) {
    const batches = await fetcher.fetch(
      [
        { topic, partition: 0, offset: offsets[0]! },
        { topic, partition: 1, offset: offsets[1]! },
      ],
      { maxBytes: 1, maxBytesPerPartition: 1, maxWaitMs: 100 },
    )
    for (const batch of batches) {
      offsets[batch.partition] = batch.nextOffset
      if (batch.records.length > 0) roundsWithRecords[batch.partition]!++
      if (batch.partition === 1 && batch.records.length > 0) firstForPartition1 = round
    }
  }
  assert.ok(firstForPartition1 > 0, 'partition 1 was never answered')
  // Before the fetcher sent its own requests (platformatic's fetch session) this was 2 of 6.
  assert.ok(
    roundsWithRecords[0]! < 6,
    `partition 1 got its first record in fetch ${firstForPartition1}, only after all ${roundsWithRecords[0]} batches of partition 0`,
  )
})
