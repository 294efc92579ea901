// How a failed command ends: one line on stderr, `strata: <message> [STRATA_ERR_…]`, whatever
// failed. Our errors carry their code; an error of Node or a library is given the code of what it
// means (a port in use, a server that does not answer) or STRATA_ERR_INTERNAL. The stack follows
// only when asked for (--verbose, or STRATA_LOG_LEVEL=debug): a user reads the line, a developer
// the stack. Both are scrubbed of secrets, as a driver's message may quote a connection string.
import { constants } from 'node:os'
import { inspect } from 'node:util'
import { type ErrorCode, ErrorCodes, InterruptedError, isStrataError } from '../core/errors.ts'
import { scrubSecrets } from '../core/secrets.ts'
import { flushLogs } from '../runtime/logger.ts'

// Node's system error codes, by what they mean to someone running a command.
const unreachable = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  'EAI_AGAIN',
])

/** The one line a failed command prints (without its newline). */
export function failureLine(error: unknown): string {
  if (isStrataError(error)) return scrubSecrets(`strata: ${error.message} [${error.code}]`)
  const { code, message } = classify(error)
  return scrubSecrets(`strata: ${message} [${code}]`)
}

/** The line, and the stack below it when `withStack`. */
export function failureReport(error: unknown, withStack: boolean): string {
  const line = failureLine(error)
  return withStack ? `${line}\n${scrubSecrets(inspect(error))}` : line
}

/** The exit code of a failed command: 1, or 128 + the signal that interrupted it (130, 143). */
export function exitCodeOf(error: unknown): number {
  if (!(error instanceof InterruptedError)) return 1
  const number = constants.signals[error.signal as keyof typeof constants.signals]
  return number === undefined ? 1 : 128 + number
}

/**
 * How a failed command ends (main.ts): the log lines gathered before it, then its one line (and
 * the stack when `withStack`) on stderr, then the exit. At once: a command that failed half-way
 * may leave handles open (a Kafka consumer that joined some brokers but not the group, a store
 * pool, a start step abandoned past its timeout). A `strata worker` that failed to start then
 * lingered for minutes doing nothing, alive to its supervisor, so never restarted. A command a
 * signal interrupted exits as the shell would report it (130 for SIGINT).
 */
export function exitFailed(error: unknown, withStack: boolean): never {
  flushLogs()
  console.error(failureReport(error, withStack))
  process.exit(exitCodeOf(error))
}

function classify(error: unknown): { code: ErrorCode; message: string } {
  // fetch() fails with "fetch failed" and the reason in its cause: name both.
  const chain: Array<{ message?: unknown; code?: unknown }> = []
  for (let e: unknown = error; e && chain.length < 5; e = (e as { cause?: unknown }).cause) {
    chain.push(e as { message?: unknown; code?: unknown })
  }
  const message = chain
    .map((e) => (typeof e.message === 'string' && e.message ? e.message : String(e)))
    .filter((m, i, all) => all.indexOf(m) === i)
    .join(': ')
  const codes = chain.map((e) => e.code).filter((c): c is string => typeof c === 'string')
  if (codes.includes('EADDRINUSE')) return { code: ErrorCodes.PORT_IN_USE, message }
  if (codes.some((c) => unreachable.has(c))) return { code: ErrorCodes.UNREACHABLE, message }
  return { code: ErrorCodes.INTERNAL, message }
}
