// POST /events and the SDK call against a real broker: what 202 reports is what Kafka holds.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createIngest } from '../../src/ingest/ingest.ts'
import { createKafkaSink } from '../../src/ingest/kafka-sink.ts'
import { partitionForKey, readPartition } from '../../src/log/kafka/index.ts'
import { createServer } from '../../src/serving/server.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { brokers, freshTopic } from '../helpers/kafka.ts'

test('POST /events writes every event where the 202 says, keyed by the key field', async (t) => {
  const defer = deferrer(t)
  const topic = await freshTopic(t, 3)
  const sink = createKafkaSink({ brokers, topic, partitions: 3 })
  defer(() => sink.close())
  const app = await createServer({ ingest: createIngest({ sink, keyField: 'user' }) })
  defer(() => app.close())

  const events = Array.from({ length: 50 }, (_, i) => ({
    type: 'page_view',
    url: `/p${i % 7}`,
    user: `u${i % 5}`,
    ts: 1764000000000 + i,
  }))
  const body = events.map((e) => JSON.stringify(e)).join('\n')
  const res = await app.inject({
    method: 'POST',
    url: '/events',
    payload: body,
    headers: { 'content-type': 'application/x-ndjson' },
  })
  assert.equal(res.statusCode, 202)
  const { count, records } = res.json() as { count: number; records: { partition: number; offset: number }[] }
  assert.equal(count, 50)

  const byPartition = await Promise.all(
    [0, 1, 2].map((partition) => readPartition({ brokers, topic, partition })),
  )
  for (const [i, { partition, offset }] of records.entries()) {
    assert.equal(partition, partitionForKey(events[i].user, 3), `event ${i} partition`)
    const record = byPartition[partition].find((r) => r.offset === offset)
    assert.ok(record, `event ${i} at ${partition}/${offset}`)
    assert.deepEqual(JSON.parse(record.value.toString()), events[i])
    assert.equal(record.key?.toString(), events[i].user)
  }
  assert.equal(byPartition.flat().length, 50)
})

test('a batch with a bad line writes nothing to Kafka', async (t) => {
  const defer = deferrer(t)
  const topic = await freshTopic(t, 1)
  const sink = createKafkaSink({ brokers, topic, partitions: 1 })
  defer(() => sink.close())
  const ingest = createIngest({ sink })
  const good = JSON.stringify({ ts: 1764000000000 })
  await assert.rejects(ingest.ingestText([good, good, '{"ts":true}', good].join('\n')), { line: 3 })
  await ingest.ingestEvents({ ts: 1764000000001, marker: 'after' })
  const records = await readPartition({ brokers, topic, partition: 0 })
  assert.deepEqual(
    records.map((r) => JSON.parse(r.value.toString()).marker),
    ['after'],
  )
})

test('the SDK call validates, writes and reports positions', async (t) => {
  const { createEventProducer } = await import('../../src/ingest/sdk.ts')
  const defer = deferrer(t)
  const topic = await freshTopic(t, 2)
  const producer = createEventProducer({ brokers, topic, keyField: 'user' })
  defer(() => producer.close())
  const result = await producer.send([
    { user: 'u1', ts: 1764000000000 },
    { user: 'u2', ts: '2025-11-24T16:00:00Z' },
  ])
  assert.deepEqual(
    result.records.map((r) => r.partition),
    [partitionForKey('u1', 2), partitionForKey('u2', 2)],
  )
  await assert.rejects(producer.send({ user: 'u3' } as never), { code: 'STRATA_ERR_INVALID_EVENT_TIME' })
  const all = [
    ...(await readPartition({ brokers, topic, partition: 0 })),
    ...(await readPartition({ brokers, topic, partition: 1 })),
  ]
  assert.deepEqual(all.map((r) => JSON.parse(r.value.toString()).user).sort(), ['u1', 'u2'])
})
