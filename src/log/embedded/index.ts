// The embedded log: the master dataset's segments, appended to directly (no Kafka).
export { defaultSegmentPolicy, EmbeddedLog, type EmbeddedLogOptions } from './embedded-log.ts'
export type { SegmentPolicy } from './partition-log.ts'
// Every partition of it, owned by one process, as a PartitionSource (src/log/partition-source.ts)
export { embeddedPartitionSource } from './partition-source.ts'
