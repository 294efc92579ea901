// Where the segment scrub hashes: a child process of its own (segment-hash-process.ts). Hashing
// every sealed segment on the main thread, streamed or not, kept it busy about 1.9 ms per MiB
// (BENCHMARKS.md, "session 17: the segment scrub's first pass"): on a master dataset of a few GB
// the first pass after each start held the loop that answers POST /events and GET /views for
// seconds, 100 ms at a time. At BACKGROUND_NICE the main thread only sends paths and receives hex
// digests.
//
// One process for the hasher's life, forked on first need (the scrub asks at its first check, at
// the role's start, while this process is small) and kept for later hashes: fork() runs on the
// calling thread and copies this process's page tables, so with `strata start` at 1-2 GiB RSS
// one fork per check held the thread that answers queries 27-40 ms once a minute (BENCHMARKS.md,
// "session 19: one hashing process"). Idle, the child and its channel are unref'd: it holds
// nothing that keeps this process alive, and it kills itself when the channel closes. A child
// that dies is replaced by the next hash (a fork then, in a large process: once, not each check).
//
// A process rather than a thread (session 17 used a Worker): a read that never returns (a FIFO
// in place of a segment, a hung NFS mount) held a Worker's terminate() and the process's own
// exit forever, since Node ends neither before the read's thread returns; the batch role then
// ignored its SIGTERM until SIGKILL. A child is killed and not waited for past CLOSE_WAIT_MS.
import { type ChildProcess, fork } from 'node:child_process'
import { BACKGROUND_NICE } from '../core/thread-priority.ts'
import type { HashAnswer, HashRequest } from './segment-hash-process.ts'

// Not from segment-hash-process.ts: importing that module runs it (its message and disconnect
// handlers, its priority), so only the child may load it; a type import is erased.
export { NOT_A_FILE } from './regular-file.ts'

// segment-hash-process.ts from the sources, .js from the built package (worker-pool.ts does the same).
const processFile = new URL(
  import.meta.url.endsWith('.ts') ? './segment-hash-process.ts' : './segment-hash-process.js',
  import.meta.url,
)

/** How long close() waits for the killed process to be gone before leaving it (a read in an unkillable wait). */
export const CLOSE_WAIT_MS = 2_000

export class SegmentHasher {
  #child: ChildProcess | undefined
  readonly #pending = new Map<number, { resolve(hex: string): void; reject(error: Error): void }>()
  #next = 0
  #closed = false
  #closing: Promise<void> | undefined
  readonly #anyFile: boolean

  /** `anyFile`: read what is not a regular file too; only for the test of a read that never returns. */
  constructor(options: { anyFile?: boolean } = {}) {
    this.#anyFile = options.anyFile === true
  }

  /** Forks the hashing process now if none runs (while this process is small: see above). */
  start(): void {
    if (!this.#closed) this.#idle(this.#process())
  }

  /** The hashing process's id while it runs (tests: its priority, its reuse). */
  get pid(): number | undefined {
    return this.#child?.pid
  }

  /**
   * The SHA-256 of the file, hex; rejects as a read would (ENOENT…), with NOT_A_FILE for a path
   * that is not a regular file (never read), or when closed meanwhile.
   */
  hash(path: string): Promise<string> {
    if (this.#closed) return Promise.reject(new Error('the segment hasher is closed'))
    const child = this.#process()
    const id = this.#next++
    // Working: the process and its channel keep this one alive until the answer (a hash awaited
    // at exit is not dropped); idle again once nothing is pending (#idle).
    child.ref()
    child.channel?.ref()
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject })
      child.send({ id, path, ...(this.#anyFile ? { anyFile: true } : {}) } satisfies HashRequest)
    })
  }

  /** Ends the process (a hash in progress rejects); waits at most CLOSE_WAIT_MS for it to be gone. */
  close(): Promise<void> {
    // Once: a second call (stop() on a failed run, then in its finally) waits for the same end.
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#closed = true
    const child = this.#child
    this.#child = undefined
    this.#fail(new Error('the segment hasher is closed'))
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGKILL')
    let timer: NodeJS.Timeout | undefined
    await Promise.race([gone, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))])
    clearTimeout(timer)
    // Still there (a read the kernel does not let go of): this process does not wait for it.
    child.unref()
    child.channel?.unref()
  }

  #process(): ChildProcess {
    if (this.#child) return this.#child
    // No execArgv of the parent's (--test, --inspect, a heap size): the child loads this one file.
    const child = fork(processFile, [String(BACKGROUND_NICE)], {
      execArgv: [],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'json',
    })
    child.on('message', (answer: HashAnswer) => {
      const waiting = this.#pending.get(answer.id)
      if (!waiting) return
      this.#pending.delete(answer.id)
      this.#idle(child)
      if ('hex' in answer) waiting.resolve(answer.hex)
      else waiting.reject(Object.assign(new Error(answer.error), answer.code ? { code: answer.code } : {}))
    })
    // Without the error's own code (ENOENT of the executable…): a caller tells a file's error
    // (ENOENT, with its code) from the process's failing, which must not pass for a missing file.
    child.on('error', (error) =>
      this.#fail(new Error(`the segment hashing process failed: ${error.message}`, { cause: error })),
    )
    child.on('exit', (code, signal) => {
      if (this.#child === child) this.#child = undefined
      this.#fail(new Error(`the segment hashing process exited (${signal ?? `code ${code}`})`))
    })
    this.#child = child
    return child
  }

  // Nothing pending: the idle process keeps nothing of this one alive (no handle, no channel).
  #idle(child: ChildProcess): void {
    if (this.#pending.size > 0) return
    child.unref()
    child.channel?.unref()
  }

  #fail(error: Error): void {
    for (const waiting of this.#pending.values()) waiting.reject(error)
    this.#pending.clear()
  }
}
