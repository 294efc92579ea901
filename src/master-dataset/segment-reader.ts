// Reading the master dataset. Every function here takes paths and returns data: no shared state,
// so the batch layer can call them from worker threads, one partition per worker.
// Sealed segments are checked against their SHA-256 sidecar before a record is returned
// (SEGMENT_CORRUPT otherwise). The embedded log's active segment has no checksum yet: only its
// complete lines are read, and callers bound the read by an offset the log has made durable.
import { join } from 'node:path'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { parseChecksumFile, sha256Hex } from './checksum.ts'
import { writeCacheFile } from './durable-fs.ts'
import { PackedCursor, readPackedHeader, sectionsFor } from './packed-cursor.ts'
import { PackedSegmentEncoder } from './packed-segment.ts'
import { openRegularFile, readRegularFile } from './regular-file.ts'
import {
  activeFileName,
  CHECKSUM_EXTENSION,
  type LineFields,
  lineKey,
  newLineFields,
  PACKED_EXTENSION,
  partitionDirName,
  type SegmentRange,
  type SegmentRecord,
  scanLine,
  segmentFileName,
} from './segment-format.ts'
import { checkContiguity, listPartition, partitionDir } from './segment-list.ts'

/** The checksum recorded for a sealed segment (its sidecar), as hex. */
export async function readSegmentChecksum(
  root: string,
  partition: number,
  range: SegmentRange,
): Promise<string> {
  const name = segmentFileName(range)
  let text: string
  try {
    text = (await readRegularFile(join(partitionDir(root, partition), name + CHECKSUM_EXTENSION))).toString(
      'utf8',
    )
  } catch (error) {
    throw new StrataError(
      ErrorCodes.SEGMENT_CORRUPT,
      `segment ${name} of partition ${partition} has no checksum`,
      {
        cause: error,
      },
    )
  }
  return parseChecksumFile(text, name)
}

/** The bytes of a sealed segment, verified against its checksum. */
export async function readSegment(root: string, partition: number, range: SegmentRange): Promise<Buffer> {
  const expected = await readSegmentChecksum(root, partition, range)
  const data = await readRegularFile(join(partitionDir(root, partition), segmentFileName(range)))
  if (sha256Hex(data) !== expected) {
    throw new StrataError(
      ErrorCodes.SEGMENT_CORRUPT,
      `partition ${partition}: segment [${range.start}, ${range.end}) (${join(partitionDirName(partition), segmentFileName(range))}) does not match its checksum`,
    )
  }
  return data
}

/**
 * Calls fn for each complete line of buf whose offset is in [from, to), in order, with the
 * line's fields (reused between calls: copy what you keep). Returns the byte position after
 * the last complete line scanned.
 */
export function forEachLine(
  buf: Buffer,
  from: number,
  to: number,
  fn: (fields: LineFields, buf: Buffer) => void,
): number {
  const fields = newLineFields()
  let at = 0
  while (at < buf.length) {
    const nl = buf.indexOf(0x0a, at)
    if (nl === -1) break
    scanLine(buf, at, nl, fields)
    if (fields.offset >= to) break
    if (fields.offset >= from) fn(fields, buf)
    at = nl + 1
  }
  return at
}

/** The records of buf with offsets in [from, to); values are views into buf, not copies. */
export function segmentRecords(buf: Buffer, from = 0, to = Number.POSITIVE_INFINITY): SegmentRecord[] {
  const records: SegmentRecord[] = []
  forEachLine(buf, from, to, (f) => {
    records.push({
      offset: f.offset,
      timestamp: f.timestamp,
      key: lineKey(buf, f),
      value: buf.subarray(f.eventStart, f.eventEnd),
    })
  })
  return records
}

/** The embedded log's active segment starting at `start`, or undefined once it is sealed. */
export async function readActiveSegment(
  root: string,
  partition: number,
  start: number,
): Promise<Buffer | undefined> {
  try {
    return await readRegularFile(join(partitionDir(root, partition), activeFileName(start)))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

export interface OffsetBounds {
  /** First offset to read (inclusive); default 0. */
  from?: number
  /** Horizon bound (exclusive); default: everything there is. */
  to?: number
}

/**
 * The records of a partition with offsets in [from, to), one array per segment, in offset
 * order: sealed segments, then the complete lines of the active one (embedded log).
 */
export async function* readRecords(
  root: string,
  partition: number,
  bounds: OffsetBounds = {},
): AsyncGenerator<SegmentRecord[]> {
  const from = bounds.from ?? 0
  const to = bounds.to ?? Number.POSITIVE_INFINITY
  let next = from
  for (let attempt = 0; attempt < 100; attempt++) {
    const { segments, activeStart, recordedStart } = await listPartition(root, partition)
    checkContiguity(partition, segments, recordedStart)
    for (const range of segments) {
      if (range.end <= next || range.start >= to) continue
      const records = segmentRecords(await readSegment(root, partition, range), next, to)
      next = range.end
      if (records.length > 0) yield records
    }
    if (activeStart === undefined || activeStart >= to) return
    if (activeStart > next) continue // sealed between our listing and now: list again
    const active = await readActiveSegment(root, partition, activeStart)
    if (active === undefined) continue // renamed by a seal meanwhile: list again
    const records = segmentRecords(active, next, to)
    if (records.length > 0) yield records
    return
  }
  throw new StrataError(ErrorCodes.INTERNAL, `partition ${partition}: segments kept changing while listing`)
}

/**
 * A cursor over the packed encoding of a sealed segment (the batch layer's fast path). The
 * packed file is a cache: when it is missing, corrupt or derived from other bytes than the
 * segment's checksum says, it is rebuilt from the verified NDJSON and written again.
 */
export async function openPackedSegment(
  root: string,
  partition: number,
  range: SegmentRange,
  fields: readonly string[] | null = null,
): Promise<PackedCursor> {
  return new PackedSegmentReader(root, partition).open(range, fields)
}

// Read buffers of released readers, for the next reader (per thread: modules are per thread).
const spareBuffers: Buffer[] = []
const MAX_SPARE_BUFFERS = 2

/**
 * Opens the packed segments of one partition one after another into one reused buffer, so a
 * batch worker does not allocate (and fault in) a fresh buffer per segment: each cursor is valid
 * only until the next open(). Events and strings it returns are copies, so they stay valid.
 *
 * What is verified, and why that suffices. A packed file names the SHA-256 of the NDJSON it was
 * derived from (its `source`) and carries a CRC32 of all its own bytes. It is only ever derived
 * from NDJSON bytes whose SHA-256 was checked against the sidecar (here, by readSegment) or
 * computed from those very bytes (SegmentStore.writeSegment). So on open:
 * - the CRC32s (one over the header, one per section) catch a packed file damaged since (bit rot,
 *   truncation, a stray write) in every part a cursor reads;
 * - `source` equal to the sidecar's hash ties it to the bytes the master dataset holds under this
 *   name now (a cache derived from other bytes, say one copied in from elsewhere, is stale);
 * - the magic and version keep a cache of an older layout from being misread.
 * The NDJSON itself is not re-hashed on this path: it is immutable, and if it rotted after the
 * packed file was derived, the packed file still holds the verified content, so the fold is
 * still exact. Readers of the NDJSON (readSegment, `sha256sum -c`) detect that rot, and the batch
 * role hashes each sealed segment once per process to report it (segment-scrub.ts).
 */
export class PackedSegmentReader {
  readonly #root: string
  readonly #partition: number
  #buffer: Buffer

  constructor(root: string, partition: number) {
    this.#root = root
    this.#partition = partition
    this.#buffer = spareBuffers.pop() ?? Buffer.alloc(0)
  }

  /**
   * Hands the buffer on to the next reader of this thread (fresh memory costs a page fault
   * per 4 KiB). Cursors this reader opened are invalid afterwards.
   */
  release(): void {
    if (this.#buffer.length > 0 && spareBuffers.length < MAX_SPARE_BUFFERS) spareBuffers.push(this.#buffer)
    this.#buffer = Buffer.alloc(0)
  }

  /**
   * A cursor over the segment's packed cache, decoding whole events, or only `fields` (then only
   * the sections those fields live in are read from the file and checked); `reuse`: see
   * PackedCursor.
   */
  async open(
    range: SegmentRange,
    fields: readonly string[] | null = null,
    reuse = false,
  ): Promise<PackedCursor> {
    const dir = partitionDir(this.#root, this.#partition)
    const name = segmentFileName(range).replace(/\.ndjson$/, PACKED_EXTENSION)
    const [checksum, cached] = await Promise.all([
      readSegmentChecksum(this.#root, this.#partition, range),
      this.#read(join(dir, name), fields).catch(() => undefined),
    ])
    if (cached) {
      try {
        const cursor = new PackedCursor(cached, fields, reuse)
        if (cursor.source === checksum) return cursor
      } catch {
        // Fall through and rebuild.
      }
    }
    const packed = packSegment(await readSegment(this.#root, this.#partition, range), checksum)
    await writeCacheFile(dir, name, packed)
    return new PackedCursor(packed, fields, reuse)
  }

  /** The file's bytes; with a projection, only its header and the sections it reads. */
  async #read(path: string, fields: readonly string[] | null): Promise<Buffer> {
    const handle = await openRegularFile(path)
    try {
      const { size } = await handle.stat()
      if (this.#buffer.length < size) {
        this.#buffer = Buffer.allocUnsafeSlow(Math.max(size, Math.min(2 * this.#buffer.length, 1 << 30)))
      }
      const buffer = this.#buffer.subarray(0, size)
      const readAt = async (from: number, to: number) => {
        let at = from
        while (at < to) {
          const { bytesRead } = await handle.read(buffer, at, to - at, at)
          if (bytesRead === 0) throw new Error('file shorter than its size')
          at += bytesRead
        }
      }
      if (fields === null) {
        await readAt(0, size)
        return buffer
      }
      await readAt(0, Math.min(size, 20))
      const headerEnd = size < 20 ? size : 20 + buffer.readUInt32LE(16)
      if (headerEnd > size) return buffer // the cursor reports it
      await readAt(20, headerEnd)
      const { header } = readPackedHeader(buffer)
      for (const index of sectionsFor(header, fields)) {
        const [at, bytes] = header.sections[index] ?? [0, 0]
        if (at + bytes <= size) await readAt(at, at + bytes)
      }
      return buffer
    } finally {
      await handle.close()
    }
  }
}

/** The packed encoding of verified NDJSON segment bytes (the same records SegmentBuilder packs). */
export function packSegment(data: Buffer, checksum: string): Buffer {
  const encoder = new PackedSegmentEncoder()
  forEachLine(data, 0, Number.POSITIVE_INFINITY, (f) => {
    // Stored event bytes have no CR or LF (segment-format.ts), so this is the text the
    // archiver packed: the event as accepted, byte for byte.
    const text = data.toString('utf8', f.eventStart, f.eventEnd)
    encoder.add(f.offset, f.timestamp, lineKey(data, f), JSON.parse(text), text)
  })
  return encoder.finish(checksum)
}
