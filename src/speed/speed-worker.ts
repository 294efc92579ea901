// The speed layer's role: fold the events past the batch horizon into realtime views, exactly
// once per event (docs/speed-layer.md, docs/horizon.md).
//
//   const worker = createSpeedWorker({ store, config, brokers })   // Kafka: a group member
//   const worker = createSpeedWorker({ store, config, log })       // embedded: every partition
//   await worker.start()  …  worker.stats()  …  await worker.close()
//
// start() records the view definitions the worker runs (registerSpeedViews: a new or changed
// definition restarts its realtime states, a view the config no longer has is forgotten), then
// takes partitions. Each owned partition has a
// PartitionFolder that commits state and consumed offset together; a timer commits windows that
// grew old while no records came. close() stops reading and commits what is pending.
import { compileViews, type StrataConfig } from '../core/config.ts'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { type Hold, heldBatches } from '../core/held-batches.ts'
import type { RetryAttempt } from '../core/retry.ts'
import type { ViewFoldError } from '../core/view-errors.ts'
import { embeddedPartitionSource } from '../log/embedded/index.ts'
import { type ConsumerOptions, consumerGroupSource } from '../log/kafka/index.ts'
import type { Log } from '../log/log.ts'
import type { PartitionSource, ReadTrouble } from '../log/partition-source.ts'
import type { Store } from '../store/store.ts'
import { FoldThreads, type StuckFold } from './fold-threads.ts'
import { defaultFolderPolicy, type FolderPolicy, type PartitionStats } from './partition-folder.ts'
import { speedPartitionHandlers } from './partition-handlers.ts'
import { PartitionSet } from './partition-set.ts'

export const SPEED_GROUP = 'strata-speed'

/**
 * Fold threads a speed worker on Kafka runs (roles.ts): one beside the thread that fetches and
 * commits. Measured on 2 cores (decision 0011, "Fold threads"): see there for 1 against 2.
 */
export const SPEED_FOLD_THREADS = 1

/** Group timers and fetch sizes a deployment (or a test) may tune. */
export type SpeedConsumerOptions = Partial<
  Pick<
    ConsumerOptions,
    | 'clientId'
    | 'sessionTimeoutMs'
    | 'rebalanceTimeoutMs'
    | 'heartbeatIntervalMs'
    | 'maxWaitMs'
    | 'maxBytes'
    | 'maxBytesPerPartition'
  >
>

// Smaller fetches than the Kafka module's default (16 MiB, 4 MiB per partition): every record of a
// fetch is decoded and held, with the windows it feeds, until folded and committed, and V8 lets
// its heap grow to a multiple of that before a full GC. With 4 MiB / 1 MiB a worker catching up
// peaks at ~250 MB of V8 heap instead of ~500 MB (1 M events, 6 partitions), at the same CPU per
// event: the partitions' commits share LMDB transactions (PartitionFolder.take), so more, smaller
// commits cost no more (BENCHMARKS.md, Memory).
export const speedFetchDefaults = { maxBytes: 4 * 1024 * 1024, maxBytesPerPartition: 1024 * 1024 }

export interface SpeedWorkerOptions {
  store: Store
  config: StrataConfig
  /** Kafka mode: the bootstrap brokers. */
  brokers?: string | readonly string[]
  /** Embedded mode: the embedded log. */
  log?: Log
  /** Consumer group in Kafka mode. */
  groupId?: string
  /** Commit and seal cadence. */
  policy?: Partial<FolderPolicy>
  /**
   * Fold threads (fold-threads.ts): parse, check and fold the records off the thread that reads
   * the log and commits. Needs `configPath`, the file `config` was loaded from (each thread
   * evaluates it). 0 or no configPath: everything on this thread.
   */
  foldThreads?: number
  /** The config file `config` was loaded from (for fold threads). */
  configPath?: string
  /**
   * With fold threads: how long close() waits on a fold thread that leaves a request unanswered
   * and takes no step meanwhile (FoldThread.stuck; a slow view that advances is waited for) before
   * it ends the threads and rejects (STRATA_ERR_SHUTTING_DOWN). A view's code that never returns
   * would otherwise hold close() for ever. Unset: no bound (a speed layer
   * in a role thread is bounded there, role-thread.ts).
   */
  closeTimeoutMs?: number
  /** From how long without a step a fold thread is listed in stats().stuckFolds. Default STUCK_FOLD_MS. */
  stuckFoldMs?: number
  consumer?: SpeedConsumerOptions
  /**
   * Asked before each batch (core/held-batches.ts): `strata start` holds its speed layer while
   * POST /events bursts (runtime/ingest-burst.ts). Unset: never held.
   */
  hold?: Hold
  /** A record that is not a valid event was skipped (it is counted in the stats too). */
  onSkip?(partition: number, offset: number, reason: string): void
  /** A commit recorded events a view's code threw on (skipped by that view, core/view-errors.ts). */
  onViewErrors?(errors: readonly ViewFoldError[]): void
  /** Fencing, a failed commit (retried), a failed fold, a consumer that left the group. */
  onError?(error: StrataError): void
  /** How long a store call is retried through an outage (default 60 s). */
  storeRetryMs?: number
  /** A store call failed retriably and is being tried again (one call per retry). */
  onStoreRetry?(partition: number, doing: string, retry: RetryAttempt): void
  /**
   * The store stayed unavailable past `storeRetryMs` for a partition: its folder stopped, and its
   * uncommitted window waits for the next owner. The process should exit so that a supervisor
   * restarts it (default: reported to onError only).
   */
  onFatal?(error: StrataError): void
}

export interface SpeedWorkerStats {
  mode: 'kafka' | 'embedded'
  /** The partitions this worker owns now. */
  partitions: PartitionStats[]
  /** Owned partitions the log cannot be read from now (retried meanwhile). */
  readTrouble?: ReadTrouble[]
  /**
   * Fold threads that have left a request unanswered, taking no step, for STUCK_FOLD_MS or more,
   * with the view and event in hand (a view's code that never returns): every partition of that thread waits.
   */
  stuckFolds?: StuckFold[]
}

/** A fold thread that has not advanced on a request this long is reported in the stats (stuckFolds). */
export const STUCK_FOLD_MS = 5000

export interface SpeedWorker {
  start(): Promise<void>
  close(): Promise<void>
  stats(): SpeedWorkerStats
}

function foldsInThreads(options: SpeedWorkerOptions): boolean {
  return (options.foldThreads ?? 0) > 0 && options.configPath !== undefined
}

export function createSpeedWorker(options: SpeedWorkerOptions): SpeedWorker {
  const { store, config } = options
  if ((options.brokers === undefined) === (options.log === undefined)) {
    throw new StrataError(
      ErrorCodes.INVALID_ARGUMENT,
      'A speed worker reads either Kafka (brokers) or a log',
      {
        field: 'brokers',
      },
    )
  }
  const views = compileViews(config)
  const partitions = config.source.partitions
  const policy: FolderPolicy = { ...defaultFolderPolicy, ...options.policy }
  const onError =
    options.onError ??
    ((error: StrataError) => process.stderr.write(`strata speed: ${error.code} ${error.message}\n`))
  // The one place the modes differ: who hands out the partitions (src/log/partition-source.ts).
  const source: PartitionSource =
    options.log !== undefined
      ? embeddedPartitionSource({ log: options.log, partitions, onError })
      : consumerGroupSource({
          brokers: options.brokers as string | readonly string[],
          groupId: options.groupId ?? SPEED_GROUP,
          topic: config.source.topic,
          ...speedFetchDefaults,
          // With fold threads a batch's records are only copied on (packSpans): decoded as spans
          // of their values, no object per record on this thread (decision 0011, session 15).
          ...(foldsInThreads(options)
            ? {
                recordSpans: true,
                // Each record set copied into a reused buffer of its partition's fold thread, which
                // the batch then hands over whole (batch-buffers.ts takeSpans; session 17).
                recordBuffer: (p: number, bytes: number) =>
                  threads?.of(p).buffers.take(bytes) ?? new ArrayBuffer(bytes),
              }
            : {}),
          ...options.consumer,
          onError,
        })
  let threads: FoldThreads | undefined
  const set = new PartitionSet(
    (partition) => ({
      ...(threads ? { thread: threads.of(partition) } : {}),
      store,
      views,
      partition,
      partitions,
      timeField: config.source.time,
      policy,
      onCommit: (p, offset) => handlers.committed(p, offset),
      ...(options.onSkip ? { onSkip: options.onSkip } : {}),
      ...(options.onViewErrors ? { onViewErrors: options.onViewErrors } : {}),
      ...(options.storeRetryMs === undefined ? {} : { storeRetryMs: options.storeRetryMs }),
      ...(options.onStoreRetry ? { onRetry: options.onStoreRetry } : {}),
      // Folders failed on purpose by a close that ended stuck fold threads: close() says why, once.
      onError: (error: StrataError) => (endedStuck ? undefined : onError(error)),
      onFailed: (error) => (endedStuck ? undefined : (options.onFatal ?? onError)(error)),
      ...(source.logStart ? { firstOffset: source.logStart } : {}),
    }),
    onError,
  )
  const handlers = speedPartitionHandlers(set, source)

  let timer: NodeJS.Timeout | undefined
  let closing: Promise<void> | undefined
  let endedStuck = false

  return {
    async start() {
      if (foldsInThreads(options)) {
        threads = new FoldThreads(options.configPath!, views, options.foldThreads!)
        try {
          await threads.ready()
        } catch (error) {
          await threads.close()
          threads = undefined
          throw error
        }
      }
      await store.registerSpeedViews(
        views.map((v) => ({ view: v.name, codeHash: v.codeHash })),
        partitions,
      )
      await source.start({ ...handlers, onBatch: heldBatches(handlers.onBatch, options.hold) })
      const every = Math.max(10, Math.min(policy.commitEveryMs / 2, 1000))
      timer = setInterval(() => {
        threads?.watch()
        const now = Date.now()
        for (const folder of set.owned()) folder.flushIfDue(now).catch(onError)
      }, every)
      timer.unref()
    },
    close() {
      closing ??= (async () => {
        clearInterval(timer)
        const released = (async () => {
          await source.close()
          await set.releaseAll()
        })()
        const stuck = await stuckAtClose(released, threads, options.closeTimeoutMs)
        if (stuck) {
          endedStuck = true
          await threads!.terminate()
          await released.catch(() => undefined)
          throw new StrataError(
            ErrorCodes.SHUTTING_DOWN,
            `the speed layer's fold thread did not advance for ${Math.round(stuck.forMs / 1000)} s: view '${stuck.view}' has not returned on partition ${stuck.partition} offset ${stuck.offset} (its code never returns?); the thread was ended and what it had not committed is folded again from the stored offsets at the next start`,
          )
        }
        await released
        await threads?.close()
      })()
      return closing
    },
    stats: () => ({
      mode: options.log ? 'embedded' : 'kafka',
      partitions: set.stats(),
      readTrouble: source.readTrouble?.() ?? [],
      ...(threads ? { stuckFolds: threads.stuck(options.stuckFoldMs ?? STUCK_FOLD_MS) } : {}),
    }),
  }
}

/**
 * Waits for `released`; with fold threads and a bound, gives up once a fold thread has left a
 * request unanswered without a step for `boundMs` (FoldThread.stuck: counted from the last step
 * seen, so a fold stuck for minutes before the signal does not get another full wait, and a slow
 * one that advances is drained, not ended) and returns where it is stuck.
 */
async function stuckAtClose(
  released: Promise<void>,
  threads: FoldThreads | undefined,
  boundMs: number | undefined,
): Promise<StuckFold | undefined> {
  if (threads === undefined || boundMs === undefined) return undefined
  let done = false
  const settled = released.then(
    () => {
      done = true
    },
    () => {
      done = true
    },
  )
  while (!done) {
    const stuck = threads.stuck(boundMs)[0]
    if (stuck) return stuck
    await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, 250))])
  }
  return undefined
}
