// The segment scrub's hashing thread (segment-hash.ts): SHA-256 of whole sealed segments, off
// the main thread, at a lower CPU priority than the HTTP server. Asked { id, path }, answers
// { id, hex } or { id, error }. Nothing else: it loads no config and opens no store.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { lowerThreadPriority } from '../core/thread-priority.ts'

export interface HashSetup {
  /** The thread's nice value (core/thread-priority.ts). */
  nice: number
}

export interface HashRequest {
  id: number
  path: string
}

export type HashAnswer = { id: number; hex: string } | { id: number; error: string; code?: string }

const setup = workerData as HashSetup
lowerThreadPriority(setup.nice)

function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')))
  })
}

parentPort!.on('message', (request: HashRequest) => {
  hashFile(request.path).then(
    (hex) => parentPort!.postMessage({ id: request.id, hex } satisfies HashAnswer),
    (error: NodeJS.ErrnoException) =>
      parentPort!.postMessage({
        id: request.id,
        error: error.message,
        ...(error.code ? { code: error.code } : {}),
      } satisfies HashAnswer),
  )
})
