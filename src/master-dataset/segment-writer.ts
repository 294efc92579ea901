// The one writer of the master dataset's on-disk format (docs/master-dataset.md, "Writing").
// A sealed segment appears in one of two ways, with the same steps and the same result:
//   - writeSegment: from bytes in memory (the archiver's cut). Checksum sidecar (durable), then
//     the data file (durable, created with link(2) so it never replaces another), then the
//     packed cache. Writing a segment that exists already (a retry after a crash) is a no-op when
//     the bytes are identical, SEGMENT_CONFLICT otherwise.
//   - sealing an active segment in place (the embedded log, which appends to `<start>.active`):
//     writeChecksumSidecar (durable), then commitActiveSegment (the file cut to its records and
//     renamed to its range, the next active file renamed into place), then writePackedCache.
// Either way a crash before the data file exists leaves at most an orphan sidecar or temp file,
// which opening the store removes; the data file's presence is the commit.
import { type FileHandle, mkdir, open, readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { formatChecksumFile, sha256Hex } from './checksum.ts'
import {
  createFileDurable,
  fsyncDir,
  TEMP_EXTENSION,
  writeCacheFile,
  writeFileDurable,
} from './durable-fs.ts'
import type { PackedSegmentEncoder } from './packed-segment.ts'
import {
  activeFileName,
  CHECKSUM_EXTENSION,
  newLineFields,
  PACKED_EXTENSION,
  type SegmentRange,
  scanLine,
  segmentFileName,
} from './segment-format.ts'
import { listPartition, partitionDir } from './segment-list.ts'

export type WriteOutcome = 'written' | 'identical'

/** Checks every line's envelope and that offsets increase inside the range. */
export function validateSegmentData(data: Buffer, range: SegmentRange): number {
  const fields = newLineFields()
  let previous = range.start - 1
  let records = 0
  let at = 0
  if (data.length > 0 && data[data.length - 1] !== 0x0a) {
    throw new StrataError(ErrorCodes.SEGMENT_CORRUPT, 'segment data must end with a newline')
  }
  while (at < data.length) {
    const nl = data.indexOf(0x0a, at)
    scanLine(data, at, nl, fields)
    if (fields.offset <= previous || fields.offset >= range.end) {
      throw new StrataError(
        ErrorCodes.SEGMENT_CORRUPT,
        `offset ${fields.offset} out of order or outside [${range.start}, ${range.end})`,
      )
    }
    previous = fields.offset
    records++
    at = nl + 1
  }
  return records
}

export async function writeSegment(
  root: string,
  partition: number,
  range: SegmentRange,
  data: Buffer,
  packer?: PackedSegmentEncoder,
): Promise<WriteOutcome> {
  validateSegmentData(data, range)
  const dir = partitionDir(root, partition)
  await ensureDir(root, dir)
  const name = segmentFileName(range)
  const hex = sha256Hex(data)
  if (await sameAsExisting(dir, name, hex, range, partition)) return 'identical'
  const { segments } = await listPartition(root, partition)
  const overlapping = segments.find((s) => s.start < range.end && range.start < s.end)
  if (overlapping) {
    throw new StrataError(
      ErrorCodes.SEGMENT_CONFLICT,
      `partition ${partition}: segment [${range.start}, ${range.end}) overlaps [${overlapping.start}, ${overlapping.end})`,
    )
  }
  await writeChecksumSidecar(dir, name, hex)
  if (!(await createFileDurable(dir, name, data))) {
    // Another writer won the race for this name: fine only if it wrote the same bytes.
    if (await sameAsExisting(dir, name, hex, range, partition)) return 'identical'
  }
  if (packer) await writePackedCache(dir, range, packer.finish(hex))
  return 'written'
}

async function sameAsExisting(
  dir: string,
  name: string,
  hex: string,
  range: SegmentRange,
  partition: number,
): Promise<boolean> {
  let existing: Buffer
  try {
    existing = await readFile(join(dir, name))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw error
  }
  if (sha256Hex(existing) !== hex) {
    throw new StrataError(
      ErrorCodes.SEGMENT_CONFLICT,
      `partition ${partition}: segment [${range.start}, ${range.end}) exists with different bytes`,
    )
  }
  // The sidecar may be the part a crash lost (or a tool removed): restore it.
  const sidecar = formatChecksumFile(hex, name)
  const current = await readFile(join(dir, name + CHECKSUM_EXTENSION)).catch(() => undefined)
  if (!current?.equals(sidecar)) await writeChecksumSidecar(dir, name, hex)
  return true
}

async function ensureDir(root: string, dir: string): Promise<void> {
  await mkdir(root, { recursive: true })
  if ((await mkdir(dir, { recursive: true })) !== undefined) await fsyncDir(root)
}

/** The checksum sidecar of data file `name`, durable: written before the data file exists. */
export function writeChecksumSidecar(dir: string, name: string, hex: string): Promise<void> {
  return writeFileDurable(dir, name + CHECKSUM_EXTENSION, formatChecksumFile(hex, name))
}

/** Creates the empty active segment `<start>.active` of a partition that has none, durably. */
export async function createActiveSegment(dir: string, start: number): Promise<void> {
  await (await open(join(dir, activeFileName(start)), 'wx')).close()
  await fsyncDir(dir)
}

/** Where the next active segment is prepared before a seal renames it into place. */
export function nextActiveTempPath(dir: string, start: number): string {
  return join(dir, `.${activeFileName(start)}.${process.pid}${TEMP_EXTENSION}`)
}

/**
 * Seals the active segment `<range.start>.active` in place, its sidecar already durable
 * (writeChecksumSidecar): the file is cut to its `bytes` of records (room reserved ahead goes),
 * durably, before it is renamed to its range; then `nextTemp` (nextActiveTempPath, prepared by
 * the caller) becomes `<range.end>.active` and the folder is fsynced. A crash between any two
 * steps leaves either the active file or the sealed segment: never both, never neither.
 */
export async function commitActiveSegment(
  dir: string,
  range: SegmentRange,
  active: FileHandle,
  bytes: number,
  nextTemp: string,
): Promise<void> {
  await active.truncate(bytes)
  await active.sync()
  await rename(join(dir, activeFileName(range.start)), join(dir, segmentFileName(range)))
  await rename(nextTemp, join(dir, activeFileName(range.end)))
  await fsyncDir(dir)
}

/**
 * The packed cache of a segment (SegmentBuilder's packer, or packSegment of its lines). A derived
 * file: atomic but not fsynced (writeCacheFile); it is rebuilt whenever missing or corrupt.
 */
export function writePackedCache(dir: string, range: SegmentRange, packed: Buffer): Promise<void> {
  return writeCacheFile(dir, segmentFileName(range).replace(/\.ndjson$/, PACKED_EXTENSION), packed)
}
