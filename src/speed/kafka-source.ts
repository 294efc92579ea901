// Kafka mode: the worker is one member of the consumer group (default `strata-speed`); the group
// shares the partitions among the workers and hands a dead worker's partitions to the others
// after its session timeout.
//
// - onAssign claims each partition in the store and answers the stored consumed offset: that,
//   not the group's committed offset, is where reading resumes (rule 1 of docs/horizon.md).
// - onRevoke runs before the member rejoins, so before anyone else can be given the partition:
//   the pending window is committed there and the partition dropped.
// - The claim bumps the owner token, so a worker that stalled past its session timeout (a
//   zombie that never saw the revoke) has its next commit refused and stops writing (rule 2).
// - After store commits, the group offsets are committed too, for `kafka-consumer-groups` and
//   lag dashboards only: they are never read back. At most one OffsetCommit is in flight.
import type { StrataError } from '../core/errors.ts'
import { type ConsumerOptions, createConsumer, type KafkaConsumer } from '../log/kafka/index.ts'
import type { SpeedSource } from './log-source.ts'
import type { PartitionSet } from './partition-set.ts'

/** Group timers and fetch sizes a deployment (or a test) may tune. */
export type SpeedConsumerOptions = Partial<
  Pick<
    ConsumerOptions,
    | 'clientId'
    | 'sessionTimeoutMs'
    | 'rebalanceTimeoutMs'
    | 'heartbeatIntervalMs'
    | 'maxWaitMs'
    | 'maxBytes'
    | 'maxBytesPerPartition'
  >
>

// Smaller fetches than the Kafka module's default (16 MiB, 4 MiB per partition): every record of a
// fetch is decoded and held, with the windows it feeds, until folded and committed, and V8 lets
// its heap grow to a multiple of that before a full GC. With 4 MiB / 1 MiB a worker catching up
// peaks at ~250 MB of V8 heap instead of ~500 MB (1 M events, 6 partitions), at the same CPU per
// event: the partitions' commits share LMDB transactions (PartitionFolder.take), so more, smaller
// commits cost no more (BENCHMARKS.md, Memory).
export const speedFetchDefaults = { maxBytes: 4 * 1024 * 1024, maxBytesPerPartition: 1024 * 1024 }

export function kafkaSpeedSource(options: {
  brokers: string | readonly string[]
  groupId: string
  topic: string
  consumer?: SpeedConsumerOptions
  set: PartitionSet
  onError: (error: StrataError) => void
}): SpeedSource {
  const { set, topic } = options
  const stored = new Map<number, number>()
  let inFlight: Promise<void> | undefined
  let again = false

  const consumer: KafkaConsumer = createConsumer({
    brokers: options.brokers,
    groupId: options.groupId,
    topics: [topic],
    ...speedFetchDefaults,
    ...options.consumer,
    async onAssign(partitions) {
      const offsets = new Map<number, number>()
      for (const { partition } of partitions) {
        const folder = await set.take(partition)
        offsets.set(partition, folder.offset)
      }
      return offsets
    },
    async onBatch(batch) {
      const folder = set.get(batch.partition)
      // Only the fold is awaited: the commit runs on the folder's queue while the fetch's other
      // partitions fold (PartitionFolder.take); this partition's next batch waits for it.
      if (folder !== undefined && !folder.stopped) await folder.take(batch)
    },
    async onRevoke(partitions) {
      await Promise.all(partitions.map(({ partition }) => set.release(partition)))
      await inFlight
      await commitGroup(partitions.map((p) => p.partition))
      for (const { partition } of partitions) stored.delete(partition)
    },
    onError: options.onError,
  })

  async function commitGroup(partitions: readonly number[]): Promise<void> {
    const offsets = new Map<number, number>()
    for (const p of partitions) {
      const offset = stored.get(p)
      if (offset !== undefined) offsets.set(p, offset)
    }
    if (offsets.size === 0) return
    // Best effort: a rebalance can take a partition between our store commit and this one.
    await consumer.commit(offsets).catch(() => undefined)
  }

  function scheduleGroupCommit(): void {
    if (inFlight) {
      again = true
      return
    }
    inFlight = (async () => {
      do {
        again = false
        const owned = set
          .owned()
          .filter((f) => !f.stopped)
          .map((f) => f.partition)
        await commitGroup(owned)
      } while (again)
    })().finally(() => {
      inFlight = undefined
    })
  }

  return {
    start: () => consumer.start(),
    close: async () => {
      await consumer.close()
      await set.releaseAll()
    },
    committed(partition, offset) {
      stored.set(partition, offset)
      scheduleGroupCommit()
    },
  }
}
