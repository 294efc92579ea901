// The archiver in Kafka mode: a member of consumer group `strata-archiver` on the source topic
// (consumerGroupSource, src/log/kafka/group-source.ts), writing into the master dataset.
import { consumerGroupSource, type GroupSourceOptions } from '../log/kafka/index.ts'
import { openMasterDataset, type S3Settings } from '../master-dataset/index.ts'
import { Archiver, type ArchiverOptions } from './archiver.ts'

export const ARCHIVER_GROUP = 'strata-archiver'

export interface KafkaArchiverOptions extends Omit<GroupSourceOptions, 'groupId'>, ArchiverOptions {
  /** The master dataset: a folder, or s3://bucket/prefix on S3-compatible object storage. */
  master: string
  s3?: S3Settings
  /** Default `strata-archiver`. */
  groupId?: string
}

/**
 * Starts archiving `topic` into the master dataset at `master`. A partition with no segment yet starts at Kafka's earliest
 * offset (records deleted by retention before archiving began were never in the dataset).
 */
export async function startKafkaArchiver(options: KafkaArchiverOptions): Promise<Archiver> {
  const store = await openMasterDataset(options.master, options.s3 ? { s3: options.s3 } : {})
  const source = consumerGroupSource({ ...options, groupId: options.groupId ?? ARCHIVER_GROUP })
  const archiver = new Archiver(store, source, options)
  try {
    await archiver.start()
  } catch (error) {
    // A half-joined consumer would keep the process alive doing nothing; the caller may retry.
    await archiver.close().catch(() => undefined)
    await store.close()
    throw error
  }
  // The archiver was given the store; this function opened it, so its close closes it too.
  const close = archiver.close.bind(archiver)
  archiver.close = async () => {
    try {
      await close()
    } finally {
      await store.close()
    }
  }
  return archiver
}
