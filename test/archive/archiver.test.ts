import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { Archiver } from '../../src/archive/archiver.ts'
import type { ArchiveRecord } from '../../src/archive/partition-archiver.ts'
import type {
  PartitionHandlers as ArchiveHandlers,
  PartitionSource as ArchiveSource,
} from '../../src/log/partition-source.ts'
import { readRecords, SegmentStore } from '../../src/master-dataset/index.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { tempDir } from '../master-dataset/test-helpers.ts'

// A topic in memory: per partition, records at increasing offsets with gaps (markers).
function makeTopic(partitions: number, perPartition: number, seed: number): ArchiveRecord[][] {
  let state = seed
  const random = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff
    return state / 0x7fffffff
  }
  return Array.from({ length: partitions }, (_, p) => {
    const records: ArchiveRecord[] = []
    let offset = 0
    for (let i = 0; i < perPartition; i++) {
      if (random() < 0.1) offset++ // a transaction marker
      const bad = random() < 0.05
      records.push({
        offset,
        timestamp: 1764000000000 + offset,
        key: i % 4 === 0 ? null : Buffer.from(`k${i % 9}`),
        value: Buffer.from(
          bad ? 'not json' : `{"url":"/p/${i % 7}","ts":${1764000000000 + i},"p":${p},"i":${i}}`,
        ),
      })
      offset++
    }
    return records
  })
}

/** Delivers a topic in batches of random size; `stopAfter` batches, then stops like a crash. */
class MemorySource implements ArchiveSource {
  commits: [number, number][] = []
  #topic: ArchiveRecord[][]
  #handlers: ArchiveHandlers | undefined
  #batchSizes: number[]
  #stopAfter: number
  #delivering: Promise<void> = Promise.resolve()

  constructor(topic: ArchiveRecord[][], batchSizes: number[], stopAfter = Number.POSITIVE_INFINITY) {
    this.#topic = topic
    this.#batchSizes = batchSizes
    this.#stopAfter = stopAfter
  }

  async start(handlers: ArchiveHandlers): Promise<void> {
    this.#handlers = handlers
    const partitions = this.#topic.map((_, p) => p)
    const starts = await handlers.onAssign(partitions)
    this.#delivering = this.#deliver(starts)
  }

  /** Resolves when everything was delivered (or the simulated crash point was reached). */
  done(): Promise<void> {
    return this.#delivering
  }

  async #deliver(starts: Map<number, number>): Promise<void> {
    const positions = new Map(starts)
    let delivered = 0
    for (let round = 0; ; round++) {
      let progressed = false
      for (const [p, records] of this.#topic.entries()) {
        const from = positions.get(p)!
        const size = this.#batchSizes[(round + p) % this.#batchSizes.length]!
        const batch = records.filter((r) => r.offset >= from).slice(0, size)
        if (batch.length === 0) continue
        if (delivered++ >= this.#stopAfter) return
        // Like a Kafka fetch, nextOffset can pass the last record (markers after it).
        const last = batch.at(-1)!.offset
        const following = records.find((r) => r.offset > last)
        const nextOffset = following ? following.offset : last + 1
        await this.#handlers!.onBatch({ partition: p, records: batch, nextOffset })
        positions.set(p, nextOffset)
        progressed = true
      }
      if (!progressed) return
    }
  }

  async commit(offsets: Map<number, number>): Promise<void> {
    this.commits.push(...offsets)
  }

  async close(): Promise<void> {
    await this.#delivering
    await this.#handlers?.onRevoke(this.#topic.map((_, p) => p))
  }
}

/** The dataset holds every event of the topic exactly once, ranges tiling [0, end). */
async function assertArchived(root: string, topic: ArchiveRecord[][]): Promise<void> {
  const store = await SegmentStore.open(root)
  for (const [p, records] of topic.entries()) {
    const segments = await store.segments(p)
    assert.equal(segments[0]?.start ?? 0, 0)
    const events = records.filter((r) => r.value.toString() !== 'not json')
    const got = []
    for await (const batch of readRecords(root, p)) got.push(...batch)
    assert.deepEqual(
      got.map((r) => [r.offset, r.timestamp, r.key, r.value.toString()]),
      events.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value.toString()]),
    )
    assert.equal(await store.nextOffset(p), records.at(-1)!.offset + 1)
  }
}

test('archives a topic: every event once, rejected records as gaps, group offsets at segment ends', async (t) => {
  const root = await tempDir(t)
  const topic = makeTopic(3, 500, 7)
  const source = new MemorySource(topic, [1, 17, 64, 5])
  const rejected: string[] = []
  const archiver = new Archiver(await SegmentStore.open(root), source, {
    maxSegmentRecords: 100,
    onReject: (r) => {
      rejected.push(r.reason)
    },
  })
  await archiver.start()
  await source.done()
  await archiver.close()
  await assertArchived(root, topic)
  const bad = topic.flat().filter((r) => r.value.toString() === 'not json').length
  assert.equal(archiver.stats.rejected, bad)
  assert.ok(rejected.every((reason) => reason.startsWith('not JSON')))
  const store = await SegmentStore.open(root)
  for (let p = 0; p < 3; p++) {
    const ends = (await store.segments(p)).map((s) => s.end)
    assert.deepEqual(
      source.commits.filter(([partition]) => partition === p).map(([, offset]) => offset),
      ends,
    )
    assert.ok(ends.length >= 5, 'cut by record count')
  }
})

test('crashes at any point, then restarts: the dataset holds every offset exactly once', async (t) => {
  const topic = makeTopic(2, 120, 11)
  let run = 0
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.nat(40), { minLength: 1, maxLength: 5 }),
      fc.integer({ min: 1, max: 50 }),
      fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 4 }),
      async (crashPoints, maxRecords, sizes) => {
        const root = await tempDir(t, `strata-archiver-${run++}-`)
        const batchSizes = sizes.map((s) => s + 1)
        for (const stopAfter of crashPoints) {
          // A crash: the archiver is dropped mid-stream, its open segment never written.
          const source = new MemorySource(topic, batchSizes, stopAfter)
          await new Archiver(await SegmentStore.open(root), source, { maxSegmentRecords: maxRecords }).start()
          await source.done()
        }
        const source = new MemorySource(topic, batchSizes)
        const archiver = new Archiver(await SegmentStore.open(root), source, {
          maxSegmentRecords: maxRecords,
        })
        await archiver.start()
        await source.done()
        await archiver.close()
        await assertArchived(root, topic)
      },
    ),
    { numRuns: 40 },
  )
})

test('an old open segment is cut by age', async (t) => {
  const defer = deferrer(t)
  const root = await tempDir(t)
  const topic = makeTopic(1, 10, 3)
  const source = new MemorySource(topic, [100])
  const archiver = new Archiver(await SegmentStore.open(root), source, { maxSegmentAgeMs: 20 })
  defer(() => archiver.close())
  await archiver.start()
  await source.done()
  const store = await SegmentStore.open(root)
  while ((await store.nextOffset(0)) === 0) await new Promise((resolve) => setTimeout(resolve, 10))
  assert.deepEqual(await store.segments(0), [{ start: 0, end: topic[0]!.at(-1)!.offset + 1 }])
})
