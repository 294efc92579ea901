// Writing one sealed segment crash-safely. Order: checksum sidecar (durable), then the data file
// (durable, created with link(2) so it never replaces another), then the packed cache. A crash
// before the data file exists leaves at most an orphan sidecar or temp file, which opening the
// store removes; the data file's presence is the commit. Writing a segment that exists already
// (a retry after a crash) is a no-op when the bytes are identical, SEGMENT_CONFLICT otherwise.
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { formatChecksumFile, sha256Hex } from './checksum.ts'
import { createFileDurable, fsyncDir, TEMP_EXTENSION, writeFileDurable } from './durable-fs.ts'
import type { PackedSegmentEncoder } from './packed-segment.ts'
import {
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
  await writeFileDurable(dir, name + CHECKSUM_EXTENSION, formatChecksumFile(hex, name))
  if (!(await createFileDurable(dir, name, data))) {
    // Another writer won the race for this name: fine only if it wrote the same bytes.
    if (await sameAsExisting(dir, name, hex, range, partition)) return 'identical'
  }
  if (packer)
    await writeCacheFile(
      dir,
      segmentFileName(range).replace(/\.ndjson$/, PACKED_EXTENSION),
      packer.finish(hex),
    )
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
  if (!current?.equals(sidecar)) await writeFileDurable(dir, name + CHECKSUM_EXTENSION, sidecar)
  return true
}

async function ensureDir(root: string, dir: string): Promise<void> {
  await mkdir(root, { recursive: true })
  if ((await mkdir(dir, { recursive: true })) !== undefined) await fsyncDir(root)
}

/** A derived file: atomic (temp + rename) but not fsynced; its own checksum catches a torn one. */
export async function writeCacheFile(dir: string, name: string, data: Buffer): Promise<void> {
  const temp = join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_EXTENSION}`)
  await writeFile(temp, data)
  await rename(temp, join(dir, name))
}
