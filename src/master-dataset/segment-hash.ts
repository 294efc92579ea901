// Where the segment scrub hashes: a thread of its own (segment-hash-thread.ts). Hashing every
// sealed segment on the main thread, streamed or not, kept it busy about 1.9 ms per MiB
// (BENCHMARKS.md, "session 17: the segment scrub's first pass"): on a master dataset of a few GB
// the first pass after each start held the loop that answers POST /events and GET /views for
// seconds, 100 ms at a time. In a thread at BACKGROUND_NICE the main thread only sends paths and
// receives hex digests. One thread per check that has something to hash, ended when it is done
// (starting one costs milliseconds: it loads node:crypto and node:fs only).
import { Worker } from 'node:worker_threads'
import { BACKGROUND_NICE } from '../core/thread-priority.ts'
import type { HashAnswer, HashRequest, HashSetup } from './segment-hash-thread.ts'

// segment-hash-thread.ts from the sources, .js from the built package (worker-pool.ts does the same).
const threadFile = new URL(
  import.meta.url.endsWith('.ts') ? './segment-hash-thread.ts' : './segment-hash-thread.js',
  import.meta.url,
)

export class SegmentHasher {
  #worker: Worker | undefined
  readonly #pending = new Map<number, { resolve(hex: string): void; reject(error: Error): void }>()
  #next = 0
  #closed = false

  /** The SHA-256 of the file, hex; rejects as a read would (ENOENT…), or when closed meanwhile. */
  hash(path: string): Promise<string> {
    if (this.#closed) return Promise.reject(new Error('the segment hasher is closed'))
    const worker = this.#thread()
    const id = this.#next++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      worker.postMessage({ id, path } satisfies HashRequest)
    })
  }

  /** Ends the thread; a hash in progress rejects. */
  async close(): Promise<void> {
    this.#closed = true
    const worker = this.#worker
    this.#worker = undefined
    this.#fail(new Error('the segment hasher is closed'))
    await worker?.terminate()
  }

  #thread(): Worker {
    if (this.#worker) return this.#worker
    const setup: HashSetup = { nice: BACKGROUND_NICE }
    const worker = new Worker(threadFile, { workerData: setup, name: 'strata segment scrub' })
    worker.on('message', (answer: HashAnswer) => {
      const waiting = this.#pending.get(answer.id)
      if (!waiting) return
      this.#pending.delete(answer.id)
      if ('hex' in answer) waiting.resolve(answer.hex)
      else waiting.reject(Object.assign(new Error(answer.error), answer.code ? { code: answer.code } : {}))
    })
    // Without the error's own code (ERR_MODULE_NOT_FOUND…): a caller tells a file's error (ENOENT,
    // with its code) from the thread's failing, which must not pass for a missing file.
    worker.on('error', (error) =>
      this.#fail(new Error(`the segment hashing thread failed: ${error.message}`, { cause: error })),
    )
    worker.on('exit', () => {
      if (this.#worker === worker) this.#worker = undefined
      this.#fail(new Error('the segment hasher thread exited'))
    })
    this.#worker = worker
    return worker
  }

  #fail(error: Error): void {
    for (const waiting of this.#pending.values()) waiting.reject(error)
    this.#pending.clear()
  }
}
