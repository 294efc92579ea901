// The archiver's source in Kafka mode: a member of consumer group `strata-archiver` built on the
// project's Kafka consumer, which lets the caller choose every start offset (ours come from the
// segment store) and revokes before rejoining (eager protocol), as ArchiveSource requires.
import type { StrataError } from '../core/errors.ts'
import {
  createAdmin,
  createConsumer,
  type KafkaClientOptions,
  type KafkaConsumer,
} from '../log/kafka/index.ts'
import { SegmentStore } from '../master-dataset/index.ts'
import { Archiver, type ArchiverOptions, type ArchiveSource } from './archiver.ts'

export const ARCHIVER_GROUP = 'strata-archiver'

export interface KafkaArchiveOptions extends KafkaClientOptions {
  topic: string
  groupId?: string
  /** A fatal consumer error (the member has left the group); by default it is thrown. */
  onError?: (error: StrataError) => void
  sessionTimeoutMs?: number
  maxWaitMs?: number
}

export function kafkaArchiveSource(options: KafkaArchiveOptions): ArchiveSource {
  let consumer: KafkaConsumer | undefined
  return {
    async start(handlers) {
      consumer = createConsumer({
        ...options,
        groupId: options.groupId ?? ARCHIVER_GROUP,
        topics: [options.topic],
        onBatch: (batch) => handlers.onBatch(batch),
        onAssign: (partitions) => handlers.onAssign(partitions.map((p) => p.partition)),
        onRevoke: (partitions) => handlers.onRevoke(partitions.map((p) => p.partition)),
        ...(options.onError ? { onError: options.onError } : {}),
      })
      await consumer.start()
    },
    async commit(offsets) {
      await consumer?.commit(offsets)
    },
    async close() {
      await consumer?.close()
    },
  }
}

export interface KafkaArchiverOptions extends KafkaArchiveOptions, Omit<ArchiverOptions, 'firstOffset'> {
  /** The master dataset's root folder. */
  dir: string
}

/**
 * Starts archiving `topic` into `dir`. A partition with no segment yet starts at Kafka's earliest
 * offset (records deleted by retention before archiving began were never in the dataset).
 */
export async function startKafkaArchiver(options: KafkaArchiverOptions): Promise<Archiver> {
  const store = await SegmentStore.open(options.dir)
  const archiver = new Archiver(store, kafkaArchiveSource(options), {
    ...options,
    firstOffset: (partition) => earliestOffset(options, partition),
  })
  try {
    await archiver.start()
  } catch (error) {
    // A half-joined consumer would keep the process alive doing nothing; the caller may retry.
    await archiver.close().catch(() => undefined)
    throw error
  }
  return archiver
}

async function earliestOffset(options: KafkaArchiveOptions, partition: number): Promise<number> {
  const admin = createAdmin(options)
  try {
    return (await admin.listOffsets(options.topic)).find((p) => p.partition === partition)?.earliest ?? 0
  } finally {
    await admin.close()
  }
}
