// The consumer group as a PartitionSource (../partition-source.ts): the member built on our
// consumer (consumer.ts), which lets the role choose every start offset and revokes before it
// rejoins (eager protocol), as the contract requires. The speed layer (group `strata-speed`) and
// the archiver (`strata-archiver`) each run one on the source topic.
import type { PartitionSource } from '../partition-source.ts'
import { createAdmin } from './admin.ts'
import type { KafkaClientOptions } from './client-options.ts'
import { type ConsumerOptions, createConsumer, type KafkaConsumer } from './consumer.ts'

/** The consumer's options (group, fetch sizes, timers, onError) for one topic. */
export interface GroupSourceOptions
  extends Omit<ConsumerOptions, 'topics' | 'onBatch' | 'onAssign' | 'onRevoke'> {
  topic: string
}

export function consumerGroupSource(options: GroupSourceOptions): PartitionSource {
  let consumer: KafkaConsumer | undefined
  return {
    async start(handlers) {
      consumer = createConsumer({
        ...options,
        topics: [options.topic],
        onBatch: (batch) => handlers.onBatch(batch),
        onAssign: (partitions) => handlers.onAssign(partitions.map((p) => p.partition)),
        onRevoke: (partitions) => handlers.onRevoke(partitions.map((p) => p.partition)),
      })
      await consumer.start()
    },
    async commit(offsets) {
      await consumer?.commit(offsets)
    },
    async close() {
      await consumer?.close()
    },
    readTrouble() {
      return (consumer?.trouble() ?? []).map(({ partition, failures, since, reason }) => ({
        partition,
        failures,
        since,
        reason,
      }))
    },
    async logStart(partition) {
      const admin = createAdmin(adminOptions(options))
      try {
        const offsets = await admin.listOffsets(options.topic)
        return offsets.find((p) => p.partition === partition)?.earliest ?? 0
      } finally {
        await admin.close()
      }
    },
  }
}

// The connection options without the consumer's client id (the admin client keeps its own).
function adminOptions(options: KafkaClientOptions): KafkaClientOptions {
  const { brokers, timeout, retries, retryDelay, security } = options
  return {
    brokers,
    ...(timeout === undefined ? {} : { timeout }),
    ...(retries === undefined ? {} : { retries }),
    ...(retryDelay === undefined ? {} : { retryDelay }),
    ...(security === undefined ? {} : { security }),
  }
}
