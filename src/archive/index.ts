// The archiver (docs/master-dataset.md, "The archiver"): copies the source topic into the master
// dataset (src/master-dataset) in Kafka mode. This file is the role's boundary.

export {
  Archiver,
  type ArchiverOptions,
  type ArchiverPartitionStats,
  type ArchiverStats,
  defaultCutPolicy,
  freshArchiverStats,
} from './archiver.ts'
export { ARCHIVER_GROUP, type KafkaArchiverOptions, startKafkaArchiver } from './kafka-archiver.ts'
export type { ArchiveBatch, ArchiveRecord, Rejection } from './partition-archiver.ts'
