// Ingest's producer in a worker thread (runtime/sink-thread.ts), on real Kafka: every append is
// answered with where each record landed, in input order, only once Kafka has them; close()
// answers every append already made before the producer closes; a refusal keeps its code.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createAdmin } from '../../src/log/kafka/index.ts'
import type { Logger } from '../../src/runtime/logger.ts'
import { startSinkThread } from '../../src/runtime/sink-thread.ts'
import { brokers, freshTopic } from '../helpers/kafka.ts'

const quiet: Logger = {
  info: () => undefined,
  warn: () => undefined,
  debug: () => undefined,
  error: () => undefined,
  child: () => quiet,
}

const records = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    key: `k${(from + i) % 7}`,
    value: JSON.stringify({ i: from + i, ts: 1 }),
  }))

test('sink thread: positions in input order, dense per partition, and what Kafka holds; close answers what was sent', async (t) => {
  const topic = await freshTopic(t, 3)
  const fatal: unknown[] = []
  const sink = await startSinkThread(
    { logger: quiet, onFatal: (e) => fatal.push(e) },
    { brokers, topic, partitions: 3, createTopic: false },
  )
  const first = await sink.append(records(0, 500))
  assert.equal(first.length, 500)
  // The same key goes to the same partition (the producer's partitioner, unchanged by the thread).
  const partitionOf = new Map<string, number>()
  first.forEach((p, i) => {
    const key = `k${i % 7}`
    assert.equal(partitionOf.get(key) ?? p.partition, p.partition)
    partitionOf.set(key, p.partition)
  })
  // Appends still under way when close() is called are answered before it returns.
  const more = [sink.append(records(500, 300)), sink.append(records(800, 200))]
  await sink.close()
  const all = [...first, ...(await more[0]!), ...(await more[1]!)]
  assert.equal(all.length, 1000)
  const byPartition = new Map<number, number[]>()
  for (const p of all) byPartition.set(p.partition, [...(byPartition.get(p.partition) ?? []), p.offset])
  const end = [0, 0, 0]
  for (const [partition, offsets] of byPartition) {
    // Offsets 0, 1, 2, … in the order the records were given: nothing skipped or repeated.
    assert.deepEqual(
      offsets,
      offsets.map((_, i) => i),
    )
    end[partition] = offsets.length
  }
  const admin = createAdmin({ brokers })
  t.after(() => admin.close())
  const listed = await admin.listOffsets(topic)
  assert.deepEqual(
    listed.sort((a, b) => a.partition - b.partition).map((p) => p.latest),
    end,
  )
  assert.deepEqual(fatal, [])
  await assert.rejects(sink.append(records(0, 1)))
})
