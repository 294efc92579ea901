// The batch layer on a schedule (`strata start`, `strata worker batch`): one run at a time, the
// next starting an interval after the previous one ended, so a slow run never piles up behind
// itself. A failed run is logged and retried at the next tick; the served versions stay.
import { type BatchRunOptions, type BatchRunResult, runBatch } from './batch-run.ts'

export interface BatchScheduleOptions extends Omit<BatchRunOptions, 'onStart' | 'onProgress'> {
  intervalMs: number
  /** Delay before the first run (default: intervalMs). */
  firstRunMs?: number
  onRun?: (result: BatchRunResult) => void
  onError?: (error: unknown) => void
}

export interface BatchSchedule {
  /** Runs a batch now (waiting for a run in progress first). */
  runNow(): Promise<BatchRunResult>
  readonly lastRun: BatchRunResult | undefined
  readonly running: boolean
  /** Runs that failed in a row (0 after a run that completed), and the last one's error. */
  readonly failures: number
  readonly lastError: unknown
  close(): Promise<void>
}

export function startBatchSchedule(options: BatchScheduleOptions): BatchSchedule {
  let timer: NodeJS.Timeout | undefined
  let current: Promise<BatchRunResult> | undefined
  let lastRun: BatchRunResult | undefined
  let failures = 0
  let lastError: unknown
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
      failures = 0
      lastError = undefined
      options.onRun?.(lastRun)
      return lastRun
    } catch (error) {
      failures++
      lastError = error
      throw error
    } finally {
      current = undefined
    }
  }

  const tick = (delay: number) => {
    if (closed) return
    timer = setTimeout(() => {
      run()
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
    async close() {
      closed = true
      clearTimeout(timer)
      stopping.abort()
      await current?.catch(() => undefined)
    },
  }
}
