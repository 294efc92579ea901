// Listing a partition's segments and checking that their ranges tile it: sorted by start, each
// starting where the previous one ended. A gap means a lost segment (offsets nobody accounts
// for); an overlap means two writers (offsets accounted twice). Either breaks "every offset
// exactly once", so resuming or reading past one is refused.
import { readdir } from 'node:fs/promises'
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

export interface PartitionListing {
  /** Sealed segments, ascending by start. */
  segments: SegmentRange[]
  /** Start offset of the embedded log's active segment, if there is one. */
  activeStart: number | undefined
}

/** The sealed segments of a partition (not checked; see checkContiguity). */
export async function listPartition(root: string, partition: number): Promise<PartitionListing> {
  const segments: SegmentRange[] = []
  let activeStart: number | undefined
  for (const name of await namesIn(partitionDir(root, partition))) {
    const range = parseSegmentFileName(name)
    if (range) segments.push(range)
    const active = parseActiveFileName(name)
    if (active !== undefined) activeStart = activeStart === undefined ? active : Math.max(active, activeStart)
  }
  segments.sort((a, b) => a.start - b.start || a.end - b.end)
  return { segments, activeStart }
}

/** Throws SEGMENT_CONFLICT on an overlap and SEGMENT_CORRUPT on a gap between sorted ranges. */
export function checkContiguity(partition: number, segments: SegmentRange[]): void {
  for (let i = 1; i < segments.length; i++) {
    const previous = segments[i - 1]!
    const range = segments[i]!
    if (range.start < previous.end) {
      throw new StrataError(
        ErrorCodes.SEGMENT_CONFLICT,
        `partition ${partition}: segments [${previous.start}, ${previous.end}) and [${range.start}, ${range.end}) overlap`,
      )
    }
    if (range.start > previous.end) {
      throw new StrataError(
        ErrorCodes.SEGMENT_CORRUPT,
        `partition ${partition}: offsets [${previous.end}, ${range.start}) are in no segment`,
      )
    }
  }
}

/** Contiguous sealed segments of a partition; throws on a gap or an overlap. */
export async function listSegments(root: string, partition: number): Promise<SegmentRange[]> {
  const { segments } = await listPartition(root, partition)
  checkContiguity(partition, segments)
  return segments
}
