// Room on disk for the embedded log, reserved before a request is accepted (docs/master-dataset.md,
// "Disk full"). The active segment is kept written with zeros ahead of what is queued: writing
// over blocks a file already has cannot fail for want of space on ext4, xfs or tmpfs, so once a
// request's bytes are reserved in every partition it touches, its writes cannot hit ENOSPC, and
// a request that finds no room is refused whole before anything of it is written.
import type { FileHandle } from 'node:fs/promises'
import { ErrorCodes, StrataError } from '../../core/errors.ts'

/** Zeros are written ahead in steps of this much (1 MiB: a few syscalls per MiB of events). */
export const ROOM_CHUNK = 1 << 20
const ZEROS = Buffer.alloc(64 * 1024)

export function isNoSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code
  return code === 'ENOSPC' || code === 'EDQUOT'
}

export function diskFull(partition: number, dir: string, cause?: unknown): StrataError {
  return new StrataError(
    ErrorCodes.DISK_FULL,
    `no room on disk for the request in partition ${partition} of the embedded log (${dir}); nothing of it was written. Free space on that disk and retry: writes resume by themselves`,
    { retriable: true, cause },
  )
}

/**
 * Writes zeros from `from` up to `to` (rounded up to a chunk), returning how far the file now
 * reaches. Stops early on ENOSPC: the caller decides whether what it got (at least `need`) is
 * enough. Other errors are thrown.
 */
export async function writeZerosAhead(handle: FileHandle, from: number, need: number): Promise<number> {
  const to = Math.ceil(need / ROOM_CHUNK) * ROOM_CHUNK
  let at = from
  try {
    while (at < to) {
      const { bytesWritten } = await handle.write(ZEROS, 0, Math.min(ZEROS.length, to - at), at)
      if (bytesWritten === 0) break
      at += bytesWritten
    }
  } catch (error) {
    if (!isNoSpace(error)) throw error
  }
  return at
}

/** One page: what a probe for freed room writes, small enough to take nothing a request needs. */
export const PROBE_BYTES = 4096

/**
 * Writes one page of zeros at `at` (room ahead, like writeZerosAhead's): true when the disk took
 * it, false on ENOSPC. A partition out of room asks this to notice freed space by itself.
 */
export async function probeRoom(handle: FileHandle, at: number): Promise<boolean> {
  try {
    const { bytesWritten } = await handle.write(ZEROS, 0, PROBE_BYTES, at)
    return bytesWritten === PROBE_BYTES
  } catch (error) {
    if (!isNoSpace(error)) throw error
    return false
  }
}
