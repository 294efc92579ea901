// A topic with message.timestamp.type=LogAppendTime: the broker stamps each batch with its append
// time by setting the batch's maxTimestamp and the timestampType attribute bit (3); the records'
// own timestamp deltas keep the producer's CreateTime. A consumer must report maxTimestamp for every
// record of such a batch (Kafka's DefaultRecordBatch: logAppendTime = maxTimestamp()), as the
// ConsumedRecord.timestamp doc promises.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { Producer, stringSerializers } from '@platformatic/kafka'
import { readPartition } from '../../../src/log/kafka/index.ts'
import { brokers, defer, testAdmin } from './helpers.ts'

test('records of a LogAppendTime topic carry the broker append time, not the producer time', async (t) => {
  const admin = testAdmin(t)
  const topic = `test-${randomUUID()}`
  await admin.createTopic({
    topic,
    partitions: 1,
    replicationFactor: 1,
    configs: { 'message.timestamp.type': 'LogAppendTime' },
  })
  defer(t, () => admin.deleteTopic(topic))
  const producer = new Producer({
    clientId: 'strata-test-lat',
    bootstrapBrokers: [brokers],
    serializers: stringSerializers,
  })
  defer(t, () => producer.close())
  const before = Date.now()
  // A producer timestamp far in the past: the broker must override it.
  await producer.send({ messages: [{ topic, partition: 0, key: 'k', value: 'v', timestamp: 1_000_000n }] })
  const [record] = await readPartition({ brokers, topic, partition: 0 })
  assert.ok(record)
  assert.notEqual(
    record.timestamp,
    1_000_000,
    'the producer CreateTime was reported on a LogAppendTime topic',
  )
  assert.ok(record.timestamp >= before - 60_000, `timestamp ${record.timestamp} is not the append time`)
})
