// Worker thread of the batch layer: loads the config itself (view functions cannot cross a
// thread boundary), folds the partitions it is sent, and answers with encoded states, which
// are plain data (the monoid's encode), so they clone cheaply and mean the same on any side.
//
// The thread evaluates the config file once, when it starts, and first reports the code hash of
// every view it loaded ('ready'). The file may have changed since the main thread loaded it, and
// the main thread stamps each batch version with its own hashes, so the pool compares the two
// before sending any task (worker-pool.ts, STRATA_ERR_CONFIG_CHANGED).
//
// The answer is packed for the trip: a structured clone of three arrays of tens of thousands of
// elements each costs more than the fold of a segment, so keys travel as one string cut by
// lengths, window starts as a Float64Array, and states, when every one is a number (count, sum,
// min, max), as a Float64Array too; the typed arrays are transferred, not copied. A key with
// several windows crosses once: the text holds each distinct key once, and each entry the number
// of its key (keyIndex), so the main thread cuts one string per key, not per entry. One thread's
// answer goes to the store so, keyed, and is grouped by key by those numbers (batch-run.ts,
// lmdb-batch.ts); answers to combine are cut into per-entry arrays, whose entries of one key share
// one string.
import { type MessagePort, parentPort, workerData } from 'node:worker_threads'
import type { CompiledView } from '../core/compiled-view.ts'
import { compileViews } from '../core/config.ts'
import { loadConfig } from '../core/config-loader.ts'
import type { Monoid } from '../core/monoid.ts'
import { NumericTable } from '../core/numeric-table.ts'
import { lowerThreadPriority } from '../core/thread-priority.ts'
import { failureOf, type ViewFoldError } from '../core/view-errors.ts'
import type { ViewHash } from '../core/view-hash.ts'
import type { ViewTable } from '../core/view-table.ts'
import { combineErrors, type FoldErrors, foldPartitionTables } from './partition-fold.ts'

/** The thread's workerData: the config file it evaluates, once, at start. */
export interface WorkerSetup {
  configPath: string
  /** The thread's nice value (core/thread-priority.ts) when the process also serves HTTP. */
  nice?: number
}

export interface FoldTask {
  /** The config file; every task a thread is sent is of the file it started with. */
  configPath: string
  /** The views to fold, in this order, with the code hash the run stamps their versions with. */
  views: ViewHash[]
  root: string
  partition: number
  to: number
  /**
   * More partitions, ascending after `partition`, folded by this thread after it and combined
   * into its answer (see combineInto): one answer per thread, not per partition (batch-run.ts).
   */
  andThen?: Array<{ partition: number; to: number }>
}

/** The thread's first message: the views it loaded, or why it could not load them. */
export type WorkerStart =
  | { type: 'ready'; views: ViewHash[] }
  | { type: 'failed'; message: string; stack?: string; code?: string }

export type WorkerMessage =
  | WorkerStart
  | { type: 'progress'; partition: number; offsets: number }
  | { type: 'done'; partition: number; events: number; entries: PackedEntries[]; errors: FoldErrors[] }
  | {
      type: 'error'
      partition: number
      message: string
      stack?: string
      code?: string
      /** The event a view defined with onError('stop') threw on (VIEW_FAILED). */
      failure?: ViewFoldError
    }

/** Per view, parallel arrays: key, window start, encoded state. */
export interface EncodedEntries {
  keys: string[]
  windows: number[]
  states: unknown[]
}

/** EncodedEntries as they cross the thread boundary (see the top of this file). */
export interface PackedEntries {
  /** The distinct keys, each once, in the order of their first entry, as one string… */
  keyText: string
  /** …cut by these lengths. */
  keyLengths: Uint32Array
  /** Per entry, the number of its key among the distinct keys. */
  keyIndex: Uint32Array
  windows: Float64Array
  states: Float64Array | unknown[]
}

export function packEntries(
  table: ViewTable<unknown> | NumericTable<unknown>,
  encode: (state: any) => unknown,
): PackedEntries {
  if (table instanceof NumericTable) {
    // The same entries in the same order, with no ViewTable between (numeric-table.ts), straight
    // into the typed arrays that cross.
    const { keys, windows, states } = table.encodedColumns()
    return { ...packKeys(keys), windows, states }
  }
  const size = table.size
  const keys = new Array<string>(size)
  const windows = new Float64Array(size)
  const states = new Array<unknown>(size)
  let numeric = true
  let i = 0
  for (const start of table.windowStarts()) {
    for (const [key, state] of table.groupsIn(start)) {
      const encoded = encode(state)
      if (typeof encoded !== 'number') numeric = false
      keys[i] = key
      windows[i] = start
      states[i] = encoded
      i++
    }
  }
  return {
    ...packKeys(keys),
    windows,
    states: numeric ? Float64Array.from(states as number[]) : states,
  }
}

/** Keys as they cross (see the top of this file): each distinct key once, and per entry its number. */
function packKeys(keys: readonly string[]): Pick<PackedEntries, 'keyText' | 'keyLengths' | 'keyIndex'> {
  const numbers = new Map<string, number>()
  const distinct: string[] = []
  const keyIndex = new Uint32Array(keys.length)
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!
    let n = numbers.get(key)
    if (n === undefined) {
      n = distinct.length
      numbers.set(key, n)
      distinct.push(key)
    }
    keyIndex[i] = n
  }
  const keyLengths = new Uint32Array(distinct.length)
  for (let n = 0; n < distinct.length; n++) keyLengths[n] = distinct[n]!.length
  return { keyText: distinct.join(''), keyLengths, keyIndex }
}

// Partitions one thread folds in a row are combined here, exactly as the main thread combines
// threads' answers (combine-answers.ts): in partition order, each partition's
// state taken through encode and decode first (what the trip to the main thread does), the first
// partition's as it is, the next ones with the monoid's combine. Float sums and sketches come out
// in the same bits, because the same combines run on the same values in the same order.
export function roundTrip(
  table: ViewTable<unknown> | NumericTable<unknown>,
  monoid: Monoid<unknown, any, any>,
): void {
  if (table instanceof NumericTable) {
    table.roundTrip()
    return
  }
  for (const start of table.windowStarts()) {
    const groups = table.groupsIn(start)
    for (const [key, state] of groups) groups.set(key, monoid.decode(monoid.encode(state) as never))
  }
}

export function combineInto(
  into: ViewTable<unknown> | NumericTable<unknown>,
  from: ViewTable<unknown> | NumericTable<unknown>,
  monoid: Monoid<unknown, any, any>,
): void {
  // A view's tables are all of one kind: a NumericTable when its monoid has a kernel.
  if (into instanceof NumericTable || from instanceof NumericTable) {
    if (!(into instanceof NumericTable && from instanceof NumericTable)) {
      throw new Error('combineInto: a NumericTable with a ViewTable')
    }
    into.combineFrom(from)
    return
  }
  for (const start of from.windowStarts()) {
    const groups = into.groupsIn(start)
    for (const [key, state] of from.groupsIn(start)) {
      const decoded = monoid.decode(monoid.encode(state) as never)
      const before = groups.get(key)
      groups.set(key, before === undefined ? decoded : monoid.combine(before, decoded))
    }
  }
}

async function foldTask(
  port: MessagePort,
  loading: Promise<CompiledView<any, any>[]>,
  task: FoldTask,
): Promise<void> {
  try {
    const names = task.views.map((v) => v.view)
    const views = (await loading).filter((v) => names.includes(v.name))
    views.sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name))
    const onProgress = (offsets: number) =>
      port.postMessage({ type: 'progress', partition: task.partition, offsets })
    const fold = await foldPartitionTables({
      root: task.root,
      partition: task.partition,
      to: task.to,
      views,
      onProgress,
    })
    if (task.andThen !== undefined && task.andThen.length > 0) {
      for (const [i, table] of fold.tables.entries()) roundTrip(table, views[i]!.monoid)
      for (const { partition, to } of task.andThen) {
        const next = await foldPartitionTables({ root: task.root, partition, to, views, onProgress })
        for (const [i, table] of next.tables.entries()) combineInto(fold.tables[i]!, table, views[i]!.monoid)
        fold.events += next.events
        fold.errors = fold.errors.map((e, i) => combineErrors([e, next.errors[i]]))
      }
    }
    const entries = fold.tables.map((table, i) => {
      const { monoid } = views[i]
      return packEntries(table, (state) => monoid.encode(state))
    })
    const transfer: ArrayBuffer[] = []
    for (const e of entries) {
      transfer.push(
        e.keyLengths.buffer as ArrayBuffer,
        e.keyIndex.buffer as ArrayBuffer,
        e.windows.buffer as ArrayBuffer,
      )
      if (!Array.isArray(e.states)) transfer.push(e.states.buffer as ArrayBuffer)
    }
    port.postMessage(
      { type: 'done', partition: task.partition, events: fold.events, entries, errors: fold.errors },
      transfer,
    )
  } catch (error) {
    const e = error as Error & { code?: string }
    port.postMessage({
      type: 'error',
      partition: task.partition,
      message: e.message,
      stack: e.stack,
      code: e.code,
      failure: failureOf(error),
    })
  }
}

// The pool sends the next task before this one is done (worker-pool.ts): tasks queue here and
// run one at a time, so a thread never waits for the main thread between two partitions.
const port = parentPort
if (port) {
  const { configPath, nice } = workerData as WorkerSetup
  if (nice !== undefined) lowerThreadPriority(nice)
  const loading = loadConfig(configPath).then(compileViews)
  loading.then(
    (views) => {
      const loaded: ViewHash[] = views.map((v) => ({ view: v.name, codeHash: v.codeHash }))
      port.postMessage({ type: 'ready', views: loaded } satisfies WorkerStart)
    },
    (error: Error & { code?: string }) => {
      port.postMessage({
        type: 'failed',
        message: error.message,
        stack: error.stack,
        code: error.code,
      } satisfies WorkerStart)
    },
  )
  let queue = Promise.resolve()
  port.on('message', (task: FoldTask) => {
    queue = queue.then(() => foldTask(port, loading, task))
  })
}
