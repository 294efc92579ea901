// The batch layer: recompute views exactly from the master dataset up to a horizon.
//
// 1. Fix the horizon: per partition, an offset the master dataset holds everything below
//    (by default, the end of the last sealed segment; the speed layer passes its own).
// 2. Pick the views to recompute: those with no served version, a changed definition (code
//    hash), or a served horizon other than this one. An unchanged view over unchanged data is
//    left alone, so editing one view recomputes only it.
// 3. Fold every partition in parallel, then combine the partitions' states per (key, window) with
//    the view's monoid: on this machine's worker threads (the local engine), or as an Apache
//    Spark job (the Spark engine, spark/spark-engine.ts). Only this step differs between them.
//    A thread combines the adjacent partitions it is given itself, in the same order (worker.ts):
//    all of them with one thread; a run per thread when the views' states allow (foldLocally).
// 4. Per view: stage a new version, write its entries, commit — the atomic flip. The previous
//    version serves until that moment. Then publish the completion and the results (Kafka).
//
// Interrupted (options.signal: `strata batch` on SIGINT or SIGTERM): the fold threads (or the
// Spark driver) are ended, a staged version is aborted (its rows dropped), and the run fails with
// STRATA_ERR_INTERRUPTED. A flip under way completes (it is one transaction); no view is staged
// after the signal, so each view is either at its new version, whole, or at its previous one.
import { availableParallelism } from 'node:os'
import type { CompiledView } from '../core/compiled-view.ts'
import { compileViews, type StrataConfig } from '../core/config.ts'
import { ErrorCodes, InterruptedError, StrataError } from '../core/errors.ts'
import { numericKernelOf } from '../core/monoid.ts'
import { type MasterDataset, openMasterDataset, type S3Settings } from '../master-dataset/index.ts'
import type { BatchViewMeta, EntryColumns, Horizon, KeyedColumns, Store, ViewEntry } from '../store/store.ts'
import { combineAnswers } from './combine-answers.ts'
import { combineErrors, type FoldErrors } from './partition-fold.ts'
import type { SparkEngineOptions } from './spark/spark-engine.ts'
import { damagedEntries, distinctKeys, runFoldTasks } from './worker-pool.ts'

/** Where the fold and the combine run: this process's worker threads, or an Apache Spark job. */
export type BatchEngine = 'local' | 'spark'
export const BATCH_ENGINES: readonly BatchEngine[] = ['local', 'spark']

export interface BatchPublisher {
  publish(meta: BatchViewMeta, entries: ViewEntry[], view: CompiledView<any, any>): Promise<void>
}

export interface BatchRunOptions {
  config: StrataConfig
  /** The config file, which worker threads load for themselves. */
  configPath: string
  /** The master dataset: its root folder, or s3://bucket/prefix/<topic> on object storage. */
  root: string
  /** For an s3:// root: the local folder its segments are copied to and folded from. */
  cacheRoot?: string
  s3?: S3Settings
  store: Store
  /** Default: the end of the sealed segments of each partition. */
  horizon?: Horizon
  /** Worker threads (default: available cores). */
  threads?: number
  /** The worker threads' nice value, when the process also serves HTTP (core/thread-priority.ts). */
  threadNice?: number
  /** Recompute every view even when nothing changed. */
  force?: boolean
  /** Default 'local'; 'spark' needs `spark` (at least its master). */
  engine?: BatchEngine
  spark?: SparkEngineOptions
  publisher?: BatchPublisher
  /** Total offsets below the horizon (known once the horizon is fixed), then progress. */
  onStart?: (plan: BatchPlan) => void
  onProgress?: (offsets: number) => void
  /** A view's code threw on some events (skipped by it, recorded in its version's meta). */
  onViewErrors?: (view: string, errors: FoldErrors) => void
  /** Stops the run at its next safe point (see the top of this file). */
  signal?: AbortSignal
}

export interface BatchPlan {
  horizon: Horizon
  views: string[]
  skipped: string[]
  /** Offsets below the horizon across partitions: the progress total. */
  offsets: number
}

export interface BatchRunResult {
  plan: BatchPlan
  versions: BatchViewMeta[]
  events: number
  durationMs: number
}

// Read-only: SegmentStore.open would also remove crash leftovers, which, while the archiver or
// the embedded log is writing (a sidecar before its data file, a packed cache's temp file), are
// not leftovers at all. Only a writer opens the store; readers list.
export async function sealedHorizon(root: string | MasterDataset, partitions: number): Promise<Horizon> {
  const dataset = typeof root === 'string' ? await openMasterDataset(root, { readOnly: true }) : root
  return Promise.all(
    Array.from({ length: partitions }, async (_, p) => (await dataset.segments(p)).at(-1)?.end ?? 0),
  )
}

export async function runBatch(options: BatchRunOptions): Promise<BatchRunResult> {
  if (options.engine === 'spark') {
    const { checkMasterAnswers } = await import('./spark/spark-engine.ts')
    await checkMasterAnswers(sparkOf(options).master)
  }
  const dataset = await openMasterDataset(options.root, {
    readOnly: true,
    ...(options.cacheRoot ? { cacheRoot: options.cacheRoot } : {}),
    ...(options.s3 ? { s3: options.s3 } : {}),
  })
  try {
    return await runBatchOn(dataset, options)
  } finally {
    await dataset.close()
  }
}

async function runBatchOn(dataset: MasterDataset, options: BatchRunOptions): Promise<BatchRunResult> {
  const startedAt = Date.now()
  const { config, store } = options
  const partitions = config.source.partitions
  const wished = options.horizon ?? (await sealedHorizon(dataset, partitions))
  const compiled = compileViews(config)
  const speedViews = new Map((await store.speedViews()).map((v) => [v.view, v]))
  const served = new Map(
    await Promise.all(compiled.map(async (v) => [v.name, await store.servedBatch(v.name)] as const)),
  )

  // Horizons never move back (docs/horizon.md, rule 3): the floor is every served horizon.
  const floor = Array.from({ length: partitions }, (_, p) =>
    Math.max(0, ...compiled.map((v) => served.get(v.name)?.horizon[p] ?? 0)),
  )
  const aligned = await store.alignHorizon(
    wished.map((w, p) => Math.max(w, floor[p])),
    floor,
  )
  // -1: the speed layer passed every offset we could use without sealing; keep the served one.
  const horizon = aligned.map((h, p) => (h < 0 ? floor[p] : h))

  const stale: CompiledView<any, any>[] = []
  const skipped: string[] = []
  for (const view of compiled) {
    const current = served.get(view.name)
    const upToDate = current && current.codeHash === view.codeHash && sameHorizon(current.horizon, horizon)
    // The realtime states of this definition begin at `start`: a batch version below it would
    // leave a gap between the two, so such a view waits until the master dataset reaches it.
    const speed = speedViews.get(view.name)
    const reaches =
      !speed || speed.codeHash !== view.codeHash || speed.start.every((s, p) => s <= (horizon[p] ?? 0))
    if ((upToDate && !options.force) || !reaches) skipped.push(view.name)
    else stale.push(view)
  }
  const plan: BatchPlan = {
    horizon,
    views: stale.map((v) => v.name),
    skipped,
    offsets: stale.length === 0 ? 0 : horizon.reduce((a, b) => a + b, 0),
  }
  options.onStart?.(plan)
  if (stale.length === 0) return { plan, versions: [], events: 0, durationMs: Date.now() - startedAt }
  const versions: BatchViewMeta[] = []
  const interrupted = () => interruptedRun(options.signal, stale, versions)
  if (options.signal?.aborted) throw interrupted()

  let folded: Folded
  try {
    folded =
      options.engine === 'spark'
        ? await foldOnSpark(stale, horizon, options)
        : await foldLocally(stale, horizon, await dataset.localCopy(horizon), options)
  } catch (error) {
    // The threads or the driver ended by the signal fail as they can: the signal is the reason.
    if (options.signal?.aborted) throw interrupted()
    throw error
  }
  const { events } = folded

  for (const [i, view] of stale.entries()) {
    if (options.signal?.aborted) throw interrupted()
    const answer = folded.entries[i]!
    const keyed = 'keyIndex' in answer ? answer : undefined
    const groups = keyed !== undefined ? keyed.keyIndex.length : answer.keys.length
    let columns: EntryColumns | undefined = keyed === undefined ? (answer as EntryColumns) : undefined
    const stage = await store.stageBatch(view.name)
    try {
      // One thread's answer straight to a store that takes it keyed: grouped by key by the keys'
      // numbers, with no string per entry (lmdb-batch.ts). Else columns straight to a store that
      // takes them: no object per entry (48,000 for an hourly view of 10,000 keys); otherwise
      // entries, in puts of 10,000.
      if (keyed !== undefined && stage.putKeyed !== undefined) await stage.putKeyed(keyed)
      else {
        columns ??= columnsOf(keyed!)
        if (stage.putColumns !== undefined) await stage.putColumns(columns)
        else {
          for (let at = 0; at < groups; at += 10_000) {
            if (options.signal?.aborted) throw interrupted()
            await stage.put(entriesOf(columns, at, at + 10_000))
          }
        }
      }
      if (options.signal?.aborted) throw interrupted()
      const foldErrors = folded.errors[i]!
      if (foldErrors.count > 0) options.onViewErrors?.(view.name, foldErrors)
      const meta = await stage.commit({
        codeHash: view.codeHash,
        horizon,
        events,
        groups,
        startedAt,
        completedAt: Date.now(),
        ...(foldErrors.count > 0 ? { foldErrors } : {}),
      })
      versions.push(meta)
      if (options.publisher !== undefined) {
        columns ??= columnsOf(keyed!)
        await options.publisher.publish(meta, entriesOf(columns, 0, groups), view)
      }
    } catch (error) {
      await stage.abort().catch(() => undefined)
      throw error
    }
  }
  // Rule 6: realtime epochs below every view's horizon are read by no query any more. The store
  // computes the bound in the transaction that collects (collectionBound in speed-rules.ts), over
  // this run's views and every view the speed layer records then: read here, a view registered
  // again before the collection would be missed.
  await store.collectEpochs(compiled.map((v) => v.name))
  return { plan, versions, events, durationMs: Date.now() - startedAt }
}

/** Per stale view, in order: its combined entries and fold errors; and the events read. */
interface Folded {
  events: number
  entries: Array<EntryColumns | KeyedColumns>
  errors: FoldErrors[]
}

/**
 * Keyed columns with a key per entry. A key number past the keys (damaged input) throws
 * STRATA_ERR_INVALID_STATE, as unpackEntries does for the combined path.
 */
function columnsOf({ keys, keyIndex, windows, states }: KeyedColumns): EntryColumns {
  const perEntry = new Array<string>(keyIndex.length)
  for (let i = 0; i < keyIndex.length; i++) {
    const key = keys[keyIndex[i]!]
    if (key === undefined)
      throw damagedEntries(`entry ${i} has key number ${keyIndex[i]} of ${keys.length} keys`)
    perEntry[i] = key
  }
  return { keys: perEntry, windows, states }
}

/** Entries `from` to `to` of the columns, as objects. */
function entriesOf({ keys, windows, states }: EntryColumns, from: number, to: number): ViewEntry[] {
  const end = Math.min(to, keys.length)
  const entries = new Array<ViewEntry>(Math.max(0, end - from))
  for (let i = from; i < end; i++)
    entries[i - from] = { key: keys[i]!, window: windows[i]!, state: states[i] }
  return entries
}

// Worker threads read a folder: the dataset's own, or (object storage) a verified local copy of
// every segment below the horizon, fetched before the fold.
async function foldLocally(
  stale: CompiledView<any, any>[],
  horizon: Horizon,
  root: string,
  options: BatchRunOptions,
): Promise<Folded> {
  // The hashes the versions are stamped with: the threads must fold exactly these (worker-pool.ts).
  const viewHashes = stale.map((v) => ({ view: v.name, codeHash: v.codeHash }))
  const perPartition = horizon
    .map((to, partition) => ({ configPath: options.configPath, views: viewHashes, root, partition, to }))
    .filter((task) => task.to > 0)
  const threads = options.threads ?? availableParallelism()
  // Each task is a run of adjacent partitions that its thread folds and combines itself, in
  // partition order (worker.ts); the runs' answers are combined here, in order. With one thread,
  // one run: the same combines in the same order as one task per partition. With several, runs
  // group the combines differently, which gives the same bits only when every view's states
  // combine associatively in every bit (count, min, max: monoid.ts, NumericKernel); otherwise
  // each partition is its own task. Fewer runs: fewer answers packed, sent, unpacked and combined.
  const associative = stale.every((v) => numericKernelOf(v.monoid)?.associative === true)
  const runs = threads === 1 || associative ? Math.min(threads, perPartition.length) : perPartition.length
  const tasks = adjacentRuns(perPartition, runs).map(([first, ...rest]) =>
    rest.length === 0 ? first! : { ...first!, andThen: rest.map(({ partition, to }) => ({ partition, to })) },
  )
  const results = await runFoldTasks(
    tasks,
    threads,
    (n) => options.onProgress?.(n),
    options.threadNice,
    options.signal,
  )
  return {
    events: results.reduce((sum, r) => sum + r.events, 0),
    // One answer is combined already (one thread folded every partition, worker.ts): it goes to
    // the store as it crossed, keyed (each distinct key once); several are combined here.
    entries: stale.map((view, i): EntryColumns | KeyedColumns => {
      if (results.length === 1) {
        const packed = results[0]!.packed[i]!
        return {
          keys: distinctKeys(packed),
          keyIndex: packed.keyIndex,
          windows: packed.windows,
          states: packed.states,
        }
      }
      return combineAnswers(
        view.monoid,
        results.map((r) => r.packed[i]!),
      )
    }),
    errors: stale.map((_, i) => combineErrors(results.map((r) => r.errors[i]))),
  }
}

// The Spark job reads the master dataset itself, on the executors (a folder they all see, or
// s3:// directly): nothing is copied here first.
async function foldOnSpark(
  stale: CompiledView<any, any>[],
  horizon: Horizon,
  options: BatchRunOptions,
): Promise<Folded> {
  if (!options.spark?.master) {
    throw new StrataError(
      ErrorCodes.INVALID_ARGUMENT,
      'the Spark engine needs a master (--spark-master spark://host:port)',
      {
        field: '--spark-master',
      },
    )
  }
  const { runSparkFold } = await import('./spark/spark-engine.ts')
  const folded = await runSparkFold(
    {
      configPath: options.configPath,
      views: stale,
      root: options.root,
      horizon,
      ...(options.s3 ? { s3: options.s3 } : {}),
    },
    options.signal ? { ...sparkOf(options), signal: options.signal } : sparkOf(options),
  )
  options.onProgress?.(horizon.reduce((a, b) => a + b, 0))
  return {
    ...folded,
    entries: folded.entries.map((entries) => ({
      keys: entries.map((e) => e.key),
      windows: entries.map((e) => e.window),
      states: entries.map((e) => e.state),
    })),
  }
}

function sparkOf(options: BatchRunOptions): SparkEngineOptions {
  if (!options.spark?.master) {
    throw new StrataError(
      ErrorCodes.INVALID_ARGUMENT,
      'the Spark engine needs a master (--spark-master spark://host:port)',
      { field: '--spark-master' },
    )
  }
  return options.spark
}

/** `items` cut into `runs` runs of adjacent items, as even as can be, in order. */
export function adjacentRuns<T>(items: readonly T[], runs: number): T[][] {
  const out: T[][] = []
  let at = 0
  for (let r = 0; r < runs; r++) {
    const size = Math.floor((items.length - at) / (runs - r))
    if (size > 0) out.push(items.slice(at, at + size))
    at += size
  }
  return out
}

/** The run stopped by its signal: which views were flipped before it, and that no other was. */
function interruptedRun(
  signal: AbortSignal | undefined,
  stale: CompiledView<any, any>[],
  versions: BatchViewMeta[],
): InterruptedError {
  const reason = typeof signal?.reason === 'string' ? signal.reason : 'a signal'
  const flipped = versions.map((v) => `${v.view} (version ${v.version})`)
  const kept = stale.slice(versions.length).map((v) => v.name)
  return new InterruptedError(
    reason,
    `the batch run was interrupted by ${reason}: ${kept.join(', ')} not recomputed, ${kept.length === 1 ? 'its' : 'their'} previous version${kept.length === 1 ? '' : 's'} still served (nothing half-written is served; a staged version was dropped)` +
      (flipped.length > 0 ? `; flipped before the signal: ${flipped.join(', ')}` : ''),
  )
}

function sameHorizon(a: Horizon, b: Horizon): boolean {
  return a.length === b.length && a.every((offset, p) => offset === b[p])
}
