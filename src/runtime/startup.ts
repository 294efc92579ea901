// Starting a role while what it needs is down (PostgreSQL restarting, a broker being replaced):
// rather than exit 1 at once and crash-loop under a supervisor, the role waits for it, saying so
// on each attempt, and gives up with a code only after `--startup-timeout`. Only retriable errors
// are waited on: a wrong URL, a bad password or a broken config still fail at once.
import { setTimeout as wait } from 'node:timers/promises'
import { formatDuration } from '../core/duration.ts'
import { type ErrorCode, InterruptedError, StrataError } from '../core/errors.ts'
import { isRetriable, type RetryPolicy, retryRetriable } from '../core/retry.ts'
import type { Logger } from './logger.ts'

export const defaultStartupTimeout = '2m'

export interface WaitOptions extends Partial<Omit<RetryPolicy, 'totalMs' | 'until'>> {
  /** The whole wait's bound (`--startup-timeout`), counted from `deadline - timeoutMs` when given. */
  timeoutMs: number
  /**
   * When the wait ends (epoch ms), shared by the waits of one start: every attempt, the backoff
   * between them and the attempt in flight end by it. Default: `timeoutMs` from this call. Before
   * session 18 the budget ran from the first failure and an attempt begun just before it had a
   * whole `timeoutMs` of its own, so a worker could wait about twice --startup-timeout, and each
   * step of its start (store, source check, archiver, speed layer) as long again.
   */
  deadline?: number
  logger: Logger
  /** Told each line the wait logs: a serving process's /health says it while starting (starting.ts). */
  onWait?: (line: string) => void
  /** The code of the error thrown past the timeout. */
  code: ErrorCode
  /**
   * Aborted (a SIGTERM while a worker waits: cli/shutdown.ts), the wait ends at once with
   * STRATA_ERR_INTERRUPTED instead of lasting to the timeout, past a supervisor's stop timeout.
   */
  signal?: AbortSignal
  /**
   * An attempt still in flight after `timeoutMs` is given up too (a step on Kafka, whose broker
   * may take the connection and never answer). Not a store's open: it migrates the store (only its first answer is bounded, store/postgres/first-answer.ts), which
   * may rightly take longer, and a migration cut short would be cut at every restart.
   */
  boundAttempts?: boolean
}

/**
 * Calls `start` until it succeeds; a retriable failure is logged and tried again until the
 * deadline. `start` is told the time left (ms), the bound of what it waits for itself (a
 * PostgreSQL's first answer).
 */
export async function waitFor<T>(
  what: string | ((error: StrataError) => string),
  start: (leftMs: number) => Promise<T>,
  options: WaitOptions,
): Promise<T> {
  const name = (error: StrataError) => (typeof what === 'string' ? what : what(error))
  const { timeoutMs, logger, onWait, code, signal, boundAttempts, deadline: given, ...timing } = options
  const now = timing.now ?? Date.now
  const deadline = given ?? now() + timeoutMs
  let attempts = 1
  let last: StrataError | undefined // the last retriable failure
  const interrupted = () =>
    new InterruptedError(
      typeof signal?.reason === 'string' ? signal.reason : 'SIGTERM',
      `stopped waiting for what the start needs (attempt ${attempts}): interrupted`,
    )
  // The wait between attempts ends with the signal; an attempt is not started after it.
  const sleep = (ms: number) =>
    wait(ms, undefined, signal ? { signal } : {}).then(
      () => undefined,
      () => {
        throw interrupted()
      },
    )
  // Not retried: the attempt that never answered had the whole timeout.
  // Past the deadline after retriable failures: the last of them is what is said ("gave up
  // waiting … (N attempts): cause", below), the attempt it cut short no more than the next try.
  const timedOut = () => {
    if (last) return last
    const error = new StrataError(code, 'no answer')
    return noAnswer(name(error), timeoutMs, code, `attempt ${attempts}`)
  }
  const attempt = () => {
    if (signal?.aborted) throw interrupted()
    const leftMs = deadline - now()
    if (leftMs <= 0) throw timedOut()
    const step = boundAttempts ? withinTimeout(start(leftMs), leftMs, timedOut) : start(leftMs)
    return signal ? untilAborted(step, signal, interrupted) : step
  }
  try {
    return await retryRetriable(
      attempt,
      { maxDelayMs: 5_000, sleep, ...timing, totalMs: timeoutMs, until: deadline },
      (retry) => {
        attempts = retry.attempt + 1
        last = retry.error
        const line = `waiting for ${name(retry.error)} (attempt ${retry.attempt}): ${retry.error.message}`
        logger.warn(line)
        onWait?.(line)
      },
    )
  } catch (error) {
    if (!isRetriable(error)) throw error
    throw new StrataError(
      code,
      `gave up waiting for ${name(error)} after ${Math.round(timeoutMs / 1000)} s (${attempts} attempts): ${error.message}`,
      { cause: error, retriable: true },
    )
  }
}

/**
 * The error of a start step on `what` (`Kafka at host:port`) that did not settle within the
 * startup timeout: a broker, or a proxy before it, that takes the connection and never answers.
 * Before session 16 `strata start --brokers` on one waited with no word until a signal (319 s).
 */
export function noAnswer(what: string, timeoutMs: number, code: ErrorCode, attempt?: string): StrataError {
  return new StrataError(
    code,
    `${what} did not answer within ${formatDuration(timeoutMs)}${attempt ? ` (${attempt})` : ''}: gave up starting (--startup-timeout)`,
  )
}

/**
 * A start step that has not settled after `timeoutMs` rejects with `timedOut()`; what it opens
 * late is closed. The timer holds the process meanwhile, as the step would.
 */
export function withinTimeout<T>(attempt: Promise<T>, timeoutMs: number, timedOut: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(timedOut())
      closeLate(attempt)
    }, timeoutMs)
    attempt.then(resolve, reject).finally(() => clearTimeout(timer))
  })
}

/** What an abandoned step opens after all is closed (its own failure is no one's to hear). */
function closeLate(attempt: Promise<unknown>): void {
  attempt.then((late) => (late as { close?: () => unknown } | undefined)?.close?.()).catch(() => undefined)
}

/**
 * The attempt in flight ends with the signal too: one that never settles (a PostgreSQL, or a
 * proxy before it, that takes the connection and never answers; the driver has no connect
 * timeout) otherwise held the worker past its SIGTERM until the supervisor's SIGKILL. What the
 * abandoned attempt opens after all is closed.
 */
export function untilAborted<T>(
  attempt: Promise<T>,
  signal: AbortSignal,
  interrupted: () => Error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      reject(interrupted())
      closeLate(attempt)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    attempt.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/** "PostgreSQL at host:port" for a postgres:// URL (no user, no password), else the store's path. */
export function describeStore(url: string | undefined): string {
  if (url === undefined || !/^postgres(ql)?:\/\//.test(url)) return 'the store'
  try {
    const parsed = new URL(url)
    return `PostgreSQL at ${parsed.hostname || 'localhost'}:${parsed.port || '5432'}`
  } catch {
    return 'PostgreSQL'
  }
}
