// Batch completions and results reach Kafka, readable by any consumer.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { completionsTopic, createKafkaPublisher, resultsTopic } from '../../src/batch/kafka-publisher.ts'
import { compileView } from '../../src/core/compiled-view.ts'
import { count, tumbling, view } from '../../src/index.ts'
import { createAdmin, readPartition } from '../../src/log/kafka/index.ts'
import { brokers } from '../helpers/kafka.ts'

test('a committed version is announced with its horizon, and its groups land in a compacted topic', async (t) => {
  const prefix = `test-${randomUUID()}`
  const publisher = createKafkaPublisher({ brokers, prefix })
  const admin = createAdmin({ brokers })
  t.after(async () => {
    await publisher.close()
    await admin.deleteTopic(completionsTopic(prefix))
    await admin.deleteTopic(resultsTopic('hits', prefix))
    await admin.close()
  })
  const hits = compileView(
    view('hits')
      .key((e) => e.url)
      .window(tumbling('1h'))
      .aggregate(count()),
  )
  const meta = {
    view: 'hits',
    version: 3,
    codeHash: hits.codeHash,
    horizon: [10, 7],
    events: 17,
    groups: 2,
    startedAt: 1000,
    completedAt: 1500,
  }
  const encode = (n: number) => {
    let s = hits.monoid.zero()
    for (let i = 0; i < n; i++) s = hits.monoid.add(s, {})
    return hits.monoid.encode(s)
  }
  await publisher.publish(
    meta,
    [
      { key: '/a', window: 0, state: encode(5) },
      { key: '/b', window: 3_600_000, state: encode(12) },
    ],
    hits,
  )

  const [completion] = await readPartition({ brokers, topic: completionsTopic(prefix), partition: 0 })
  assert.equal(completion.key?.toString(), 'hits')
  assert.deepEqual(JSON.parse(completion.value.toString()), { ...meta, durationMs: 500 })

  const results = await readPartition({ brokers, topic: resultsTopic('hits', prefix), partition: 0 })
  assert.deepEqual(
    results.map((r) => [
      r.key?.toString(),
      JSON.parse(r.value.toString()).value,
      JSON.parse(r.value.toString()).version,
    ]),
    [
      ['["/a",0]', 5, 3],
      ['["/b",3600000]', 12, 3],
    ],
  )
  const description = await admin.describeTopic(resultsTopic('hits', prefix))
  assert.equal(description.partitions.length, 1)
})
