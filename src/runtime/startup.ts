// Starting a role while what it needs is down (PostgreSQL restarting, a broker being replaced):
// rather than exit 1 at once and crash-loop under a supervisor, the role waits for it, saying so
// on each attempt, and gives up with a code only after `--startup-timeout`. Only retriable errors
// are waited on: a wrong URL, a bad password or a broken config still fail at once.
import { setTimeout as wait } from 'node:timers/promises'
import { type ErrorCode, InterruptedError, StrataError } from '../core/errors.ts'
import { isRetriable, type RetryPolicy, retryRetriable } from '../core/retry.ts'
import type { Logger } from './logger.ts'

export const defaultStartupTimeout = '2m'

export interface WaitOptions extends Partial<Omit<RetryPolicy, 'totalMs'>> {
  timeoutMs: number
  logger: Logger
  /** The code of the error thrown past the timeout. */
  code: ErrorCode
  /**
   * Aborted (a SIGTERM while a worker waits: cli/shutdown.ts), the wait ends at once with
   * STRATA_ERR_INTERRUPTED instead of lasting to the timeout, past a supervisor's stop timeout.
   */
  signal?: AbortSignal
}

/** Calls `start` until it succeeds; a retriable failure is logged and tried again until the timeout. */
export async function waitFor<T>(
  what: string | ((error: StrataError) => string),
  start: () => Promise<T>,
  options: WaitOptions,
): Promise<T> {
  const name = (error: StrataError) => (typeof what === 'string' ? what : what(error))
  const { timeoutMs, logger, code, signal, ...timing } = options
  let attempts = 1
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
  const attempt = () => {
    if (signal?.aborted) throw interrupted()
    return signal ? untilAborted(start(), signal, interrupted) : start()
  }
  try {
    return await retryRetriable(
      attempt,
      { maxDelayMs: 5_000, sleep, ...timing, totalMs: timeoutMs },
      (retry) => {
        attempts = retry.attempt + 1
        logger.warn(`waiting for ${name(retry.error)} (attempt ${retry.attempt}): ${retry.error.message}`)
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
      attempt
        .then((late) => (late as { close?: () => unknown } | undefined)?.close?.())
        .catch(() => undefined)
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
