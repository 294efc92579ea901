// The master dataset behind one interface, whatever holds it: a folder (SegmentStore, the default)
// or a prefix of an S3-compatible bucket (S3SegmentStore, s3/). The archiver writes through it and
// the batch layer reads through it; the rules are the same on both: segments named by their offset
// ranges that tile each partition from its recorded start, every segment checked against its
// SHA-256 before a record is returned, one segment per range written once (the same bytes again
// are 'identical', other bytes a conflict).
import type { PackedSegmentEncoder } from './packed-segment.ts'
import type { SegmentRange } from './segment-format.ts'
import type { PartitionListing } from './segment-list.ts'
import type { WriteOutcome } from './segment-writer.ts'

export interface MasterDataset {
  /** A folder path or `s3://bucket/prefix`: for messages and logs. */
  readonly location: string
  partitions(): Promise<number[]>
  /** The sealed segments of a partition, unchecked (see checkContiguity). */
  listPartition(partition: number): Promise<PartitionListing>
  /** Sealed segments of a partition, ascending; throws on a gap or an overlap. */
  segments(partition: number): Promise<SegmentRange[]>
  /** End of the last durable segment: where the writer of this partition resumes (0 if none). */
  nextOffset(partition: number): Promise<number>
  writeSegment(
    partition: number,
    range: SegmentRange,
    data: Buffer,
    packer?: PackedSegmentEncoder,
  ): Promise<WriteOutcome>
  /** The bytes of a sealed segment, verified against its checksum (SEGMENT_CORRUPT otherwise). */
  readSegment(partition: number, range: SegmentRange): Promise<Buffer>
  /**
   * A folder the batch layer's worker threads can read every sealed segment below `horizon` from,
   * in the folder layout (segment-format.ts): the folder itself, or a local copy of the objects
   * (verified on the way; the packed caches are built there).
   */
  localCopy(horizon: readonly number[]): Promise<string>
  /** A small file at the dataset's root (source.json), or undefined. */
  readRootFile(name: string): Promise<Buffer | undefined>
  /** Creates a root file unless one of that name exists (the first writer wins); false if it did. */
  createRootFile(name: string, data: Buffer): Promise<boolean>
  close(): Promise<void>
}
