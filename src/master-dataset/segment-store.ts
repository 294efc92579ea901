// The master dataset on disk: one SegmentStore per root folder, one writer per partition (the
// archiver that owns the partition, or the embedded log). Opening it removes what a crash can
// leave behind: temp files, and checksum sidecars or packed caches whose data file was never
// committed. `nextOffset(p)` is where a writer resumes: the end of the last durable segment.
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { createFileDurable, fsyncDir, TEMP_EXTENSION, writeFileDurable } from './durable-fs.ts'
import type { MasterDataset } from './master-dataset.ts'
import type { PackedSegmentEncoder } from './packed-segment.ts'
import {
  CHECKSUM_EXTENSION,
  PACKED_EXTENSION,
  SEGMENT_EXTENSION,
  type SegmentRange,
} from './segment-format.ts'
import {
  FIRST_OFFSET_FILE,
  listPartition,
  listPartitions,
  listSegments,
  type PartitionListing,
  partitionDir,
} from './segment-list.ts'
import { readSegment } from './segment-reader.ts'
import { type WriteOutcome, writeSegment } from './segment-writer.ts'

export class SegmentStore implements MasterDataset {
  readonly root: string
  // Writes to one partition run one after another, so the contiguity check cannot race.
  #queues = new Map<number, Promise<unknown>>()

  private constructor(root: string) {
    this.root = root
  }

  /**
   * For the writer. `readOnly`: a reader (the batch layer, identity checks) never removes
   * leftovers: while a writer runs, a sidecar before its data file is no leftover at all.
   */
  static async open(root: string, options: { readOnly?: boolean } = {}): Promise<SegmentStore> {
    const store = new SegmentStore(root)
    if (!options.readOnly) {
      for (const partition of await listPartitions(root))
        await removeCrashLeftovers(partitionDir(root, partition))
    }
    return store
  }

  get location(): string {
    return this.root
  }

  listPartition(partition: number): Promise<PartitionListing> {
    return listPartition(this.root, partition)
  }

  readSegment(partition: number, range: SegmentRange): Promise<Buffer> {
    return readSegment(this.root, partition, range)
  }

  async localCopy(): Promise<string> {
    return this.root
  }

  async readRootFile(name: string): Promise<Buffer | undefined> {
    try {
      return await readFile(join(this.root, name))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }

  async createRootFile(name: string, data: Buffer): Promise<boolean> {
    await mkdir(this.root, { recursive: true })
    return createFileDurable(this.root, name, data)
  }

  async close(): Promise<void> {}

  partitions(): Promise<number[]> {
    return listPartitions(this.root)
  }

  /** Sealed segments of a partition, ascending; throws on a gap or an overlap. */
  segments(partition: number): Promise<SegmentRange[]> {
    return listSegments(this.root, partition)
  }

  /** End of the last durable segment: where the writer of this partition resumes (0 if none). */
  async nextOffset(partition: number): Promise<number> {
    const segments = await listSegments(this.root, partition)
    return segments.length === 0 ? 0 : segments[segments.length - 1]!.end
  }

  /**
   * Writes a sealed segment that must start where the partition ends (any start for the first
   * one: a topic's early offsets may be gone before archiving began). Rewriting an existing
   * segment with the same bytes is accepted as 'identical'.
   */
  writeSegment(
    partition: number,
    range: SegmentRange,
    data: Buffer,
    packer?: PackedSegmentEncoder,
  ): Promise<WriteOutcome> {
    return this.#serialize(partition, async () => {
      const segments = await listSegments(this.root, partition)
      const exists = segments.some((s) => s.start === range.start && s.end === range.end)
      const end = segments.length === 0 ? range.start : segments[segments.length - 1]!.end
      if (!exists && range.start !== end) {
        throw new StrataError(
          range.start < end ? ErrorCodes.SEGMENT_CONFLICT : ErrorCodes.SEGMENT_CORRUPT,
          `partition ${partition}: segment [${range.start}, ${range.end}) must start at ${end}`,
        )
      }
      if (segments.length === 0) await this.#recordStart(partition, range.start)
      return writeSegment(this.root, partition, range, data, packer)
    })
  }

  /** Records where the partition's first segment starts, so that losing it is noticed. */
  async #recordStart(partition: number, start: number): Promise<void> {
    const dir = partitionDir(this.root, partition)
    if ((await mkdir(dir, { recursive: true })) !== undefined) await fsyncDir(this.root)
    await writeFileDurable(dir, FIRST_OFFSET_FILE, Buffer.from(`${start}\n`))
  }

  #serialize<T>(partition: number, task: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(partition) ?? Promise.resolve()
    const run = previous.then(task, task)
    this.#queues.set(
      partition,
      run.catch(() => {}),
    )
    return run
  }
}

/** Removes temp files and sidecars/caches of data files that were never committed. */
export async function removeCrashLeftovers(dir: string): Promise<void> {
  const names = new Set(await readdir(dir))
  for (const name of names) {
    let orphan = name.endsWith(TEMP_EXTENSION)
    if (name.endsWith(CHECKSUM_EXTENSION)) orphan = !names.has(name.slice(0, -CHECKSUM_EXTENSION.length))
    if (name.endsWith(PACKED_EXTENSION)) {
      orphan = !names.has(name.slice(0, -PACKED_EXTENSION.length) + SEGMENT_EXTENSION)
    }
    if (orphan) await unlink(join(dir, name))
  }
}
