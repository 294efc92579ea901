// read_committed against a real broker (records.ts decodes the batches, fetcher.ts keeps each
// partition's record set as bytes): records of aborted transactions are never delivered, whether
// the abort marker comes in the same answer or in a later one (a small fetch size cuts the answer
// between them), and the next offset always moves past the markers. Compressed transactional
// batches too. And the same fetched as spans (recordSpans), its `records` decoded when read.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { Producer, stringSerializers } from '@platformatic/kafka'
import { readPartition } from '../../../src/log/kafka/index.ts'
import { brokers, createTestTopic, defer, testAdmin } from './helpers.ts'

test('aborted transactions are never read, in one fetch or cut across several', async (t) => {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, 1)
  const producer = new Producer({
    clientId: 'strata-test-tx',
    bootstrapBrokers: [brokers],
    idempotent: true,
    transactionalId: `strata-test-${randomUUID()}`,
    serializers: stringSerializers,
    compression: 'lz4',
  })
  defer(t, () => producer.close())
  const expected: string[] = []
  // Alternating: committed, aborted (large, several batches), plain-in-a-transaction committed.
  for (let round = 0; round < 4; round++) {
    const commit = await producer.beginTransaction()
    for (let i = 0; i < 3; i++) {
      const value = `c${round}.${i}`
      await commit.send({ messages: [{ topic, partition: 0, key: 'k', value }] })
      expected.push(value)
    }
    await commit.commit()
    const abort = await producer.beginTransaction()
    for (let i = 0; i < 5; i++) {
      await abort.send({
        messages: [{ topic, partition: 0, key: 'k', value: `x${round}.${i}:${'y'.repeat(2000)}` }],
      })
    }
    await abort.abort()
  }
  const whole = await readPartition({ brokers, topic, partition: 0 })
  assert.deepEqual(
    whole.map((r) => r.value.toString().split(':')[0]),
    expected,
  )
  // One batch per answer or so: the abort markers arrive in answers of their own.
  const cut = await readPartition({ brokers, topic, partition: 0, maxBytesPerPartition: 1, maxBytes: 1 })
  assert.deepEqual(
    cut.map((r) => r.value.toString().split(':')[0]),
    expected,
  )
  // Offsets are the log's: strictly increasing, with gaps where markers and aborted records lie.
  const offsets = cut.map((r) => r.offset)
  assert.deepEqual(
    offsets,
    whole.map((r) => r.offset),
  )
  for (let i = 1; i < offsets.length; i++) assert.ok(offsets[i]! > offsets[i - 1]!)
  // Fetched as spans (FetchOptions.recordSpans, what the speed layer asks for with fold threads),
  // a batch's `records` are decoded only when read: the same records, whole or cut, aborted
  // transactions left out alike.
  for (const sizes of [{}, { maxBytesPerPartition: 1, maxBytes: 1 }]) {
    const spanned = await readPartition({ brokers, topic, partition: 0, recordSpans: true, ...sizes })
    assert.deepEqual(
      spanned.map((r) => [r.offset, r.value.toString()]),
      whole.map((r) => [r.offset, r.value.toString()]),
    )
  }
})

// The speed layer reads committed records only, so a transaction still open holds it at the last
// stable offset: /health's "records waiting" (the end offsets listOffsets gives) must end there
// too. With the high watermark, an upstream producer whose transactions stay open a minute (a
// checkpoint interval) made the speed partition "stalled" for most of each minute (r13-user).
test('latest offsets stop at an open transaction: what a read_committed reader can reach', async (t) => {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, 1)
  const producer = new Producer({
    clientId: 'strata-test-tx-open',
    bootstrapBrokers: [brokers],
    idempotent: true,
    transactionalId: `strata-test-${randomUUID()}`,
    serializers: stringSerializers,
  })
  defer(t, () => producer.close())
  const committed = await producer.beginTransaction()
  await committed.send({ messages: [{ topic, partition: 0, key: 'k', value: 'a' }] })
  await committed.commit()
  const open = await producer.beginTransaction()
  const sent = await open.send({ messages: [{ topic, partition: 0, key: 'k', value: 'b' }] })
  const first = Number(sent.offsets![0]!.offset) // past 'a' and its commit marker
  assert.equal((await admin.listOffsets(topic))[0]!.latest, first, 'the open transaction is not readable yet')
  await open.commit()
  // Committed: readable once its marker is written (the coordinator writes it after answering).
  while ((await admin.listOffsets(topic))[0]!.latest <= first) await new Promise((r) => setTimeout(r, 50))
})
