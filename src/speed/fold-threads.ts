// The speed layer's fold threads, main thread side (issue 15; decision 0011, "Fold threads"):
// parsing, checking and folding the records move off the thread that reads Kafka and commits.
//
// Each thread evaluates the config file itself (fold-thread-main.ts) and owns the pending windows
// of the partitions given to it (partition mod threads). The main thread sends a batch's records
// as ONE buffer with their offsets (one copy per batch, transferred, not cloned per record), and
// asks for a window's deltas when it commits it. Requests to a thread are answered in the order
// sent, so a window's deltas always include every batch sent before the request.
//
// Exactness: a commit's deltas and offset still go to the store in one transaction from the main
// thread (partition-committer.ts). A thread that crashes or exits fails every request in flight
// and every later one: the folders of its partitions stop without committing and report the
// failure (onFailed), so the worker exits and the next owner re-reads from the stored offsets. A
// record is never skipped because a thread went away.

import { Worker } from 'node:worker_threads'
import { threadEnv } from '../core/compile-cache.ts'
import type { CompiledView } from '../core/compiled-view.ts'
import { type ErrorCode, ErrorCodes, StrataError } from '../core/errors.ts'
import { ViewFailedError, type ViewFoldError } from '../core/view-errors.ts'
import type { DeltaColumns, RealtimeDelta } from '../store/store.ts'
import { BatchBuffers } from './batch-buffers.ts'
import type { FoldRequest, FoldThreadReply, FoldThreadSetup, PackedDeltas } from './fold-protocol.ts'

// fold-thread-main.ts from the sources, .js from the built package (a URL is not rewritten).
const threadFile = new URL(
  import.meta.url.endsWith('.ts') ? './fold-thread-main.ts' : './fold-thread-main.js',
  import.meta.url,
)

type Pending = { resolve(reply: FoldThreadReply): void; reject(error: StrataError): void; sentAt: number }

/**
 * A fold thread that has not answered a request for a while: the record and view it was folding
 * (a view's code that never returns on that event leaves it there, and the whole thread waits).
 */
export interface StuckFold {
  partition: number
  offset: number
  view: string
  /** How long the oldest unanswered request has waited. */
  forMs: number
}

/** Request without its id (the thread assigns them). */
type Without<T> = T extends unknown ? Omit<T, 'id'> : never

/** One fold thread: requests answered in order, or all failed once the thread is gone. */
export class FoldThread {
  /** The config file and the views' code hashes the thread was checked against. */
  readonly key: string
  /** The views the thread folds, in the order its packed deltas name them by index. */
  readonly views: ReadonlyArray<CompiledView<any, any>>
  /** The buffers batches are sent in (remote-window.ts), handed back by the thread with `drop`. */
  readonly buffers = new BatchBuffers()
  readonly #worker: Worker
  readonly #pending = new Map<number, Pending>()
  /** [partition, offset, view index, steps] of the thread's fold (fold-protocol.ts, FoldThreadSetup). */
  readonly #where = new Float64Array(new SharedArrayBuffer(4 * Float64Array.BYTES_PER_ELEMENT))
  /** The thread's steps (where[3]) as last seen, and when they were last seen to change. */
  #steps = -1
  #movedAt = performance.now()
  #next = 0
  #failure: StrataError | undefined
  readonly ready: Promise<void>

  constructor(configPath: string, views: ReadonlyArray<CompiledView<any, any>>) {
    this.key = keyOf(configPath, views)
    this.views = views
    this.#worker = new Worker(threadFile, {
      workerData: { configPath, where: this.#where.buffer as SharedArrayBuffer } satisfies FoldThreadSetup,
      name: 'strata fold',
      env: threadEnv(),
    })
    this.ready = new Promise<void>((resolve, reject) => {
      this.#pending.set(-1, {
        resolve: (reply) => {
          const problem = reply.ready ? viewsDiffer(configPath, views, reply.ready) : undefined
          if (problem) {
            this.#fail(problem)
            reject(problem)
          } else resolve()
        },
        reject,
        sentAt: performance.now(),
      })
    })
    this.ready.catch(() => undefined)
    this.#worker.on('message', (reply: FoldThreadReply) => {
      if (reply.freed !== undefined) for (const buffer of reply.freed) this.buffers.give(buffer)
      const waiting = this.#pending.get(reply.id)
      if (waiting === undefined) return
      this.#pending.delete(reply.id)
      if (reply.error) {
        const { failure, message, code } = reply.error
        const error = failure ? new ViewFailedError(failure, message) : new StrataError(codeOf(code), message)
        if (reply.id === -1) this.#fail(error)
        waiting.reject(error)
      } else waiting.resolve(reply)
    })
    this.#worker.on('error', (error) =>
      this.#fail(
        new StrataError(ErrorCodes.INTERNAL, `speed fold thread crashed: ${error.message}`, { cause: error }),
      ),
    )
    this.#worker.on('exit', (code) =>
      this.#fail(new StrataError(ErrorCodes.INTERNAL, `speed fold thread exited (code ${code})`)),
    )
  }

  /** Why the thread can no longer fold, once it cannot. */
  get failure(): StrataError | undefined {
    return this.#failure
  }

  request(message: Without<FoldRequest>, transfer: ArrayBuffer[] = []): Promise<FoldThreadReply> {
    if (this.#failure) return Promise.reject(this.#failure)
    const id = this.#next++
    const answer = new Promise<FoldThreadReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, sentAt: performance.now() })
    })
    this.#worker.postMessage({ ...message, id }, transfer)
    return answer
  }

  /**
   * Where the thread is folding, once it has left a request unanswered AND taken no step (a view
   * applied to an event: fold-protocol.ts) for `afterMs` or more. A request may wait long on a
   * thread that advances (a slow view, many partitions catching up on one thread): that is not
   * stuck, and must not be ended as stuck at close. A view's code that never returns takes no
   * step. `forMs` counts from the later of the request sent and the last step seen: the speed
   * worker looks every tick (watch()), so a thread stuck long before it is asked is known as such.
   */
  stuck(afterMs: number): StuckFold | undefined {
    if (this.#failure !== undefined) return undefined
    const now = performance.now()
    this.#watch(now)
    const oldest = this.#pending.values().next().value
    if (oldest === undefined) return undefined
    const forMs = now - Math.max(oldest.sentAt, this.#movedAt)
    if (forMs < afterMs) return undefined
    const [partition, offset, view] = this.#where
    return { partition: partition!, offset: offset!, view: this.views[view!]?.name ?? '?', forMs }
  }

  /** Notes whether the thread has taken a step since last looked at (stuck()). */
  watch(): void {
    this.#watch(performance.now())
  }

  #watch(now: number): void {
    const steps = this.#where[3]!
    if (steps !== this.#steps || this.#pending.size === 0) {
      this.#steps = steps
      this.#movedAt = now
    }
  }

  async close(): Promise<void> {
    this.#failure ??= new StrataError(ErrorCodes.INTERNAL, 'speed fold thread closed')
    await this.#worker.terminate()
  }

  /** Kept between speed workers (idle: it never keeps the process alive), or in use again. */
  idle(idle: boolean): void {
    if (idle) this.#worker.unref()
    else this.#worker.ref()
  }

  /** Ends the thread as a crash would (tests: a fold thread that dies must fail its partitions). */
  kill(): Promise<number> {
    return this.#worker.terminate()
  }

  #fail(error: StrataError): void {
    this.#failure ??= error
    for (const waiting of this.#pending.values()) waiting.reject(this.#failure)
    this.#pending.clear()
  }
}

/** How long threads of a closed pool wait for the next speed worker of the same config. */
const IDLE_MS = 2 * 60_000
const idle: FoldThread[] = []
let idleTimer: NodeJS.Timeout | undefined

function keyOf(configPath: string, views: ReadonlyArray<CompiledView<any, any>>): string {
  return [configPath, ...views.map((v) => `${v.name}:${v.codeHash}`)].join('\0')
}

/** Ends the threads kept after their pools closed (they also end by themselves after IDLE_MS). */
export async function endIdleFoldThreads(): Promise<void> {
  clearTimeout(idleTimer)
  await Promise.all(idle.splice(0).map((t) => t.close()))
}

/**
 * The pool: one thread per `threads`, partition p folded by thread p mod threads. A closed pool's
 * threads wait (unref'd) for the next pool of the same config file and views, as the batch
 * workers do (src/batch/worker-pool.ts): a new thread costs an isolate, the config evaluated
 * again and a JIT that has not optimized the fold yet, which a speed worker restarted in the
 * same process (a role restarted after a store outage, a benchmark's rounds) need not pay again.
 */
export class FoldThreads {
  readonly #threads: FoldThread[]

  constructor(configPath: string, views: ReadonlyArray<CompiledView<any, any>>, threads: number) {
    const key = keyOf(configPath, views)
    this.#threads = Array.from({ length: Math.max(1, threads) }, () => {
      const at = idle.findIndex((t) => t.key === key && t.failure === undefined)
      if (at === -1) return new FoldThread(configPath, views)
      const thread = idle.splice(at, 1)[0]!
      thread.idle(false)
      return thread
    })
  }

  /** Resolves when every thread loaded the same views as this thread (else rejects, CONFIG_CHANGED). */
  async ready(): Promise<void> {
    await Promise.all(this.#threads.map((t) => t.ready))
  }

  of(partition: number): FoldThread {
    return this.#threads[partition % this.#threads.length]!
  }

  /** The threads that have left a request unanswered, taking no step, for `afterMs` or more (FoldThread.stuck). */
  stuck(afterMs: number): StuckFold[] {
    return this.#threads.flatMap((t) => t.stuck(afterMs) ?? [])
  }

  /** Notes which threads took a step since last looked at (the speed worker's tick). */
  watch(): void {
    for (const t of this.#threads) t.watch()
  }

  /** Ends every thread now, failing what waits on them (a close that a stuck fold would hold). */
  async terminate(): Promise<void> {
    await Promise.all(this.#threads.map((t) => t.close()))
  }

  /** Threads that failed end; the others wait for the next pool (IDLE_MS). */
  async close(): Promise<void> {
    const failed = this.#threads.filter((t) => t.failure !== undefined)
    for (const t of this.#threads) {
      if (t.failure !== undefined) continue
      t.idle(true)
      idle.push(t)
    }
    clearTimeout(idleTimer)
    idleTimer = setTimeout(() => void endIdleFoldThreads(), IDLE_MS)
    idleTimer.unref()
    await Promise.all(failed.map((t) => t.close()))
  }
}

/**
 * The deltas a thread packed (fold-thread-main.ts), as the store takes them. The thread names a
 * view by its index in ITS views (`folded`); only the views the folder runs (`wanted`) are kept, so
 * a folder running fewer views than the config file (a restart with a view taken out) never gets
 * another view's deltas under a wrong name.
 */
export function unpackDeltas(
  packed: PackedDeltas,
  folded: ReadonlyArray<CompiledView<any, any>>,
  wanted: ReadonlyArray<CompiledView<any, any>>,
): { deltas: RealtimeDelta[] | DeltaColumns; errors: ViewFoldError[]; events: number } {
  const keep = new Set(wanted.map((v) => v.name))
  // The usual case, every view the thread folded is wanted: the columns as they came (only the
  // keys cut from their one string), no object per delta.
  if (folded.every((v) => keep.has(v.name))) {
    const n = packed.view.length
    const keys = new Array<string>(n)
    const { keyText, keyLengths } = packed
    for (let i = 0, at = 0; i < n; i++) {
      const end = at + keyLengths[i]!
      keys[i] = keyText.slice(at, end)
      at = end
    }
    const columns: DeltaColumns = {
      views: folded.map((v) => v.name),
      view: packed.view,
      epochs: packed.epochs,
      windows: packed.windows,
      keys,
      states: packed.states,
    }
    return { deltas: columns, errors: packed.errors, events: packed.events }
  }
  const n = packed.view.length
  const deltas: RealtimeDelta[] = []
  const { keyText, keyLengths, states } = packed
  let at = 0
  for (let i = 0; i < n; i++) {
    const end = at + keyLengths[i]!
    const view = folded[packed.view[i]!]!.name
    if (keep.has(view)) {
      deltas.push({
        view,
        epoch: packed.epochs[i]!,
        key: keyText.slice(at, end),
        window: packed.windows[i]!,
        state: states[i],
      })
    }
    at = end
  }
  const errors = packed.errors.filter((e) => keep.has(e.view))
  return { deltas, errors, events: packed.events }
}

function viewsDiffer(
  configPath: string,
  views: ReadonlyArray<CompiledView<any, any>>,
  loaded: ReadonlyArray<{ view: string; codeHash: string }>,
): StrataError | undefined {
  const same =
    loaded.length === views.length &&
    views.every((v, i) => loaded[i]!.view === v.name && loaded[i]!.codeHash === v.codeHash)
  if (same) return undefined
  return new StrataError(
    ErrorCodes.CONFIG_CHANGED,
    `${configPath} changed since this process loaded it: the speed layer's fold thread loaded views ${loaded.map((v) => `${v.view} (${v.codeHash.slice(0, 12)})`).join(', ')}; restart the process to run the edited definitions`,
  )
}

/** An error code a thread sent, if it is one of ours. */
function codeOf(code: string | undefined): ErrorCode {
  return (Object.values(ErrorCodes) as string[]).includes(code ?? '')
    ? (code as ErrorCode)
    : ErrorCodes.INTERNAL
}
