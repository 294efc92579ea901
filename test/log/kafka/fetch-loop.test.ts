import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCodes, StrataError } from '../../../src/core/errors.ts'
import { FetchLoop } from '../../../src/log/kafka/fetch-loop.ts'
import type { Fetcher } from '../../../src/log/kafka/fetcher.ts'
import type { PartitionBatch } from '../../../src/log/kafka/records.ts'
import type { PartitionOffset } from '../../../src/log/kafka/start-offsets.ts'

// A log in memory: partition p holds records at offsets 0..ends[p]-1; each fetch returns up to
// `perFetch` records per partition. `gate` lets a test hold fetch answers back.
function fakeFetcher(ends: number[], perFetch = 5) {
  const fetched: PartitionOffset[][] = []
  let gate: Promise<void> = Promise.resolve()
  const fetcher: Fetcher = {
    async fetch(positions) {
      fetched.push(positions.map((p) => ({ ...p })))
      await gate
      await new Promise((resolve) => setImmediate(resolve))
      return positions.map(({ topic, partition, offset }): PartitionBatch => {
        const end = Math.min(ends[partition]!, offset + perFetch)
        const records = []
        for (let o = offset; o < end; o++) {
          records.push({
            topic,
            partition,
            offset: o,
            key: null,
            value: Buffer.from(`${partition}:${o}`),
            timestamp: 0,
            headers: {},
          })
        }
        return {
          topic,
          partition,
          records,
          nextOffset: Math.max(offset, end),
          highWatermark: ends[partition]!,
        }
      })
    },
    refresh() {},
    async close() {},
  }
  return {
    fetcher,
    fetched,
    hold() {
      let release!: () => void
      gate = new Promise((resolve) => {
        release = resolve
      })
      return release
    },
  }
}

async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((resolve) => setImmediate(resolve))
}

test('delivers every record once, in order, from the assigned offsets', async () => {
  const { fetcher } = fakeFetcher([23, 7])
  const seen: string[] = []
  const loop = new FetchLoop(
    fetcher,
    (b) => void seen.push(...b.records.map((r) => `${r.partition}:${r.offset}`)),
    assert.fail,
    {},
  )
  loop.assign([
    { topic: 't', partition: 0, offset: 3 },
    { topic: 't', partition: 1, offset: 0 },
  ])
  await until(() => seen.length === 20 + 7)
  assert.deepEqual(
    seen.filter((s) => s.startsWith('0:')),
    Array.from({ length: 20 }, (_, i) => `0:${i + 3}`),
  )
  assert.deepEqual(
    seen.filter((s) => s.startsWith('1:')),
    Array.from({ length: 7 }, (_, i) => `1:${i}`),
  )
  assert.deepEqual(loop.positions(), [
    { topic: 't', partition: 0, offset: 23 },
    { topic: 't', partition: 1, offset: 7 },
  ])
  await loop.stop()
})

test('pause waits for the batch in hand and reports the offset after it', async () => {
  const { fetcher, fetched } = fakeFetcher([100])
  let finishBatch!: () => void
  let inHandler = 0
  const loop = new FetchLoop(
    fetcher,
    () => {
      inHandler++
      return new Promise<void>((resolve) => {
        finishBatch = resolve
      })
    },
    assert.fail,
    {},
  )
  loop.assign([{ topic: 't', partition: 0, offset: 10 }])
  await until(() => inHandler === 1)
  let paused: { offset: number }[] | undefined
  const pausing = loop.pause().then((positions) => {
    paused = positions
  })
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(paused, undefined, 'pause must wait for the batch being handled')
  finishBatch()
  await pausing
  assert.deepEqual(paused, [{ topic: 't', partition: 0, offset: 15 }])
  // The read-ahead fetch issued before the pause has been answered by now; it must be dropped.
  await until(() => fetched.length >= 2)
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
  assert.equal(inHandler, 1, 'nothing is delivered after pause, though a fetch was already in flight')
  await loop.stop()
})

test('an answer fetched before a reassignment is dropped; delivery restarts at the new offset', async () => {
  const log = fakeFetcher([50])
  const seen: number[] = []
  const loop = new FetchLoop(
    log.fetcher,
    (b) => void seen.push(...b.records.map((r) => r.offset)),
    assert.fail,
    {},
  )
  const release = log.hold()
  loop.assign([{ topic: 't', partition: 0, offset: 0 }])
  await until(() => log.fetched.length === 1)
  // While the first fetch (from 0) is still unanswered, the partition is reassigned at 40.
  await loop.pause()
  loop.clear()
  loop.assign([{ topic: 't', partition: 0, offset: 40 }])
  release()
  await until(() => seen.length === 10)
  assert.deepEqual(
    seen,
    Array.from({ length: 10 }, (_, i) => 40 + i),
  )
  await loop.stop()
})

test('a failing handler stops the loop and reports a fatal error', async () => {
  const { fetcher } = fakeFetcher([10])
  const errors: StrataError[] = []
  const loop = new FetchLoop(
    fetcher,
    () => {
      throw new Error('boom')
    },
    (error) => errors.push(error),
    {},
  )
  loop.assign([{ topic: 't', partition: 0, offset: 0 }])
  await until(() => errors.length === 1)
  assert.equal(errors[0]!.code, ErrorCodes.INTERNAL)
  assert.equal((errors[0]!.cause as Error).message, 'boom')
  assert.deepEqual(
    loop.positions(),
    [{ topic: 't', partition: 0, offset: 0 }],
    'the failed batch is not counted',
  )
})

test('retriable fetch errors are retried; others are fatal', async () => {
  let calls = 0
  const errors: StrataError[] = []
  const seen: number[] = []
  const flaky: Fetcher = {
    async fetch(positions) {
      calls++
      if (calls <= 2) throw new StrataError(ErrorCodes.KAFKA_UNAVAILABLE, 'election', { retriable: true })
      if (calls === 3) {
        return [
          {
            topic: 't',
            partition: 0,
            records: [
              {
                topic: 't',
                partition: 0,
                offset: positions[0]!.offset,
                key: null,
                value: Buffer.alloc(0),
                timestamp: 0,
                headers: {},
              },
            ],
            nextOffset: positions[0]!.offset + 1,
            highWatermark: 1,
          },
        ]
      }
      throw new StrataError(ErrorCodes.KAFKA, 'offset out of range')
    },
    refresh() {},
    async close() {},
  }
  const loop = new FetchLoop(
    flaky,
    (b) => void seen.push(...b.records.map((r) => r.offset)),
    (e) => errors.push(e),
    {},
  )
  loop.assign([{ topic: 't', partition: 0, offset: 0 }])
  await until(() => errors.length === 1)
  assert.deepEqual(seen, [0])
  assert.equal(errors[0]!.message, 'offset out of range')
})

// A partition that cannot be read (no leader: its broker is gone) must not hold the others, and
// must not look healthy: it is in trouble() until a fetch reads it again.
test('an unreadable partition waits alone, listed in trouble(), and resumes where it was', async () => {
  const log = fakeFetcher([12, 12, 12], 4)
  let leaderless = true
  const fetcher: Fetcher = {
    ...log.fetcher,
    async fetch(positions, options) {
      const batches = await log.fetcher.fetch(positions, options)
      return batches.map((b) =>
        b.partition === 1 && leaderless
          ? {
              ...b,
              records: [],
              nextOffset: positions.find((p) => p.partition === 1)!.offset,
              highWatermark: -1,
              error: new StrataError(ErrorCodes.KAFKA_UNAVAILABLE, 't[1] has no leader right now', {
                retriable: true,
              }),
            }
          : b,
      )
    },
  }
  const seen: string[] = []
  const loop = new FetchLoop(
    fetcher,
    (b) => void seen.push(...b.records.map((r) => `${r.partition}:${r.offset}`)),
    assert.fail,
    {},
  )
  loop.assign([0, 1, 2].map((partition) => ({ topic: 't', partition, offset: 0 })))
  await until(() => seen.length === 24)
  assert.deepEqual(
    seen.filter((s) => s.startsWith('1:')),
    [],
  )
  const [trouble] = loop.trouble()
  assert.equal(loop.trouble().length, 1)
  assert.equal(trouble!.partition, 1)
  assert.ok(trouble!.failures >= 1, `${trouble!.failures} failed reads counted`)
  assert.match(trouble!.reason, /no leader right now \[STRATA_ERR_KAFKA_UNAVAILABLE\]/)
  assert.ok(trouble!.since <= Date.now())

  leaderless = false
  await until(() => seen.length === 36)
  assert.deepEqual(
    seen.filter((s) => s.startsWith('1:')),
    Array.from({ length: 12 }, (_, i) => `1:${i}`),
  )
  assert.deepEqual(loop.trouble(), [], 'read again: no trouble left')
  await loop.stop()
})

test('a whole fetch failing puts every owned partition in trouble(); a revoke forgets it', async () => {
  let failing = true
  const log = fakeFetcher([3, 3])
  const fetcher: Fetcher = {
    ...log.fetcher,
    async fetch(positions, options) {
      if (failing) throw new StrataError(ErrorCodes.KAFKA_UNAVAILABLE, 'broker down', { retriable: true })
      return log.fetcher.fetch(positions, options)
    },
  }
  const loop = new FetchLoop(fetcher, () => {}, assert.fail, {})
  loop.assign([0, 1].map((partition) => ({ topic: 't', partition, offset: 0 })))
  await until(() => loop.trouble().length === 2)
  assert.deepEqual(
    loop.trouble().map((t) => t.partition),
    [0, 1],
  )
  await loop.pause()
  loop.clear()
  assert.deepEqual(loop.trouble(), [], 'partitions no longer owned have no trouble')
  failing = false
  loop.assign([{ topic: 't', partition: 0, offset: 0 }])
  await until(() => loop.positions()[0]!.offset === 3)
  assert.deepEqual(loop.trouble(), [])
  await loop.stop()
})

test('when nothing at all can be read, the next fetch waits for a backoff, not a tight loop', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] })
  let calls = 0
  const fetcher: Fetcher = {
    async fetch(positions) {
      calls++
      return positions.map(({ topic, partition, offset }) => ({
        topic,
        partition,
        records: [],
        nextOffset: offset,
        highWatermark: -1,
        error: new StrataError(ErrorCodes.KAFKA_UNAVAILABLE, 'no leader', { retriable: true }),
      }))
    },
    refresh() {},
    async close() {},
  }
  const loop = new FetchLoop(fetcher, () => {}, assert.fail, {})
  loop.assign([{ topic: 't', partition: 0, offset: 0 }])
  await until(() => calls === 1)
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
  assert.equal(calls, 1, 'no second fetch before the backoff timer fires')
  t.mock.timers.tick(100)
  await until(() => calls === 2)
  const stopping = loop.stop()
  t.mock.timers.tick(5000)
  await stopping
})

// A partition-level error (NOT_LEADER_OR_FOLLOWER, a damaged batch) comes back at once: the broker
// does not wait maxWaitMs when a partition fails. With the other partitions idle, asking for the
// failing one again in every fetch spun the loop and the broker as fast as they could go.
test('a partition failing alone sits out the fetches until its backoff has passed', async () => {
  const fetched: number[][] = []
  const fetcher: Fetcher = {
    async fetch(positions) {
      fetched.push(positions.map((p) => p.partition))
      await new Promise((resolve) => setImmediate(resolve))
      return positions.map(({ topic, partition, offset }) => ({
        topic,
        partition,
        records: [],
        nextOffset: offset,
        highWatermark: partition === 1 ? -1 : 0,
        ...(partition === 1
          ? { error: new StrataError(ErrorCodes.KAFKA, 'NOT_LEADER_OR_FOLLOWER', { retriable: true }) }
          : {}),
      }))
    },
    refresh() {},
    async close() {},
  }
  const loop = new FetchLoop(fetcher, () => {}, assert.fail, {})
  loop.assign([0, 1].map((partition) => ({ topic: 't', partition, offset: 0 })))
  await until(() => fetched.length >= 200)
  await loop.stop()
  const withFailing = fetched.slice(0, 200).filter((list) => list.includes(1)).length
  assert.ok(withFailing < 20, `the failing partition was asked for in ${withFailing} of 200 fetches`)
  assert.ok(
    fetched.every((list) => list.includes(0)),
    'the readable partition is in every fetch',
  )
  assert.equal(loop.trouble().length, 1)
})

// Every rebalance revokes (clear) and reassigns everything: a partition still unreadable keeps
// its `since`, or rebalances closer than the stall threshold would keep it "degraded" for ever.
test('a partition still unreadable after a rebalance keeps when its trouble began', async () => {
  const fetcher: Fetcher = {
    async fetch(positions) {
      await new Promise((resolve) => setImmediate(resolve))
      return positions.map(({ topic, partition, offset }) => ({
        topic,
        partition,
        records: [],
        nextOffset: offset,
        highWatermark: -1,
        error: new StrataError(ErrorCodes.KAFKA_UNAVAILABLE, 'no leader', { retriable: true }),
      }))
    },
    refresh() {},
    async close() {},
  }
  const loop = new FetchLoop(fetcher, () => {}, assert.fail, {})
  loop.assign([0, 1].map((partition) => ({ topic: 't', partition, offset: 0 })))
  await until(() => loop.trouble().length === 2)
  const since = loop.trouble()[0]!.since
  await new Promise((resolve) => setTimeout(resolve, 20))
  await loop.pause()
  loop.clear()
  assert.deepEqual(loop.trouble(), [])
  loop.assign([{ topic: 't', partition: 0, offset: 0 }])
  assert.equal(loop.trouble().length, 1, 'partition 0, reassigned, is still in trouble')
  assert.equal(loop.trouble()[0]!.since, since, 'since when: not reset by the rebalance')
  await loop.pause()
  loop.clear()
  loop.assign([{ topic: 't', partition: 1, offset: 0 }])
  assert.deepEqual(loop.trouble(), [], 'partition 1 was not owned in between: its old trouble is gone')
  await loop.stop()
})
