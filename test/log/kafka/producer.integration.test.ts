import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCodes, StrataError } from '../../../src/core/errors.ts'
import { createProducer, partitionForKey, readPartition } from '../../../src/log/kafka/index.ts'
import { brokers, createTestTopic, defer, testAdmin } from './helpers.ts'

test('keyed records land in partitionForKey(key) at the offsets send() returned', async (t) => {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, 6)
  const producer = createProducer({ brokers })
  defer(t, () => producer.close())

  const records = Array.from({ length: 500 }, (_, i) => ({
    key: `user-${i % 37}`,
    value: JSON.stringify({ i, ts: 1_700_000_000_000 + i }),
    headers: { source: 'test', n: String(i) },
  }))
  const first = await producer.send(topic, records.slice(0, 200))
  const second = await producer.send(topic, records.slice(200))
  const positions = [...first, ...second]
  assert.equal(positions.length, records.length)

  for (const [i, position] of positions.entries()) {
    assert.equal(position.partition, partitionForKey(records[i]!.key, 6), `record ${i}`)
  }

  // Read every partition back: each record sits exactly where send() said, with its bytes.
  const byPosition = new Map(positions.map((p, i) => [`${p.partition}:${p.offset}`, i]))
  let read = 0
  for (let partition = 0; partition < 6; partition++) {
    for (const record of await readPartition({ brokers, topic, partition })) {
      const i = byPosition.get(`${partition}:${record.offset}`)
      assert.notEqual(i, undefined, `unexpected record at ${partition}:${record.offset}`)
      assert.equal(record.key?.toString(), records[i!]!.key)
      assert.equal(record.value.toString(), records[i!]!.value)
      assert.equal(record.headers.n?.toString(), String(i))
      read++
    }
  }
  assert.equal(read, records.length)

  const offsets = await admin.listOffsets(topic)
  const perPartition = new Map<number, number>()
  for (const p of positions) perPartition.set(p.partition, (perPartition.get(p.partition) ?? 0) + 1)
  for (const { partition, earliest, latest } of offsets) {
    assert.equal(earliest, 0)
    assert.equal(latest, perPartition.get(partition) ?? 0, `latest offset of partition ${partition}`)
  }
})

test('concurrent sends are all written once, each caller gets its own positions', async (t) => {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, 3)
  const producer = createProducer({ brokers })
  defer(t, () => producer.close())

  const calls = Array.from({ length: 40 }, (_, c) =>
    producer.send(
      topic,
      Array.from({ length: 5 }, (_, i) => ({ key: `k${(c * 5 + i) % 11}`, value: `call ${c} record ${i}` })),
    ),
  )
  const results = await Promise.all(calls)
  const seen = new Set<string>()
  for (const positions of results) {
    assert.equal(positions.length, 5)
    for (const p of positions) seen.add(`${p.partition}:${p.offset}`)
  }
  assert.equal(seen.size, 200, 'no two records share a position')

  const values = new Map<string, string>()
  for (let partition = 0; partition < 3; partition++) {
    for (const r of await readPartition({ brokers, topic, partition })) {
      values.set(`${partition}:${r.offset}`, r.value.toString())
    }
  }
  assert.equal(values.size, 200)
  for (const [c, positions] of results.entries()) {
    for (const [i, p] of positions.entries()) {
      assert.equal(values.get(`${p.partition}:${p.offset}`), `call ${c} record ${i}`)
    }
  }
})

test('keyless records of one send stay together, in order, in one partition', async (t) => {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, 4)
  const producer = createProducer({ brokers })
  defer(t, () => producer.close())

  const used = new Set<number>()
  for (let call = 0; call < 4; call++) {
    const positions = await producer.send(
      topic,
      Array.from({ length: 10 }, (_, i) => ({ value: `${call}-${i}` })),
    )
    const partitions = new Set(positions.map((p) => p.partition))
    assert.equal(partitions.size, 1)
    const offsets = positions.map((p) => p.offset)
    assert.deepEqual(
      offsets,
      offsets.map((_, i) => offsets[0]! + i),
    )
    used.add(positions[0]!.partition)
  }
  assert.equal(used.size, 4, 'successive keyless sends rotate over the partitions')
})

test('a send larger than one request is split and still reports exact offsets', async (t) => {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, 2)
  const producer = createProducer({ brokers, maxRequestBytes: 16 * 1024, maxBatchBytes: 6 * 1024 })
  defer(t, () => producer.close())

  const records = Array.from({ length: 300 }, (_, i) => ({
    key: `k${i % 7}`,
    value: `${i}:${'x'.repeat(200)}`,
  }))
  const positions = await producer.send(topic, records)
  for (let partition = 0; partition < 2; partition++) {
    for (const r of await readPartition({ brokers, topic, partition })) {
      const i = positions.findIndex((p) => p.partition === partition && p.offset === r.offset)
      assert.equal(r.value.toString(), records[i]!.value)
    }
  }
  const total = (await admin.listOffsets(topic)).reduce((sum, p) => sum + p.latest, 0)
  assert.equal(total, 300)
})

test('sending to a missing topic fails with STRATA_ERR_TOPIC and creates nothing', async (t) => {
  const admin = testAdmin(t)
  const producer = createProducer({ brokers })
  defer(t, () => producer.close())
  const topic = `test-missing-${Date.now()}`
  await assert.rejects(
    producer.send(topic, [{ value: 'x' }]),
    (error: unknown) => error instanceof StrataError && error.code === ErrorCodes.TOPIC,
  )
  await assert.rejects(admin.describeTopic(topic), (error: StrataError) => error.code === ErrorCodes.TOPIC)
})

test('an explicit partition outside the topic is refused before anything is written', async (t) => {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, 2)
  const producer = createProducer({ brokers })
  defer(t, () => producer.close())
  await assert.rejects(
    producer.send(topic, [{ value: 'ok' }, { value: 'bad', partition: 5 }]),
    (error: StrataError) => error.code === ErrorCodes.INVALID_ARGUMENT,
  )
  assert.deepEqual(
    (await admin.listOffsets(topic)).map((p) => p.latest),
    [0, 0],
  )
})

// close() waits for the sends made before it, even one still waiting for its topic's metadata
// (a fresh producer's first send): it is written, not failed on a closed client.
test('close() right after send(): the send is written and resolves with its positions', async (t) => {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, 2)
  const producer = createProducer({ brokers })
  const sent = producer.send(topic, [
    { key: 'a', value: 'one' },
    { key: 'b', value: 'two' },
  ])
  await producer.close()
  const positions = await sent
  assert.equal(positions.length, 2)
  const offsets = await admin.listOffsets(topic)
  assert.equal(
    offsets.reduce((n, { latest }) => n + latest, 0),
    2,
  )
})
