// A small pool of batch worker threads: each folds one task (one partition) at a time, with its
// next task already queued.
//
// Threads outlive a run. Starting one costs about 0.1 s here (an isolate, then the TypeScript
// modules and the config evaluated in it), and a fresh thread folds its first segments in code
// the JIT has not optimized yet: together a fifth of a 3-million-event run. So after a run its
// threads wait, unref'd (they never keep the process alive), for the next run of the same config
// file, for up to IDLE_MS: a process that runs batches on a schedule (`strata start`,
// `strata worker batch`, every minute by default) or back to back starts them once. The price is
// memory: a waiting thread keeps its heap (what the run left, until its next GC).
// A thread is reused only while its config file is unchanged (path, size, mtime), so an edited
// config is evaluated afresh as before. Modules the config imports are evaluated once per thread,
// as they are once per process in the main thread. A thread whose task failed or that crashed is
// ended, not reused.
//
// The main thread stamps each version with the code hashes of the views it loaded, and a thread
// folds with the views it loaded: the same file, but maybe not the same contents (edited after
// the process started, or between its load and the threads'). So a thread reports its views'
// hashes when it starts (worker.ts), and no task is sent before every thread of the run matches
// the run's views: a mismatch stops the run with STRATA_ERR_CONFIG_CHANGED.
import { stat } from 'node:fs/promises'
import { Worker } from 'node:worker_threads'
import { threadEnv } from '../core/compile-cache.ts'
import { type ErrorCode, ErrorCodes, StrataError } from '../core/errors.ts'
import { ViewFailedError } from '../core/view-errors.ts'
import type { ViewHash } from '../core/view-hash.ts'
import type { FoldErrors } from './partition-fold.ts'
import type { EncodedEntries, FoldTask, PackedEntries, WorkerMessage, WorkerSetup } from './worker.ts'

export interface FoldResult {
  partition: number
  events: number
  /** Per view, the thread's answer as arrays (unpackEntries), cut on first use. */
  readonly entries: EncodedEntries[]
  /** Per view, the thread's answer as it crossed (worker.ts): each distinct key once. */
  packed: PackedEntries[]
  /** Per view, what its code threw on (partition-fold.ts). */
  errors: FoldErrors[]
  /** The threadId of the worker that folded it (diagnostics). */
  thread: number
}

/** How long threads wait for the next run before they end. */
const IDLE_MS = 2 * 60_000

interface PooledWorker {
  worker: Worker
  /** The config file this thread evaluated: path, size and mtime. */
  config: string
  /** The views the thread loaded, once it has said so. */
  ready: Promise<ViewHash[]>
}

const idle: PooledWorker[] = []
let idleTimer: NodeJS.Timeout | undefined

async function configIdentity(path: string): Promise<string> {
  const info = await stat(path).catch(() => undefined)
  return info ? `${path}\0${info.size}\0${info.mtimeMs}` : path
}

// worker.ts when run from the sources, worker.js from the built package (dist/): a URL is not an
// import, so the build does not rewrite its extension.
const workerFile = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url)

function takeWorker(config: string, configPath: string, nice: number | undefined): PooledWorker {
  const at = idle.findIndex((w) => w.config === config)
  if (at !== -1) {
    const pooled = idle.splice(at, 1)[0]!
    pooled.worker.ref()
    return pooled
  }
  const setup: WorkerSetup = nice === undefined ? { configPath } : { configPath, nice }
  // The thread's modules come from Node's compile cache after the first thread (compile-cache.ts).
  const worker = new Worker(workerFile, { workerData: setup, name: 'strata batch', env: threadEnv() })
  const pooled = { worker, config, ready: whenReady(worker, configPath) }
  // During a task runOne reports errors; an idle thread that fails just leaves the pool.
  pooled.worker.on('error', () => undefined)
  pooled.worker.on('exit', () => {
    const i = idle.indexOf(pooled)
    if (i !== -1) idle.splice(i, 1)
  })
  return pooled
}

function returnWorkers(workers: PooledWorker[]): void {
  for (const pooled of workers) {
    pooled.worker.unref()
    idle.push(pooled)
  }
  // Threads of another config are not kept.
  const keep = new Set(workers.map((w) => w.config))
  for (let i = idle.length - 1; i >= 0; i--) {
    if (!keep.has(idle[i]!.config)) void idle.splice(i, 1)[0]!.worker.terminate()
  }
  clearTimeout(idleTimer)
  idleTimer = setTimeout(endIdleWorkers, IDLE_MS)
  idleTimer.unref()
}

/** Ends the threads kept between runs (they also end by themselves after IDLE_MS). */
export async function endIdleWorkers(): Promise<void> {
  clearTimeout(idleTimer)
  await Promise.all(idle.splice(0).map((w) => w.worker.terminate()))
}

export async function runFoldTasks(
  tasks: FoldTask[],
  threads: number,
  onProgress: (offsets: number) => void,
  nice?: number,
  signal?: AbortSignal,
): Promise<FoldResult[]> {
  const queue = [...tasks]
  const results: FoldResult[] = []
  const taken: PooledWorker[] = []
  // Interrupted: the threads are ended (their tasks fail, and the run with them).
  const end = () => {
    queue.length = 0
    for (const w of taken) void w.worker.terminate()
  }
  signal?.addEventListener('abort', end, { once: true })
  // A pooled thread keeps the nice value it started with: pooled by config and priority.
  const config = tasks.length > 0 ? `${await configIdentity(tasks[0]!.configPath)}\0${nice ?? ''}` : ''
  try {
    const workers = Array.from({ length: Math.min(threads, tasks.length) }, () => {
      const pooled = takeWorker(config, tasks[0]!.configPath, nice)
      taken.push(pooled)
      return pooled
    })
    if (signal?.aborted) end()
    const loaded = await Promise.all(workers.map((w) => w.ready))
    for (const views of loaded) checkViews(tasks, views)
    await Promise.all(
      workers.map(async (pooled) => {
        let current = nextTask(queue, pooled.worker, onProgress)
        // Every thread claims its first partition (synchronously, above) before any claims a
        // second. Then one task ahead: a thread has its next partition queued when it finishes
        // one, so it does not idle for a round trip through the main thread (a scheduler wait,
        // on a busy machine); it holds at most one partition it has not started.
        await null
        while (current !== undefined) {
          const following = nextTask(queue, pooled.worker, onProgress)
          results.push(await current)
          current = following
        }
      }),
    )
  } catch (error) {
    // The failed thread, and those still folding other partitions of this run, are ended.
    await Promise.all(taken.map((w) => w.worker.terminate()))
    throw error
  } finally {
    signal?.removeEventListener('abort', end)
  }
  if (signal?.aborted) {
    await Promise.all(taken.map((w) => w.worker.terminate()))
    throw new StrataError(ErrorCodes.INTERRUPTED, 'the fold was interrupted')
  }
  returnWorkers(taken)
  return results.sort((a, b) => a.partition - b.partition)
}

/** Refuses a thread whose views differ from those of the run (the config file changed). */
function checkViews(tasks: FoldTask[], loaded: ViewHash[]): void {
  const inThread = new Map(loaded.map((v) => [v.view, v.codeHash]))
  for (const task of tasks) {
    for (const { view, codeHash } of task.views) {
      const theirs = inThread.get(view)
      if (theirs === codeHash) continue
      const found = theirs === undefined ? 'no such view' : `code hash ${theirs.slice(0, 12)}`
      throw new StrataError(
        ErrorCodes.CONFIG_CHANGED,
        `${task.configPath} changed since this process loaded it: view '${view}' has code hash ${codeHash.slice(0, 12)} here, ${found} in the batch worker thread that loaded it now; restart the process to run the edited definitions`,
      )
    }
  }
}

/** The views a new thread loaded (its first message, worker.ts), or why it could not. */
function whenReady(worker: Worker, configPath: string): Promise<ViewHash[]> {
  const ready = listen(worker, 'while starting', (message) => {
    if (message.type === 'ready') return message.views
    if (message.type === 'failed') {
      throw new StrataError(
        codeOf(message.code),
        `batch worker could not load ${configPath}: ${message.message}`,
      )
    }
    return undefined
  })
  // Awaited by the run that started the thread; a rejection before then must not go unhandled.
  ready.catch(() => undefined)
  return ready
}

/**
 * Listens to a thread until `decide` settles it: a value resolves, a throw rejects, undefined
 * keeps listening. A crash or an exit meanwhile rejects, `doing` saying what the thread was at.
 * The listeners go in every case, so a thread kept between runs carries none over.
 */
function listen<T>(
  worker: Worker,
  doing: string,
  decide: (message: WorkerMessage) => T | undefined,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const settle = (finish: () => void) => {
      worker.off('message', onMessage)
      worker.off('error', onError)
      worker.off('exit', onExit)
      finish()
    }
    const onMessage = (message: WorkerMessage) => {
      let value: T | undefined
      try {
        value = decide(message)
      } catch (error) {
        settle(() => reject(error))
        return
      }
      if (value !== undefined) settle(() => resolve(value))
    }
    const onError = (error: Error) =>
      settle(() =>
        reject(new StrataError(ErrorCodes.INTERNAL, `batch worker crashed ${doing}`, { cause: error })),
      )
    const onExit = (exitCode: number) =>
      settle(() =>
        reject(new StrataError(ErrorCodes.INTERNAL, `batch worker exited (code ${exitCode}) ${doing}`)),
      )
    worker.on('message', onMessage)
    worker.on('error', onError)
    worker.on('exit', onExit)
  })
}

/** An error code a thread sent, if it is one of ours. */
function codeOf(code: string | undefined): ErrorCode {
  return (Object.values(ErrorCodes) as string[]).includes(code ?? '')
    ? (code as ErrorCode)
    : ErrorCodes.INTERNAL
}

function nextTask(
  queue: FoldTask[],
  worker: Worker,
  onProgress: (offsets: number) => void,
): Promise<FoldResult> | undefined {
  const task = queue.shift()
  if (task === undefined) return undefined
  const result = runOne(worker, task, onProgress)
  // Awaited in order by the caller; a rejection before then must not go unhandled.
  result.catch(() => undefined)
  return result
}

/**
 * The threads of this process holding fold tasks, with the partitions given to each (in order:
 * the first is the one it folds) and when it last said anything. A thread reports progress at
 * least every 100 ms or so while it folds events, however slow the view (partition-fold.ts), so one silent for long
 * is stuck: a view's code that never returns on an event holds the run, and the batch layer,
 * for ever (s14-hang). The batch layer's health and its close() read this (schedule.ts).
 */
const busy = new Map<Worker, { partitions: number[]; heardAt: number }>()

/** A thread holding a fold task that has not been heard from for a while. */
export interface SilentFoldTask {
  partition: number
  forMs: number
}

/** The fold tasks whose thread has said nothing for `afterMs` or more. */
export function silentFoldTasks(afterMs: number): SilentFoldTask[] {
  const now = performance.now()
  const silent: SilentFoldTask[] = []
  for (const { partitions, heardAt } of busy.values()) {
    if (partitions.length > 0 && now - heardAt >= afterMs)
      silent.push({ partition: partitions[0]!, forMs: now - heardAt })
  }
  return silent
}

/** Ends the threads silent for `afterMs` or more: their runs fail (a close that would wait for ever). */
export async function endSilentFoldTasks(afterMs: number): Promise<number> {
  const now = performance.now()
  const ended = [...busy].filter(([, b]) => b.partitions.length > 0 && now - b.heardAt >= afterMs)
  await Promise.all(ended.map(([worker]) => worker.terminate()))
  return ended.length
}

function runOne(worker: Worker, task: FoldTask, onProgress: (offsets: number) => void): Promise<FoldResult> {
  let held = busy.get(worker)
  if (held === undefined || held.partitions.length === 0) {
    held = { partitions: [], heardAt: performance.now() }
    busy.set(worker, held)
  }
  const holding = held
  holding.partitions.push(task.partition)
  const heard = () => {
    holding.heardAt = performance.now()
  }
  worker.on('message', heard)
  const result = listen<FoldResult>(worker, `while folding partition ${task.partition}`, (message) => {
    if (message.type === 'ready' || message.type === 'failed' || message.partition !== task.partition)
      return undefined
    if (message.type === 'progress') {
      onProgress(message.offsets)
      return undefined
    }
    if (message.type === 'done') {
      // The run goes to the store as keyed columns (batch-run.ts): one thread's answer as it
      // crossed, several combined as they crossed (combine-answers.ts); never as these arrays,
      // which are cut only when asked for.
      let entries: EncodedEntries[] | undefined
      return {
        partition: message.partition,
        events: message.events,
        get entries() {
          entries ??= message.entries.map(unpackEntries)
          return entries
        },
        packed: message.entries,
        errors: message.errors,
        thread: worker.threadId,
      }
    }
    const text = `batch task for partition ${task.partition} failed: ${message.message}`
    throw message.failure
      ? new ViewFailedError(message.failure, text)
      : new StrataError(codeOf(message.code), text)
  })
  worker.postMessage(task)
  const done = () => {
    worker.off('message', heard)
    const at = holding.partitions.indexOf(task.partition)
    if (at !== -1) holding.partitions.splice(at, 1)
    holding.heardAt = performance.now()
    if (holding.partitions.length === 0 && busy.get(worker) === holding) busy.delete(worker)
  }
  result.then(done, done)
  return result
}

/**
 * The distinct keys of a worker's packed answer (worker.ts), each cut once from its text. Key
 * lengths that do not add up to the text (damaged input) throw STRATA_ERR_INVALID_STATE.
 */
export function distinctKeys({ keyText, keyLengths }: PackedEntries): string[] {
  const distinct = new Array<string>(keyLengths.length)
  let at = 0
  for (let n = 0; n < keyLengths.length; n++) {
    const end = at + keyLengths[n]!
    distinct[n] = keyText.slice(at, end)
    at = end
  }
  if (at !== keyText.length) {
    throw damagedEntries(`key lengths adding up to ${at} over a key text of ${keyText.length} characters`)
  }
  return distinct
}

/**
 * The entries a worker packed for the trip (worker.ts), as the arrays the combine reads. Damaged
 * input (key lengths past the text, a key number past the keys, columns of unequal length) throws
 * STRATA_ERR_INVALID_STATE: read as it stands it gave keys cut short, undefined keys or windows.
 */
export function unpackEntries(packed: PackedEntries): EncodedEntries {
  const { keyIndex } = packed
  const entries = keyIndex.length
  if (packed.windows.length !== entries || packed.states.length !== entries) {
    throw damagedEntries(
      `${entries} keys, ${packed.windows.length} windows and ${packed.states.length} states`,
    )
  }
  // Each distinct key cut once; its entries share the string.
  const distinct = distinctKeys(packed)
  const keys = new Array<string>(entries)
  for (let i = 0; i < entries; i++) {
    const n = keyIndex[i]!
    if (n >= distinct.length)
      throw damagedEntries(`entry ${i} has key number ${n} of ${distinct.length} keys`)
    keys[i] = distinct[n]!
  }
  // Copied by index: Array.from takes a typed array through its iterator, several times slower.
  const windows = new Array<number>(entries)
  for (let i = 0; i < entries; i++) windows[i] = packed.windows[i]!
  let states: unknown[]
  if (Array.isArray(packed.states)) states = packed.states
  else {
    states = new Array<number>(entries)
    for (let i = 0; i < entries; i++) states[i] = packed.states[i]!
  }
  return { keys, windows, states }
}

/** Damaged entries from a batch thread (`what` says how): the run stops, nothing of it staged. */
export function damagedEntries(what: string): StrataError {
  return new StrataError(
    ErrorCodes.INVALID_STATE,
    `the entries a batch thread sent are damaged (${what}); the run stops and nothing of it is staged`,
  )
}
