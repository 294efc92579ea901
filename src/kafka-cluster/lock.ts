// One start or stop at a time per cluster folder. `node --test` runs test files in parallel
// processes and several of them may ask for the 1-node cluster at once; without a lock two of
// them would format and spawn the same node and one broker would die on a busy port. The lock
// is a file created exclusively, holding the owner's pid; a lock whose owner is gone is stale
// and taken over.
import { mkdir, open, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { ErrorCodes, StrataError } from '../core/errors.ts'

const POLL_MS = 200

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export async function withClusterLock<T>(
  folder: string,
  timeoutMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  await mkdir(folder, { recursive: true })
  const file = join(folder, 'lock')
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const handle = await open(file, 'wx')
      await handle.writeFile(`${process.pid}\n`)
      await handle.close()
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const owner = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10)
    // An empty file is a lock being written right now; only a dead owner makes it stale.
    if (Number.isSafeInteger(owner) && owner > 0 && owner !== process.pid && !isAlive(owner)) {
      await rm(file, { force: true })
      continue
    }
    if (Date.now() > deadline) {
      throw new StrataError(ErrorCodes.CLUSTER, `${folder} is locked by process ${owner} (file ${file})`, {
        retriable: true,
      })
    }
    await sleep(POLL_MS)
  }
  try {
    return await fn()
  } finally {
    await rm(file, { force: true })
  }
}
