// Listing a partition's segments and checking that their ranges tile it: sorted by start, each
// starting where the previous one ended. A gap means a lost segment (offsets nobody accounts
// for); an overlap means two writers (offsets accounted twice). Either breaks "every offset
// exactly once", so resuming or reading past one is refused. The first segment must start at
// the partition's recorded start: 0 in the embedded log (its root holds embedded-log.json), and
// in Kafka mode the offset the archiver began at (`p0003/first-offset`, written with the first
// segment); a lost first segment is a gap too.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import {
  parseActiveFileName,
  parsePartitionDirName,
  parseSegmentFileName,
  partitionDirName,
  type SegmentRange,
} from './segment-format.ts'

export function partitionDir(root: string, partition: number): string {
  return join(root, partitionDirName(partition))
}

async function namesIn(dir: string): Promise<string[]> {
  try {
    return await readdir(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}

/** Partition numbers that have a folder under root, ascending. */
export async function listPartitions(root: string): Promise<number[]> {
  const partitions: number[] = []
  for (const name of await namesIn(root)) {
    const partition = parsePartitionDirName(name)
    if (partition !== undefined) partitions.push(partition)
  }
  return partitions.sort((a, b) => a - b)
}

/** The file in a partition's folder that records where its first segment starts (Kafka mode). */
export const FIRST_OFFSET_FILE = 'first-offset'
/** The embedded log's file at the root (its partitions start at 0). */
export const EMBEDDED_META_FILE = 'embedded-log.json'

export interface PartitionListing {
  /** Sealed segments, ascending by start. */
  segments: SegmentRange[]
  /** Where the first segment must start, when it is known (see above). */
  recordedStart: number | undefined
  /** Start offset of the embedded log's active segment, if there is one. */
  activeStart: number | undefined
}

/** The sealed segments of a partition (not checked; see checkContiguity). */
export async function listPartition(root: string, partition: number): Promise<PartitionListing> {
  const segments: SegmentRange[] = []
  let activeStart: number | undefined
  let recordedStart: number | undefined
  const names = await namesIn(partitionDir(root, partition))
  if (names.includes(FIRST_OFFSET_FILE)) {
    recordedStart = Number(
      (await readFile(join(partitionDir(root, partition), FIRST_OFFSET_FILE), 'utf8')).trim(),
    )
  } else if ((await namesIn(root)).includes(EMBEDDED_META_FILE)) {
    recordedStart = 0
  }
  for (const name of names) {
    const range = parseSegmentFileName(name)
    if (range) segments.push(range)
    const active = parseActiveFileName(name)
    if (active !== undefined) activeStart = activeStart === undefined ? active : Math.max(active, activeStart)
  }
  segments.sort((a, b) => a.start - b.start || a.end - b.end)
  return { segments, activeStart, recordedStart }
}

/**
 * Throws SEGMENT_CONFLICT on an overlap and SEGMENT_CORRUPT on a gap between sorted ranges, or
 * before the first one when it does not start at `recordedStart`.
 */
export function checkContiguity(partition: number, segments: SegmentRange[], recordedStart?: number): void {
  const first = segments[0]
  if (first && recordedStart !== undefined && first.start > recordedStart) {
    throw missingSegments(partition, recordedStart, first.start)
  }
  for (let i = 1; i < segments.length; i++) {
    const previous = segments[i - 1]!
    const range = segments[i]!
    if (range.start < previous.end) {
      throw new StrataError(
        ErrorCodes.SEGMENT_CONFLICT,
        `partition ${partition}: segments [${previous.start}, ${previous.end}) and [${range.start}, ${range.end}) overlap`,
      )
    }
    if (range.start > previous.end) throw missingSegments(partition, previous.end, range.start)
  }
}

export function missingSegments(partition: number, from: number, to: number): StrataError {
  return new StrataError(
    ErrorCodes.SEGMENT_CORRUPT,
    `partition ${partition}: offsets [${from}, ${to}) are in no segment: a segment file of the master dataset is missing. Put it back (from a backup or copy, with its .sha256), or start over with another data folder; nothing reads past the gap (see docs/master-dataset.md, "Damaged files")`,
  )
}

/** Contiguous sealed segments of a partition; throws on a gap or an overlap. */
export async function listSegments(root: string, partition: number): Promise<SegmentRange[]> {
  const { segments, recordedStart } = await listPartition(root, partition)
  checkContiguity(partition, segments, recordedStart)
  return segments
}
