// Opening a file of the master dataset for reading only when it is a regular file. A FIFO put in
// place of a segment (by mistake, or a tool that "streams" a restore) made open() wait for a
// writer that never comes, in a thread of libuv's pool, and no Node process exits before every
// such thread has returned: a run, the segment scrub and then the SIGTERM that should end them
// all hung. Opened with O_NONBLOCK (a FIFO's open returns at once; a regular file ignores the
// flag) and checked by fstat on that very handle, such a file is refused before a byte is read.
import { constants, type Stats } from 'node:fs'
import { type FileHandle, open } from 'node:fs/promises'
import { ErrorCodes, StrataError } from '../core/errors.ts'

/** An open handle on `path` for reading; STRATA_ERR_SEGMENT_CORRUPT naming it when it is not a regular file. */
export async function openRegularFile(path: string): Promise<FileHandle> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK)
  try {
    const stat = await handle.stat()
    if (!stat.isFile()) throw notRegularFile(path, stat)
    return handle
  } catch (error) {
    await handle.close()
    throw error
  }
}

/** The whole of a regular file (readFile's answer), refused as openRegularFile refuses. */
export async function readRegularFile(path: string): Promise<Buffer> {
  const handle = await openRegularFile(path)
  try {
    return await handle.readFile()
  } finally {
    await handle.close()
  }
}

/** The code of the segment hasher's answer for a file that is not a regular file (segment-scrub.ts reports it). */
export const NOT_A_FILE = 'ENOTREGULAR'

export function notRegularFile(path: string, stat: Stats): StrataError {
  return new StrataError(
    ErrorCodes.SEGMENT_CORRUPT,
    `${path} is not a regular file (${kindOf(stat)}): refused, not read; put the master dataset's file back from a backup`,
  )
}

export function kindOf(stat: Stats): string {
  if (stat.isFIFO()) return 'a FIFO'
  if (stat.isDirectory()) return 'a folder'
  if (stat.isSocket()) return 'a socket'
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device'
  return 'not a file'
}
