// The master dataset (docs/master-dataset.md): every accepted event, immutable, in checksummed
// segment files per partition. Written by the archiver (src/archive, Kafka mode) and by the
// embedded log (src/log/embedded, which appends to it); read by the batch layer. This file is
// the folder's boundary: code outside it imports from here, never from the files behind it.

export { sha256Hex } from './checksum.ts'
// Crash-safe files (temp, fsync, link or rename, fsync the folder)
export { createFileDurable, fsyncDir, writeFileDurable } from './durable-fs.ts'
// Where it lives: a folder, or a prefix of an S3-compatible bucket, behind one interface
export {
  childLocation,
  isObjectStoreUrl,
  type ObjectLocation,
  parseObjectStoreUrl,
  type S3Settings,
} from './location.ts'
export type { MasterDataset } from './master-dataset.ts'
export { type OpenMasterOptions, openMasterDataset } from './open.ts'
// Reading the packed encoding (the batch layer's fast path), whole events or projected fields
export { PackedCursor } from './packed-cursor.ts'
// Building a segment in memory (the archiver's open segment)
export { SegmentBuilder } from './segment-builder.ts'
// The format: file names and the line envelope
export {
  activeFileName,
  checkLine,
  encodeRecordLine,
  type LineFields,
  maxRecordLineBytes,
  newLineFields,
  partitionDirName,
  type SegmentRange,
  type SegmentRecord,
  scanLine,
  segmentFileName,
  storedEventBytes,
} from './segment-format.ts'
// The layout: partitions, their segments, and the checks that every offset is there once
export {
  checkContiguity,
  EMBEDDED_META_FILE,
  listPartition,
  listPartitions,
  listSegments,
  missingSegments,
  partitionDir,
} from './segment-list.ts'
// Reading (path-based, no shared state: safe in worker threads)
export {
  forEachLine,
  type OffsetBounds,
  openPackedSegment,
  PackedSegmentReader,
  packSegment,
  readRecords,
  readSegment,
  segmentRecords,
} from './segment-reader.ts'
// Sealed segments whose NDJSON rotted under a valid packed copy (the batch role checks)
export { describeDamage, type SegmentDamage, SegmentScrub } from './segment-scrub.ts'
// Writing sealed segments: one writer, from bytes (SegmentStore.writeSegment) or an active
// segment sealed in place (the embedded log)
export { SegmentStore } from './segment-store.ts'
export {
  commitActiveSegment,
  createActiveSegment,
  nextActiveTempPath,
  type WriteOutcome,
  writeChecksumSidecar,
  writePackedCache,
} from './segment-writer.ts'
