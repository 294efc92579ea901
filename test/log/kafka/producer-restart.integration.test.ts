// The producer keeps several produce requests in flight per broker (sender.ts). Does a broker that
// dies with requests on the wire, and comes back, make it lose, duplicate or reorder an
// acknowledged record? A scratch one-node cluster (ports 23092/23093, its own home in a temp folder,
// the main jar folder shared) is killed with SIGKILL in the middle of a pipelined produce loop and
// restarted; every acknowledged record must then be in the topic once, at the offset send()
// returned, in send order per partition. About 30-60 s.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import {
  ensureKafkaJars,
  killNode,
  type NodeSpec,
  restartNode,
  startCluster,
  stopCluster,
} from '../../../src/kafka-cluster/index.ts'
import { createAdmin, createProducer, readPartition } from '../../../src/log/kafka/index.ts'

const PARTITIONS = 4
const CALLS_IN_FLIGHT = 8 // pending send() calls: several produce requests on the wire at once
const RECORDS_PER_CALL = 40
const BEFORE_KILL = 4_000 // acknowledged records before the broker dies
const AFTER_RESTART = 4_000 // acknowledged records after it came back

interface Acked {
  call: number
  index: number
  partition: number
  offset: number
  value: string
}

test('a broker killed with produce requests in flight, then restarted: every acknowledged record once, in order', async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'strata-kafka-restart-'))
  const member: NodeSpec = { id: 1, host: '127.0.0.1', clientPort: 23092, controllerPort: 23093 }
  const { libDir } = await ensureKafkaJars()
  t.after(async () => {
    await stopCluster({ nodes: 1, home })
    await rm(home, { recursive: true, force: true })
  })
  const started = await startCluster({ nodes: 1, home, libDir, members: [member], heap: '512m' })
  const brokers = started.bootstrap

  const admin = createAdmin({ brokers })
  t.after(() => admin.close())
  const topic = `test-${randomUUID()}`
  await admin.createTopic({ topic, partitions: PARTITIONS, replicationFactor: 1 })

  // Enough retries (120 x 250 ms) to ride out the restart.
  const producer = createProducer({ brokers, retries: 120, retryDelay: 250 })
  t.after(() => producer.close())

  const acked: Acked[] = []
  const attempted = new Set<string>()
  let failedCalls = 0
  let phase: 'before' | 'down' | 'after' = 'before'
  let ackedAfterRestart = 0
  let restart: Promise<unknown> | undefined
  let call = 0
  const loop = async (): Promise<void> => {
    while (phase !== 'after' || ackedAfterRestart < AFTER_RESTART) {
      const c = call++
      const records = Array.from({ length: RECORDS_PER_CALL }, (_, i) => ({
        value: `v-${c}-${i}`,
        partition: (c + i) % PARTITIONS,
      }))
      for (const record of records) attempted.add(record.value)
      try {
        const positions = await producer.send(topic, records)
        for (const [i, position] of positions.entries()) {
          acked.push({ call: c, index: i, ...position, value: records[i]!.value })
        }
        if (phase === 'after') ackedAfterRestart += positions.length
      } catch {
        failedCalls++ // not acknowledged: it may or may not be in the log, both are allowed
      }
      if (phase === 'before' && acked.length >= BEFORE_KILL) {
        phase = 'down'
        restart = killNode(1, 1, 'SIGKILL', { home })
          .then(() => new Promise((resolve) => setTimeout(resolve, 1000)))
          .then(() => restartNode(1, 1, { home, libDir, heap: '512m' }))
          .then(() => {
            phase = 'after'
          })
      }
    }
  }
  await Promise.all(Array.from({ length: CALLS_IN_FLIGHT }, loop))
  await restart
  t.diagnostic(`${call} calls, ${acked.length} records acknowledged, ${failedCalls} calls failed`)

  acked.sort((a, b) => a.call - b.call || a.index - b.index)
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const log = await readPartition({ brokers, topic, partition })
    const byOffset = new Map(log.map((record) => [record.offset, record.value.toString()]))
    let last = -1
    for (const a of acked.filter((a) => a.partition === partition)) {
      assert.ok(a.offset > last, `partition ${partition}: ${a.value} acked at ${a.offset}, after ${last}`)
      last = a.offset
      assert.equal(byOffset.get(a.offset), a.value, `partition ${partition} offset ${a.offset}`)
    }
    const values = log.map((record) => record.value.toString())
    assert.equal(new Set(values).size, values.length, `partition ${partition} holds a record twice`)
    for (const value of values) assert.ok(attempted.has(value), `unknown record ${value}`)
  }
  assert.ok(ackedAfterRestart >= AFTER_RESTART)
})
