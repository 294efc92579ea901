// The logs of every role, on pino (docs/decisions/0008-logging-on-pino.md): one JSON object a line
// when stderr is not a terminal (CI, a supervisor, a container), readable lines when it is; the
// date and time in every line; levels (STRATA_LOG_LEVEL, --log-level); and the same pino instance
// given to Fastify for one line per request (serving/server.ts).
//
// Secrets never reach a line (docs/security.md): pino's own redaction drops the fields that hold
// them (an Authorization header, a cookie, a password), and every line is still scrubbed on its
// way out (core/secrets.ts), as free text (an error quoting a URL) has no path to redact.
//
// Lines are written synchronously, in this thread: a role that logs why it stops and then calls
// process.exit must not lose that line (pino's worker-thread transports can). Info and debug
// lines (the request log's one line per answer, above all) are gathered for up to 25 ms and
// written together, so a server answering thousands of requests a second makes a few dozen
// write(2) a second, not one per request (decision 0013: it was ~10% of a query's CPU; gathered
// per event-loop turn it was still one write per query at 2,000 queries a second, each in a turn
// of its own); any warning or error writes what is gathered and itself at once, in order, and so
// does the process's exit.
import pino, { type Logger as Pino } from 'pino'
import { prettyFactory } from 'pino-pretty'
import { isStrataError } from '../core/errors.ts'
import { scrubSecrets } from '../core/secrets.ts'

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof logLevels)[number]

/** Structured fields added to a line (a partition, a count); never a secret. */
export type LogFields = Record<string, unknown>

export interface Logger {
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  /** The error's message and code are appended to the message (and its stack kept at debug). */
  error(message: string, error?: unknown, fields?: LogFields): void
  debug(message: string, fields?: LogFields): void
  child(role: string): Logger
  /** The pino instance underneath, for Fastify's request log (none: no request log). */
  readonly pino?: Pino
}

export interface LoggerOptions {
  /** Default: the level the command line set (configureLogs), else info. */
  level?: LogLevel
  /** Readable lines instead of JSON; default: when the output is a terminal. */
  pretty?: boolean
}

// What the command line decided once, at the edge (cli/settings.ts resolveLogLevel).
let processLevel: LogLevel = 'info'

/** The level of every logger created after this call without one of its own. */
export function configureLogs(options: { level: LogLevel }): void {
  processLevel = options.level
}

/** The level loggers are created with by default. */
export function configuredLogLevel(): LogLevel {
  return processLevel
}

// Fields that may hold a secret, wherever a caller or Fastify puts them.
const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  'password',
  'token',
  '*.password',
  '*.token',
]

/**
 * A logger for one role. `write` receives each line (without its newline) instead of stderr, as
 * JSON unless options.pretty: for tests and for embedding Strata behind another sink.
 */
// pino's isoTime, made once per millisecond: at thousands of access lines a second most lines
// share their millisecond with the one before, and a Date and its ISO string were ~3 µs a line.
let isoMs = Number.NaN
let isoField = ''
function isoTime(): string {
  const now = Date.now()
  if (now !== isoMs) {
    isoMs = now
    isoField = `,"time":"${new Date(now).toISOString()}"`
  }
  return isoField
}

export function createLogger(
  role = 'strata',
  write?: (line: string) => void,
  options: LoggerOptions = {},
): Logger {
  const readable = options.pretty ?? (write === undefined && process.stderr.isTTY === true)
  const level = options.level ?? processLevel
  // pino-pretty's formatter, called in this thread on each line: nothing is queued.
  const prettify = readable
    ? prettyFactory({
        colorize: write === undefined && process.stderr.hasColors?.() === true,
        translateTime: "UTC:yyyy-mm-dd'T'HH:MM:ss.l'Z'",
        // The error is in the message already; its fields and stack are shown when debugging.
        ignore: `pid,hostname,role,reqId${isDebug(level) ? '' : ',err'}`,
        messageFormat: '[{role}] {msg}',
        errorLikeObjectKeys: [],
      })
    : undefined
  const out: (line: string, urgent: boolean) => void = write
    ? (line) => write(line.replace(/\n$/, ''))
    : gathered(pino.destination({ fd: 2, sync: true }))
  const root = pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: redactPaths, censor: '***' },
      // JSON: an ISO date and time and the level's name, for readers without pino's tables.
      // Readable: epoch ms and numbers, which pino-pretty formats itself.
      timestamp: readable ? pino.stdTimeFunctions.epochTime : isoTime,
      formatters: readable ? {} : { level: (label) => ({ level: label }) },
      // Fastify's errors too: code and message, scrubbed; the stack only when debugging.
      serializers: { err: (error: unknown) => errorFields(error, root.isLevelEnabled('debug')) },
    },
    {
      write: (line: string) =>
        out(prettify ? prettify(scrubSecrets(line)) : scrubSecrets(line), !routine(line)),
    },
  )
  return wrap(root, role)
}

// pino writes the level first: `{"level":"info",…` (JSON lines) or `{"level":30,…` (before
// pino-pretty formats it). Info (30) and debug (20) and trace (10) may wait for the end of the turn.
const ROUTINE = /^\{"level":(?:"(?:info|debug|trace)"|[123]0,)/

export function routine(line: string): boolean {
  return ROUTINE.test(line)
}

const flushAtExit = new Set<() => void>()

/**
 * Writes every logger's gathered lines now: for a line written to stderr past the loggers (a
 * fatal error's last line), so that it stays last.
 */
export function flushLogs(): void {
  for (const f of flushAtExit) f()
}

/**
 * Writes routine lines gathered, at most `windowMs` after the first of them (a timer that keeps
 * no process alive), or at 64 KiB, and urgent ones (warn and above) at once after what was
 * gathered before them; what is gathered at exit is written then (process 'exit' runs
 * synchronously, also on process.exit()).
 */
export function gathered(
  destination: { write(text: string): unknown },
  windowMs = 25,
): (line: string, urgent: boolean) => void {
  let pending = ''
  let scheduled: NodeJS.Timeout | undefined
  const flush = () => {
    if (scheduled !== undefined) clearTimeout(scheduled)
    scheduled = undefined
    if (pending === '') return
    const text = pending
    pending = ''
    destination.write(text)
  }
  if (flushAtExit.size === 0) process.once('exit', flushLogs)
  flushAtExit.add(flush)
  return (line, urgent) => {
    pending += line
    if (urgent || pending.length >= 64 * 1024) flush()
    else if (scheduled === undefined) scheduled = setTimeout(flush, windowMs).unref()
  }
}

// Roles are bound on children of one root, so a child's role replaces its parent's (pino would
// repeat the key).
function wrap(root: Pino, role: string): Logger {
  const instance = root.child({ role })
  return {
    info: (message, fields) => instance.info(fields ?? {}, scrubSecrets(message)),
    warn: (message, fields) => instance.warn(fields ?? {}, scrubSecrets(message)),
    debug: (message, fields) => instance.debug(fields ?? {}, scrubSecrets(message)),
    error: (message, error, fields) => {
      const detail = error === undefined ? '' : `: ${describeError(error)}`
      instance.error(
        { ...fields, ...(error === undefined ? {} : { err: error }) },
        scrubSecrets(message + detail),
      )
    },
    child: (child) => wrap(root, `${role}:${child}`),
    pino: instance,
  }
}

/** An error in one line: its message, and its code when it is one of ours. */
export function describeError(error: unknown): string {
  if (isStrataError(error)) return `${error.message} [${error.code}]`
  return String((error as Error)?.message ?? error)
}

const isDebug = (level: LogLevel) => level === 'debug' || level === 'trace'

function errorFields(error: unknown, withStack: boolean): LogFields {
  const e = error as Partial<Error> & { code?: unknown; retriable?: unknown }
  return {
    type: e?.name ?? typeof error,
    message: scrubSecrets(String(e?.message ?? error)),
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    ...(isStrataError(error) ? { retriable: error.retriable } : {}),
    // The stack only when asked for (debug): at info a failure is one line with its code.
    ...(withStack && typeof e?.stack === 'string' ? { stack: scrubSecrets(e.stack) } : {}),
  }
}
