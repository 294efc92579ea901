// Riding out a short outage (a PostgreSQL restart, a broker election): a call that failed with a
// retriable error is made again, with exponential backoff, until it succeeds, fails with an error
// that is not retriable, or a total time budget is spent. Programmer errors and bad input are
// never retried (kafkajs's retrier is the model): only errors that say `retriable`.
import { isStrataError, type StrataError } from './errors.ts'

export interface RetryPolicy {
  /** Longest total time to keep trying, from the first failure (ms). */
  totalMs: number
  /**
   * When the budget ends, on `now`'s clock, instead of `totalMs` after the first failure: a wait
   * whose whole length is bounded (runtime/startup.ts), however long its first attempt took.
   */
  until?: number
  /** First wait; each next one doubles, up to maxDelayMs. */
  initialDelayMs?: number
  maxDelayMs?: number
  /** Injected by tests: the clock and the wait. */
  now?: () => number
  sleep?: (ms: number) => Promise<void>
}

export interface RetryAttempt {
  /** 1 for the first retry. */
  attempt: number
  /** What the failed call threw (retriable). */
  error: StrataError
  /** How long until the next attempt (ms). */
  delayMs: number
}

/** True for a StrataError that says the same call may succeed later. */
export function isRetriable(error: unknown): error is StrataError {
  return isStrataError(error) && error.retriable
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Calls `fn` until it resolves. A retriable failure waits and tries again while the budget lasts
 * (`onRetry` is told once per retry); anything else, or a retriable failure past the budget, is
 * thrown as it came.
 */
export async function retryRetriable<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  onRetry?: (retry: RetryAttempt) => void,
): Promise<T> {
  const now = policy.now ?? Date.now
  const wait = policy.sleep ?? sleep
  const initial = policy.initialDelayMs ?? 100
  const max = policy.maxDelayMs ?? 5_000
  let started: number | undefined
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt)
    } catch (error) {
      if (!isRetriable(error)) throw error
      started ??= now()
      const left = (policy.until ?? started + policy.totalMs) - now()
      if (left <= 0) throw error
      const delayMs = Math.min(left, max, initial * 2 ** Math.min(attempt, 16))
      onRetry?.({ attempt: attempt + 1, error, delayMs })
      await wait(delayMs)
    }
  }
}
