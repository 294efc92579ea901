// The master dataset (docs/master-dataset.md): immutable, checksummed segments per partition,
// written by the archiver (Kafka mode) or the embedded log, read by the batch layer.

// Archiving a Kafka topic
export { Archiver, type ArchiverOptions, type ArchiveSource, defaultCutPolicy } from './archiver.ts'
export {
  ARCHIVER_GROUP,
  type KafkaArchiverOptions,
  kafkaArchiveSource,
  startKafkaArchiver,
} from './kafka-source.ts'
export { PackedCursor } from './packed-segment.ts'
export type { ArchiveBatch, ArchiveRecord, Rejection } from './partition-archiver.ts'
// Writing
export { SegmentBuilder } from './segment-builder.ts'
// Format and layout
export {
  type LineFields,
  partitionDirName,
  type SegmentRange,
  type SegmentRecord,
  segmentFileName,
} from './segment-format.ts'
export { checkContiguity, listPartitions, listSegments, partitionDir } from './segment-list.ts'
// Reading (path-based, no shared state: safe in worker threads)
export {
  forEachLine,
  type OffsetBounds,
  openPackedSegment,
  readRecords,
  readSegment,
  segmentRecords,
} from './segment-reader.ts'
export { SegmentStore } from './segment-store.ts'
export type { WriteOutcome } from './segment-writer.ts'
