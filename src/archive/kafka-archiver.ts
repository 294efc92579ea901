// The archiver in Kafka mode: a member of consumer group `strata-archiver` on the source topic
// (consumerGroupSource, src/log/kafka/group-source.ts), writing into the master dataset.
import { consumerGroupSource, type GroupSourceOptions } from '../log/kafka/index.ts'
import { SegmentStore } from '../master-dataset/index.ts'
import { Archiver, type ArchiverOptions } from './archiver.ts'

export const ARCHIVER_GROUP = 'strata-archiver'

export interface KafkaArchiverOptions extends Omit<GroupSourceOptions, 'groupId'>, ArchiverOptions {
  /** The master dataset's root folder. */
  dir: string
  /** Default `strata-archiver`. */
  groupId?: string
}

/**
 * Starts archiving `topic` into `dir`. A partition with no segment yet starts at Kafka's earliest
 * offset (records deleted by retention before archiving began were never in the dataset).
 */
export async function startKafkaArchiver(options: KafkaArchiverOptions): Promise<Archiver> {
  const store = await SegmentStore.open(options.dir)
  const source = consumerGroupSource({ ...options, groupId: options.groupId ?? ARCHIVER_GROUP })
  const archiver = new Archiver(store, source, options)
  try {
    await archiver.start()
  } catch (error) {
    // A half-joined consumer would keep the process alive doing nothing; the caller may retry.
    await archiver.close().catch(() => undefined)
    throw error
  }
  return archiver
}
