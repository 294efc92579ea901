// Room on disk before a start writes anything. On a disk with a few KiB left, the lock files fit
// and then the embedded store's first commit fails inside lmdb-js (an EIO it prints itself),
// whose write promise never settles: the process ended with Node's exit code 13 and no line
// with a code. A start below MIN_ROOM on a disk it writes is refused instead, naming the folder.
// Once running, a full disk is handled where it is met (507 on ingest, docs/master-dataset.md).
import { statfs } from 'node:fs/promises'
import { ErrorCodes, StrataError } from '../core/errors.ts'

/** Free space a start needs on each disk it writes: the store's first pages and the log's first chunk. */
export const MIN_ROOM = 1 << 20

/** Throws STRATA_ERR_DISK_FULL for the first folder whose disk has less than MIN_ROOM free. */
export async function ensureRoom(folders: readonly string[]): Promise<void> {
  for (const folder of folders) {
    const { bavail, bsize } = await statfs(folder)
    const free = bavail * bsize
    if (free >= MIN_ROOM) continue
    throw new StrataError(
      ErrorCodes.DISK_FULL,
      `no room on disk for ${folder}: ${free} bytes free, a start needs ${MIN_ROOM} (1 MiB); free space on that disk and start again`,
      { retriable: true },
    )
  }
}
