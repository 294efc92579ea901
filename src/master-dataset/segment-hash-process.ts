// The segment scrub's hashing process (segment-hash.ts): SHA-256 of whole sealed segments, off
// the parent's threads, at a lower CPU priority than the HTTP server. Asked { id, path }, answers
// { id, hex } or { id, error, code? }. Nothing else: it loads no config and opens no store.
//
// A process, not a thread: a read that never returns (a FIFO put in place of a segment, a hung
// NFS mount) blocks a thread of libuv's pool, and Node ends no process, by a signal's handler or
// process.exit(), before every such thread and every Worker has returned: the batch role's
// SIGTERM then hung until SIGKILL. A child process is killed instead, and the parent exits.
//
// A segment that is not a regular file (a FIFO, a device, a socket, a folder) is refused before a
// byte of it is read: it is opened with O_NONBLOCK (an open that waits for a FIFO's writer
// returns at once; a regular file ignores the flag) and checked by fstat on that very handle.
import { createHash } from 'node:crypto'
import { constants, realpathSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { lowerProcessPriority } from '../core/thread-priority.ts'
import { kindOf, NOT_A_FILE } from './regular-file.ts'

// Imported by any other module (a re-export did, in every process that loaded the master
// dataset), its handlers below would run there: a process forked with an IPC channel (by a
// supervisor, a test) then killed itself when that channel closed, and never exited on its own.
if (!process.argv[1] || realpathSync(process.argv[1]) !== fileURLToPath(import.meta.url))
  throw new Error('segment-hash-process is the child process segment-hash.ts forks: import nothing from it')

export interface HashSetup {
  /** The process's nice value (core/thread-priority.ts), given as its one argument. */
  nice: number
}

export interface HashRequest {
  id: number
  path: string
  /** Read whatever the path is, regular or not: only for the test that stands a FIFO in for a hung mount. */
  anyFile?: boolean
}

export type HashAnswer = { id: number; hex: string } | { id: number; error: string; code?: string }

async function hashFile(path: string, anyFile: boolean): Promise<string> {
  // anyFile: a plain open, which on a FIFO waits for a writer, as a read on a hung mount waits.
  const handle = await open(path, anyFile ? constants.O_RDONLY : constants.O_RDONLY | constants.O_NONBLOCK)
  try {
    const stat = await handle.stat()
    if (!stat.isFile() && !anyFile)
      throw Object.assign(new Error(`not a regular file (${kindOf(stat)})`), { code: NOT_A_FILE })
    const hash = createHash('sha256')
    const buffer = Buffer.allocUnsafe(1 << 20)
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null)
      if (bytesRead === 0) break
      hash.update(buffer.subarray(0, bytesRead))
    }
    return hash.digest('hex')
  } finally {
    await handle.close()
  }
}

lowerProcessPriority(Number(process.argv[2] ?? 0))

process.on('message', (request: HashRequest) => {
  hashFile(request.path, request.anyFile === true).then(
    (hex) => process.send!({ id: request.id, hex } satisfies HashAnswer),
    (error: NodeJS.ErrnoException) =>
      process.send!({
        id: request.id,
        error: error.message,
        ...(error.code ? { code: error.code } : {}),
      } satisfies HashAnswer),
  )
})
// The parent is gone (it exited, or was killed): so is this process, at once, even with a read
// in flight: process.exit() would wait for that read's thread, which may never return.
process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'))
