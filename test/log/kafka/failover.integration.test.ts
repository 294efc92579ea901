// Jepsen's Kafka question on our own stack: with replication factor 3, min.insync.replicas=2,
// no unclean leader election, and an idempotent acks=all producer, does a kill -9 of a
// partition leader in the middle of a produce loop lose or duplicate an acknowledged write?
// Runs the local 3-node cluster (fresh) and stops it at the end; about 30-40 s.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { killNode, restartNode, startCluster, stopCluster } from '../../../src/kafka-cluster/index.ts'
import { createAdmin, createProducer, readPartition } from '../../../src/log/kafka/index.ts'

const PARTITIONS = 3
const BATCH = 6 // records per send, two per partition
const BEFORE_KILL = 300 // acknowledged records before the leader dies
const AFTER_KILL = 600 // acknowledged records after it died, at least 1/6 of them on its partition
const MAX_SENDS = 20_000

interface Acked {
  partition: number
  offset: number
  value: string
}

test('a kill -9 of a partition leader loses no acknowledged record and duplicates none', async (t) => {
  const cluster = await startCluster({ nodes: 3, fresh: true })
  t.after(() => stopCluster({ nodes: 3 }).then(() => {}))
  const brokers = cluster.bootstrap

  const admin = createAdmin({ brokers })
  t.after(() => admin.close())
  const topic = `test-${randomUUID()}`
  // No replication factor given: the cluster's default.replication.factor (3 here), as every topic
  // Strata creates gets when its config names none (KIP-464's -1 on the wire).
  const created = await admin.createTopic({ topic, partitions: PARTITIONS })
  for (const p of created.partitions) assert.equal(p.replicas.length, 3, `partition ${p.partition} has RF 3`)
  assert.equal(created.brokers, 3)
  const watched = 0
  const victim = created.partitions[watched]!.leader
  assert.ok(victim >= 1, `partition ${watched} has a leader`)

  // Enough retries (40 x 250 ms) to ride out fencing (broker.session.timeout.ms=6000) and the election.
  const producer = createProducer({ brokers, retries: 40, retryDelay: 250 })
  t.after(() => producer.close())

  const acked: Acked[] = []
  const attempted = new Set<string>()
  let failedSends = 0
  let killing: Promise<number> | undefined
  let killed = false // the JVM is gone: acks from here on come from a new leader
  let slowestSendMs = 0
  let ackedAtKill = 0
  let ackedOnWatchedAfterKill = 0
  for (let send = 0; send < MAX_SENDS; send++) {
    const records = Array.from({ length: BATCH }, (_, i) => ({
      value: `v-${send}-${i}`,
      partition: i % PARTITIONS,
    }))
    for (const record of records) attempted.add(record.value)
    const sentAt = performance.now()
    try {
      const positions = await producer.send(topic, records)
      for (const [i, position] of positions.entries()) {
        acked.push({ ...position, value: records[i]!.value })
        if (killed && position.partition === watched) ackedOnWatchedAfterKill++
      }
    } catch {
      // Not acknowledged: it may or may not be in the log, both are allowed.
      failedSends++
    }
    slowestSendMs = Math.max(slowestSendMs, performance.now() - sentAt)
    if (!killing && acked.length >= BEFORE_KILL) {
      // Not awaited: sends go on while the broker dies.
      killing = killNode(3, victim, 'SIGKILL')
      killing.then(() => (killed = true)).catch(() => {})
      ackedAtKill = acked.length
    }
    if (killing && acked.length - ackedAtKill >= AFTER_KILL && ackedOnWatchedAfterKill >= AFTER_KILL / 6)
      break
  }
  assert.ok(killing, 'the leader was killed mid-loop')
  await killing
  assert.ok(
    acked.length - ackedAtKill >= AFTER_KILL,
    `only ${acked.length - ackedAtKill} acked after the kill`,
  )
  const moved = await admin.describeTopic(topic)
  assert.notEqual(moved.partitions[watched]!.leader, victim, 'leadership moved off the killed node')
  t.diagnostic(
    `node ${victim} killed; acked ${acked.length} records (${ackedAtKill} before the kill), ` +
      `${failedSends} sends failed, slowest send ${Math.round(slowestSendMs)} ms`,
  )

  // Every acknowledged record is readable at the offset it was acknowledged at, in send order
  // per partition; nothing in the log is unknown or there twice.
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const log = await readPartition({ brokers, topic, partition })
    const byOffset = new Map(log.map((record) => [record.offset, record.value.toString()]))
    const mine = acked.filter((a) => a.partition === partition)
    let last = -1
    for (const a of mine) {
      assert.ok(a.offset > last, `partition ${partition}: ${a.value} acked at ${a.offset} after ${last}`)
      last = a.offset
      assert.equal(byOffset.get(a.offset), a.value, `partition ${partition} offset ${a.offset}`)
    }
    const values = log.map((record) => record.value.toString())
    assert.equal(new Set(values).size, values.length, `partition ${partition} holds a record twice`)
    for (const value of values) assert.ok(attempted.has(value), `unknown record ${value}`)
    assert.ok(mine.length > 0)
  }

  // The killed node comes back and registers again.
  const back = await restartNode(3, victim)
  assert.equal(back.alive, true)
  await producer.close()
})
