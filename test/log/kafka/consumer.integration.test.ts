import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import {
  type ConsumedRecord,
  createConsumer,
  createProducer,
  type KafkaConsumer,
  type PartitionOffset,
} from '../../../src/log/kafka/index.ts'
import { brokers, createTestTopic, defer, testAdmin, testGroup, waitFor } from './helpers.ts'

// Short group timers so rebalances in these tests take about a second, not a minute.
const fastGroup = {
  sessionTimeoutMs: 6_000,
  rebalanceTimeoutMs: 10_000,
  heartbeatIntervalMs: 200,
  maxWaitMs: 200,
}

async function produceNumbered(topic: string, count: number, keys = 13): Promise<void> {
  const producer = createProducer({ brokers })
  try {
    await producer.send(
      topic,
      Array.from({ length: count }, (_, i) => ({ key: `k${i % keys}`, value: String(i) })),
    )
  } finally {
    await producer.close()
  }
}

test('delivers each partition in offset order from the offsets onAssign returns', async (t) => {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, 3)
  await produceNumbered(topic, 300)
  const latest = new Map((await admin.listOffsets(topic)).map((p) => [p.partition, p.latest]))
  // Resume partition 0 from 5, partition 1 from its end; partition 2 is left out: earliest.
  const resume = new Map([
    [0, 5],
    [1, latest.get(1)!],
  ])
  const received: ConsumedRecord[] = []
  const consumer = createConsumer({
    brokers,
    groupId: testGroup(t, admin),
    topics: [topic],
    ...fastGroup,
    onAssign: async () => resume,
    onBatch: (batch) => {
      received.push(...batch.records)
    },
  })
  defer(t, () => consumer.close())
  await consumer.start()
  const expected = latest.get(0)! - 5 + latest.get(2)!
  await waitFor(() => received.length >= expected, 'all records after the resume offsets')

  for (const partition of [0, 1, 2]) {
    const offsets = received.filter((r) => r.partition === partition).map((r) => r.offset)
    const from = partition === 0 ? 5 : partition === 1 ? latest.get(1)! : 0
    assert.deepEqual(
      offsets,
      Array.from({ length: latest.get(partition)! - from }, (_, i) => from + i),
      `partition ${partition}`,
    )
  }
  assert.equal(received.length, expected)
  assert.deepEqual(
    consumer.assignment().sort((a, b) => a.partition - b.partition),
    [0, 1, 2].map((partition) => ({ topic, partition, offset: latest.get(partition)! })),
  )
})

test('committed offsets are visible to the group, and a new member starts from them', async (t) => {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, 2)
  await produceNumbered(topic, 100)
  const groupId = testGroup(t, admin)

  const first: ConsumedRecord[] = []
  const consumer = createConsumer({
    brokers,
    groupId,
    topics: [topic],
    ...fastGroup,
    onBatch: (batch) => {
      first.push(...batch.records)
    },
  })
  await consumer.start()
  await waitFor(() => first.length >= 100, 'the first member reads everything')
  // Commit "handled up to offset 10" on partition 0 and everything on partition 1.
  const latest = new Map((await admin.listOffsets(topic)).map((p) => [p.partition, p.latest]))
  await consumer.commit(
    new Map([
      [0, 10],
      [1, latest.get(1)!],
    ]),
  )
  const committed = await admin.committedOffsets(groupId, topic)
  assert.deepEqual(
    committed,
    new Map([
      [0, 10],
      [1, latest.get(1)!],
    ]),
  )
  assert.equal(latest.get(0)! - committed.get(0)!, latest.get(0)! - 10, 'lag of partition 0')
  await consumer.close()

  // No onAssign: the next member resumes from the group's committed offsets.
  const second: ConsumedRecord[] = []
  const next = createConsumer({
    brokers,
    groupId,
    topics: [topic],
    ...fastGroup,
    onBatch: (batch) => {
      second.push(...batch.records)
    },
  })
  defer(t, () => next.close())
  await next.start()
  await waitFor(() => second.length >= latest.get(0)! - 10, 'the second member reads from the commit')
  assert.deepEqual(
    second.map((r) => `${r.partition}:${r.offset}`),
    Array.from({ length: latest.get(0)! - 10 }, (_, i) => `0:${10 + i}`),
  )
})

test('committing a partition this member does not own is refused', async (t) => {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, 1)
  const consumer = createConsumer({
    brokers,
    groupId: testGroup(t, admin),
    topics: [topic],
    ...fastGroup,
    onBatch: () => {},
  })
  defer(t, () => consumer.close())
  await consumer.start()
  await assert.rejects(consumer.commit([{ topic, partition: 7, offset: 1 }]), /not assigned to this member/)
})

// The speed layer's contract in miniature: offsets live in "the store" with the state; a member
// resumes from the store; each record must be handled exactly once across a rebalance.
test('two members share the partitions, and one leaving hands its partitions over exactly', async (t) => {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, 4)
  const groupId = testGroup(t, admin)
  const store = new Map<number, number>() // partition → next offset, written with the "state"
  const handled = new Map<string, string>() // partition:offset → member that handled it
  const duplicates: string[] = []
  const revoked: Record<string, PartitionOffset[][]> = { a: [], b: [] }

  const member = (name: string): KafkaConsumer =>
    createConsumer({
      brokers,
      groupId,
      topics: [topic],
      ...fastGroup,
      onAssign: async () => new Map(store),
      onRevoke: (partitions) => {
        revoked[name]!.push(partitions)
      },
      onBatch: (batch) => {
        for (const r of batch.records) {
          const id = `${r.partition}:${r.offset}`
          if (handled.has(id)) duplicates.push(id)
          handled.set(id, name)
        }
        store.set(batch.partition, batch.nextOffset)
      },
    })

  const a = member('a')
  defer(t, () => a.close())
  await a.start()
  assert.equal(a.assignment().length, 4)
  await produceNumbered(topic, 200, 50)
  await waitFor(() => handled.size >= 200, 'a handles the first 200')

  const b = member('b')
  defer(t, () => b.close())
  await b.start()
  await waitFor(
    () => a.assignment().length === 2 && b.assignment().length === 2,
    'a and b share 4 partitions',
  )
  assert.equal(revoked.a!.length, 1, 'a revoked everything once before rejoining')
  assert.equal(revoked.a![0]!.length, 4)
  const group = await admin.describeGroup(groupId)
  assert.equal(group.members.length, 2)

  await produceNumbered(topic, 200, 50)
  await waitFor(() => handled.size >= 400, 'a and b handle the next 200')
  const owners = new Set(handled.values())
  assert.deepEqual(owners, new Set(['a', 'b']))

  await a.close()
  await waitFor(() => b.assignment().length === 4, 'b takes over all partitions')
  await produceNumbered(topic, 200, 50)
  await waitFor(() => handled.size >= 600, 'b handles the last 200')

  assert.deepEqual(duplicates, [])
  const latest = await admin.listOffsets(topic)
  assert.equal(
    latest.reduce((sum, p) => sum + p.latest, 0),
    600,
  )
  for (const { partition, latest: end } of latest) {
    for (let offset = 0; offset < end; offset++)
      assert.ok(handled.has(`${partition}:${offset}`), `${partition}:${offset}`)
    assert.equal(store.get(partition), end)
  }
})

// Java's pattern: flush and commit in onRevoke. It runs before this member rejoins, while its
// generation is still current, so the commit must be accepted.
test('a commit made inside onRevoke is accepted and visible to the group', async (t) => {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, 2)
  const groupId = testGroup(t, admin)
  await produceNumbered(topic, 100, 50)
  let a: KafkaConsumer | undefined
  const committedInRevoke: PartitionOffset[][] = []
  const errors: unknown[] = []
  let received = 0
  a = createConsumer({
    brokers,
    groupId,
    topics: [topic],
    ...fastGroup,
    onBatch: (batch) => {
      received += batch.records.length
    },
    onRevoke: async (partitions) => {
      try {
        await a!.commit(partitions)
        committedInRevoke.push(partitions)
      } catch (error) {
        errors.push(error)
      }
    },
  })
  defer(t, () => a!.close())
  await a.start()
  await waitFor(() => received >= 100, 'a reads everything')

  const b = createConsumer({ brokers, groupId, topics: [topic], ...fastGroup, onBatch: () => {} })
  defer(t, () => b.close())
  await b.start()
  await waitFor(() => committedInRevoke.length > 0 || errors.length > 0, 'a revokes')
  assert.deepEqual(errors, [])
  const latest = new Map((await admin.listOffsets(topic)).map((p) => [p.partition, p.latest]))
  assert.deepEqual(committedInRevoke[0]!.map((p) => [p.partition, p.offset]).sort(), [...latest].sort())
  assert.deepEqual(await admin.committedOffsets(groupId, topic), latest)
})

test('when a member dies without leaving, the survivor gets its partitions after the session timeout', async (t) => {
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, 4)
  const groupId = testGroup(t, admin)
  const survivor = createConsumer({ brokers, groupId, topics: [topic], ...fastGroup, onBatch: () => {} })
  defer(t, () => survivor.close())
  await survivor.start()

  const child = spawn(
    process.execPath,
    [new URL('./member-process.fixture.ts', import.meta.url).pathname, brokers, groupId, topic],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  defer(t, () => child.kill('SIGKILL'))
  let output = ''
  child.stdout.on('data', (chunk) => {
    output += chunk
  })
  await waitFor(() => output.includes('assigned') && survivor.assignment().length === 2, 'the child joins')

  child.kill('SIGKILL')
  await waitFor(() => survivor.assignment().length === 4, 'the survivor owns every partition again')
  assert.deepEqual(
    survivor
      .assignment()
      .map((p) => p.partition)
      .sort(),
    [0, 1, 2, 3],
  )
})
