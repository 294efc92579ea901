// Crash-safe file writes. A file becomes visible under its final name only once its bytes are
// on disk: write to a temp name, fsync the file, link/rename it into place, fsync the directory
// (without that last step the new directory entry itself may not survive a power loss).
import { randomBytes } from 'node:crypto'
import { link, open, rename, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** Temp files end in this; a store removes them on open (they are leftovers of a crash). */
export const TEMP_EXTENSION = '.tmp'

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function writeTemp(dir: string, name: string, data: Buffer): Promise<string> {
  const temp = join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_EXTENSION}`)
  const handle = await open(temp, 'wx')
  try {
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
  return temp
}

/** Writes dir/name durably, replacing any file of that name. */
export async function writeFileDurable(dir: string, name: string, data: Buffer): Promise<void> {
  const temp = await writeTemp(dir, name, data)
  await rename(temp, join(dir, name))
  await fsyncDir(dir)
}

/**
 * Writes dir/name durably unless a file of that name exists: link(2) never replaces, so two
 * writers racing for one name cannot overwrite each other. Returns false when it existed.
 */
export async function createFileDurable(dir: string, name: string, data: Buffer): Promise<boolean> {
  const temp = await writeTemp(dir, name, data)
  try {
    await link(temp, join(dir, name))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    await unlink(temp)
  }
  await fsyncDir(dir)
  return true
}

/** A derived file: atomic (temp + rename) but not fsynced; its own checksum catches a torn one. */
export async function writeCacheFile(dir: string, name: string, data: Buffer): Promise<void> {
  const temp = join(dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_EXTENSION}`)
  await writeFile(temp, data)
  await rename(temp, join(dir, name))
}
