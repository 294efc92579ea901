// The embedded log: the master dataset's segments, appended to directly (no Kafka).
export { defaultSegmentPolicy, EmbeddedLog, type EmbeddedLogOptions } from './embedded-log.ts'
export type { SegmentPolicy } from './partition-log.ts'
