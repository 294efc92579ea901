// Starting a role while what it needs is down (PostgreSQL restarting, a broker being replaced):
// rather than exit 1 at once and crash-loop under a supervisor, the role waits for it, saying so
// on each attempt, and gives up with a code only after `--startup-timeout`. Only retriable errors
// are waited on: a wrong URL, a bad password or a broken config still fail at once.
import { type ErrorCode, StrataError } from '../core/errors.ts'
import { isRetriable, type RetryPolicy, retryRetriable } from '../core/retry.ts'
import type { Logger } from './logger.ts'

export const defaultStartupTimeout = '2m'

export interface WaitOptions extends Partial<Omit<RetryPolicy, 'totalMs'>> {
  timeoutMs: number
  logger: Logger
  /** The code of the error thrown past the timeout. */
  code: ErrorCode
}

/** Calls `start` until it succeeds; a retriable failure is logged and tried again until the timeout. */
export async function waitFor<T>(
  what: string | ((error: StrataError) => string),
  start: () => Promise<T>,
  options: WaitOptions,
): Promise<T> {
  const name = (error: StrataError) => (typeof what === 'string' ? what : what(error))
  const { timeoutMs, logger, code, ...timing } = options
  let attempts = 1
  try {
    return await retryRetriable(start, { maxDelayMs: 5_000, ...timing, totalMs: timeoutMs }, (retry) => {
      attempts = retry.attempt + 1
      logger.warn(`waiting for ${name(retry.error)} (attempt ${retry.attempt}): ${retry.error.message}`)
    })
  } catch (error) {
    if (!isRetriable(error)) throw error
    throw new StrataError(
      code,
      `gave up waiting for ${name(error)} after ${Math.round(timeoutMs / 1000)} s (${attempts} attempts): ${error.message}`,
      { cause: error, retriable: true },
    )
  }
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
