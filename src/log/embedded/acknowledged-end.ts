// The acknowledged end of a partition of the embedded log (`p<N>/acknowledged-end`): the offset
// and byte below which the active segment's records were acknowledged. Recovery (recover-active.ts)
// cuts a torn tail after a crash; without this record, zeros or a cut over the last acknowledged
// records (a lost write of their pages, a careless `truncate`, a deleted active file) looked the
// same as a torn tail and were cut without a word. With it, a log that ends before its
// acknowledged end is refused (SEGMENT_CORRUPT), and only what lies past it is a torn tail.
//
// Cost: the record is one fixed-width line, written in place (pwrite at byte 0, the file never
// changes size) after each group commit's fdatasync and before its appends resolve: one small
// write into the page cache per group commit, no extra fsync. It is fsynced when the partition
// opens and closes; in between the kernel writes it back (within ~30 s). So after a kill -9 it is
// exact, and after a power loss it may be behind (it then protects less, never more: it is only
// ever written after the records it names are durable, so it never claims what is not on disk).
//
// Line: `strata acknowledged end: start <20 digits> end <20 digits> bytes <20 digits> crc <8 hex>\n`
// (start: the active segment's first offset; end: its durable end offset; bytes: its durable
// length; crc: CRC-32 of the text before " crc").
import { writeSync } from 'node:fs'
import { constants, type FileHandle, open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import { fsyncDir } from '../../master-dataset/index.ts'

export const ACKNOWLEDGED_END_FILE = 'acknowledged-end'

export interface AcknowledgedEnd {
  /** The active segment's start offset when this was written. */
  start: number
  /** Every offset below this was acknowledged. */
  end: number
  /** The active segment's length in bytes at `end`. */
  bytes: number
}

const PREFIX = 'strata acknowledged end:'
const pad = (n: number) => String(n).padStart(20, '0')
const pattern = /^strata acknowledged end: start (\d{20}) end (\d{20}) bytes (\d{20}) crc ([0-9a-f]{8})\n$/

export function formatAcknowledgedEnd({ start, end, bytes }: AcknowledgedEnd): Buffer {
  const text = `${PREFIX} start ${pad(start)} end ${pad(end)} bytes ${pad(bytes)}`
  return Buffer.from(`${text} crc ${crc32(text).toString(16).padStart(8, '0')}\n`)
}

/** The record in `data`, or undefined when it is not a well-formed one with a matching CRC. */
export function parseAcknowledgedEnd(data: Buffer): AcknowledgedEnd | undefined {
  const match = pattern.exec(data.toString('latin1'))
  if (!match) return undefined
  const text = data.subarray(0, data.length - ' crc 00000000\n'.length)
  if (crc32(text).toString(16).padStart(8, '0') !== match[4]) return undefined
  const [start, end, bytes] = [match[1], match[2], match[3]].map(Number) as [number, number, number]
  return end >= start ? { start, end, bytes } : undefined
}

/**
 * The partition folder's record, undefined when there is none (a partition created before the
 * record existed, or an empty file: created but never written, see open). A record that cannot
 * be read is refused: it may be the only sign of a loss.
 */
export async function readAcknowledgedEnd(
  dir: string,
  partition: number,
): Promise<AcknowledgedEnd | undefined> {
  const path = join(dir, ACKNOWLEDGED_END_FILE)
  let data: Buffer
  try {
    data = await readFile(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  // Only creation leaves it empty (a crash between AcknowledgedEndFile.open's create and its first
  // write or fsync); every later write is a whole record in place. It never named a record.
  if (data.length === 0) return undefined
  const recorded = parseAcknowledgedEnd(data)
  if (recorded) return recorded
  throw new StrataError(
    ErrorCodes.SEGMENT_CORRUPT,
    `partition ${partition}: ${path} (where the log records how far its records were acknowledged) is damaged: ${JSON.stringify(data.subarray(0, 120).toString('latin1'))}. ` +
      `Without it a loss of acknowledged records at the end of the active segment cannot be told from a torn tail. Check the active segment, then remove the file (rm ${path}) to go on without the check (see docs/master-dataset.md, "Damaged files")`,
  )
}

/** The open record of one partition: written in place after each group commit. */
export class AcknowledgedEndFile {
  #handle: FileHandle

  private constructor(handle: FileHandle) {
    this.#handle = handle
  }

  /** Opens (creating) the record and writes `state` durably. */
  static async open(dir: string, state: AcknowledgedEnd): Promise<AcknowledgedEndFile> {
    let handle: FileHandle
    let created = false
    try {
      handle = await open(join(dir, ACKNOWLEDGED_END_FILE), constants.O_RDWR)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      handle = await open(join(dir, ACKNOWLEDGED_END_FILE), constants.O_RDWR | constants.O_CREAT)
      created = true
    }
    const file = new AcknowledgedEndFile(handle)
    try {
      file.write(state)
      await handle.truncate(formatAcknowledgedEnd(state).length)
      await handle.datasync()
      if (created) await fsyncDir(dir)
    } catch (error) {
      await handle.close()
      throw error
    }
    return file
  }

  /**
   * Writes the record in place (page cache only: see the top of this file). A synchronous
   * pwrite of ~100 bytes into a page the file already has: about a microsecond, where a trip
   * through libuv's thread pool cost more CPU per group commit than the write itself.
   */
  write(state: AcknowledgedEnd): void {
    const data = formatAcknowledgedEnd(state)
    let written = 0
    while (written < data.length)
      written += writeSync(this.#handle.fd, data, written, data.length - written, written)
  }

  async sync(): Promise<void> {
    await this.#handle.datasync()
  }

  async close(): Promise<void> {
    await this.#handle.close()
  }
}
