// Adversarial, on a real broker: a speed worker with one fold thread for two partitions reads
// Kafka's record sets into the thread's pool of batch buffers (fetcher.ts ownedParser, session 17),
// every record set pooled (the pool's smallest size lowered) and every buffer given back filled
// with garbage before it may be handed out again. Were a buffer ever reused while a window, a
// rebuild or the other partition still read it, the answers would differ from the plain fold.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { StrataEvent } from '../../src/core/event.ts'
import { createProducer } from '../../src/log/kafka/index.ts'
import { BatchBuffers } from '../../src/speed/batch-buffers.ts'
import { createSpeedWorker } from '../../src/speed/speed-worker.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { brokers, createTestTopic, testAdmin, testGroup } from '../log/kafka/helpers.ts'
import { assertExact, byPartition, pageView, speedFixture, type TestRecord, waitFor } from './helpers.ts'

const PARTITIONS = 2

test('fetched into reused buffers poisoned when given back, two partitions on one fold thread, across a restart: answers stay exact', async (t) => {
  const defer = deferrer(t)
  let given = 0
  let reused = 0
  const { take, give } = BatchBuffers.prototype
  BatchBuffers.prototype.take = function (this: BatchBuffers, bytes: number) {
    this.smallest = 1
    const created = this.created
    const buffer = take.call(this, bytes)
    if (this.created === created) reused++
    return buffer
  }
  BatchBuffers.prototype.give = function (this: BatchBuffers, buffer: ArrayBuffer) {
    new Uint8Array(buffer).fill(0xee)
    given++
    give.call(this, buffer)
  }
  defer(() => {
    BatchBuffers.prototype.take = take
    BatchBuffers.prototype.give = give
  })
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, PARTITIONS)
  const groupId = testGroup(t, admin)
  const fixture = await speedFixture(t, PARTITIONS, topic)
  const producer = createProducer({ brokers })
  defer(() => producer.close())
  const records: TestRecord[][] = byPartition(PARTITIONS, [], [])
  let n = 0
  const produce = async (count: number) => {
    const values: Array<StrataEvent | string> = []
    for (let i = 0; i < count; i++, n++) values.push(n % 37 === 5 ? '{oops' : pageView(n))
    const positions = await producer.send(
      topic,
      values.map((v, i) => ({
        key: `k${(n + i) % 7}`,
        value: typeof v === 'string' ? v : JSON.stringify(v),
      })),
    )
    byPartition(PARTITIONS, values, positions, records)
  }
  const caughtUp = async (what: string) => {
    const ends = (await admin.listOffsets(topic))
      .sort((a, b) => a.partition - b.partition)
      .map((p) => p.latest)
    await waitFor(async () => {
      const stored = await fixture.store.speedPartitions()
      return ends.every((end, p) => stored.find((s) => s.partition === p)?.offset === end)
    }, what)
  }
  const start = async () => {
    const worker = createSpeedWorker({
      store: fixture.store,
      config: fixture.config,
      brokers,
      groupId,
      foldThreads: 1,
      configPath: fixture.configPath,
      policy: { commitEveryMs: 20, commitEveryRecords: 40 },
    })
    defer(() => worker.close())
    await worker.start()
    return worker
  }

  // A backlog read in catch-up (large record sets), then live waves (small ones).
  for (let i = 0; i < 10; i++) await produce(200)
  let worker = await start()
  await caughtUp('the backlog')
  for (let i = 0; i < 20; i++) await produce(15)
  await caughtUp('the live waves')
  await assertExact(fixture.store, fixture.views, records, 'first worker')
  await worker.close()
  for (let i = 0; i < 5; i++) await produce(200)
  worker = await start()
  for (let i = 0; i < 20; i++) await produce(15)
  await caughtUp('after the restart')
  await assertExact(fixture.store, fixture.views, records, 'after the restart')
  assert.ok(given > 0 && reused > 0, `buffers given back (${given}) and reused (${reused})`)
  t.diagnostic(JSON.stringify({ given, reused }))
})
