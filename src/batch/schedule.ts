// The batch layer on a schedule (`strata start`, `strata worker batch`): one run at a time, the
// next starting an interval after the previous one ended, so a slow run never piles up behind
// itself. A failed run is logged and retried at the next tick; the served versions stay.
import { ErrorCodes, StrataError } from '../core/errors.ts'
import type { Hold } from '../core/held-batches.ts'
import { type BatchRunOptions, type BatchRunResult, runBatch } from './batch-run.ts'
import { endSilentFoldTasks, type SilentFoldTask, silentFoldTasks } from './worker-pool.ts'

export interface BatchScheduleOptions extends Omit<BatchRunOptions, 'onStart' | 'onProgress'> {
  intervalMs: number
  /** Delay before the first run (default: intervalMs). */
  firstRunMs?: number
  onRun?: (result: BatchRunResult) => void
  onError?: (error: unknown) => void
  /**
   * How long close() waits for a run whose fold thread has said nothing (worker-pool.ts,
   * silentFoldTasks: a view's code that never returns) before it ends that thread and rejects
   * with STRATA_ERR_SHUTTING_DOWN. Unset: close() waits for the run however long it takes.
   */
  closeTimeoutMs?: number
  /**
   * Asked when a run is due (core/held-batches.ts): `strata start` holds its batch run's start
   * while POST /events bursts (runtime/ingest-burst.ts). Unset: never held.
   */
  hold?: Hold
}

export interface BatchSchedule {
  /** Runs a batch now (waiting for a run in progress first). */
  runNow(): Promise<BatchRunResult>
  readonly lastRun: BatchRunResult | undefined
  readonly running: boolean
  /** Runs that failed in a row (0 after a run that completed), and the last one's error. */
  readonly failures: number
  readonly lastError: unknown
  /** When (epoch ms) the last run completed, the last one failed, and the next is due (none while one runs). */
  readonly lastRunAt: number | undefined
  readonly lastFailedAt: number | undefined
  readonly nextRunAt: number | undefined
  /** While a run is in progress: its fold threads silent for `afterMs` or more (worker-pool.ts). */
  silent(afterMs: number): SilentFoldTask[]
  close(): Promise<void>
}

export function startBatchSchedule(options: BatchScheduleOptions): BatchSchedule {
  let timer: NodeJS.Timeout | undefined
  let current: Promise<BatchRunResult> | undefined
  let lastRun: BatchRunResult | undefined
  let failures = 0
  let lastError: unknown
  let lastRunAt: number | undefined
  let lastFailedAt: number | undefined
  let nextRunAt: number | undefined
  let closed = false
  // close() ends a Spark run in progress (its driver killed, the run failed, nothing staged)
  // instead of waiting for a job that may take long; a local run is waited for.
  const stopping = new AbortController()
  const runOptions: BatchRunOptions = options.spark
    ? { ...options, spark: { ...options.spark, signal: stopping.signal } }
    : options

  const run = async (): Promise<BatchRunResult> => {
    while (current) await current.catch(() => undefined)
    const started = runBatch(runOptions)
    current = started
    try {
      lastRun = await started
      lastRunAt = Date.now()
      failures = 0
      lastError = undefined
      options.onRun?.(lastRun)
      return lastRun
    } catch (error) {
      failures++
      lastError = error
      lastFailedAt = Date.now()
      throw error
    } finally {
      current = undefined
    }
  }

  const tick = (delay: number) => {
    if (closed) return
    nextRunAt = Date.now() + delay
    timer = setTimeout(() => {
      nextRunAt = undefined
      ;(options.hold?.() ?? Promise.resolve())
        .then(() => (closed ? undefined : run()))
        .catch((error) => options.onError?.(error))
        .finally(() => tick(options.intervalMs))
    }, delay)
    timer.unref()
  }
  tick(options.firstRunMs ?? options.intervalMs)

  return {
    runNow: run,
    get lastRun() {
      return lastRun
    },
    get running() {
      return current !== undefined
    },
    get failures() {
      return failures
    },
    get lastError() {
      return lastError
    },
    get lastRunAt() {
      return lastRunAt
    },
    get lastFailedAt() {
      return lastFailedAt
    },
    get nextRunAt() {
      return nextRunAt
    },
    silent: (afterMs) => (current === undefined ? [] : silentFoldTasks(afterMs)),
    async close() {
      closed = true
      clearTimeout(timer)
      stopping.abort()
      const run = current
      if (run === undefined) return
      const bound = options.closeTimeoutMs
      if (bound === undefined) {
        await run.catch(() => undefined)
        return
      }
      let done = false
      const settled = run.then(
        () => {
          done = true
        },
        () => {
          done = true
        },
      )
      while (!done) {
        const silent = silentFoldTasks(bound)[0]
        if (silent) {
          await endSilentFoldTasks(bound)
          await settled
          throw new StrataError(
            ErrorCodes.SHUTTING_DOWN,
            `the batch run's thread folding partition ${silent.partition} said nothing for ${Math.round(silent.forMs / 1000)} s (a view's code that never returns?): ended; the run failed, the served versions stay`,
          )
        }
        await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, 250))])
      }
    },
  }
}
