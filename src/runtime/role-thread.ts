// A role of `strata start` in a worker thread of its own (decision 0013): the speed layer and the
// archiver each parse, fold or write every event, and on the main event loop they took turns
// with the HTTP server — query p99 and ingest paid for it (BENCHMARKS.md, Query and Ingest). In a
// thread they run beside it, on the machine's other core. Kafka mode only: in the embedded
// default the speed layer reads the embedded log, an object of the main thread.
//
// The thread (role-thread-main.ts) starts the role with the same code as in process (roles.ts).
// What crosses: the setup below (paths, URL, brokers, group, an s3:// master dataset's settings:
// data, not objects; its credentials come from the environment, which the thread inherits); the
// role's stats, posted every `statsEveryMs` while the role handles batches and every
// `idleStatsEveryMs` (1 s) once it has had none for that long (stats-cadence.ts), so stats() stays
// synchronous for /health, /metrics and the dashboard, at most that old (the archiver's last error
// as code and message); log lines,
// written by the main thread's logger; a fatal error, handled as in process (context.onFatal,
// else exit 1). A thread that dies unasked is fatal too: its partitions would stop without anyone
// saying so; until the process exits, failure() names it and /health says failed.
//
// The exactness argument is untouched: the role commits state and offset in one store
// transaction as before (the speed layer), or writes each segment whole before it commits the
// group offset (the archiver, docs/master-dataset.md); the store is opened in the thread by its
// URL (LMDB shares one environment between the threads of a process, and its one writer lock
// between them). close() asks the role to close in the thread as in process — the archiver
// writes its open segments whole before it leaves the group — and waits for it before the thread
// is terminated.

import { Worker } from 'node:worker_threads'
import { type ArchiverStats, freshArchiverStats } from '../archive/index.ts'
import { threadEnv } from '../core/compile-cache.ts'
import { type ErrorCode, ErrorCodes, StrataError } from '../core/errors.ts'
import type { S3Settings } from '../master-dataset/index.ts'
import type { SpeedWorkerStats } from '../speed/index.ts'
import type { LogFields } from './logger.ts'
import { CLOSE_TIMEOUT_MS } from './role.ts'
import type { Closable, RoleContext } from './roles.ts'
import type { GroupTimers } from './strata-options.ts'

export interface RoleThreadSetup {
  role: 'speed' | 'archiver'
  configPath: string
  masterRoot: string
  brokers: string
  groupId?: string
  /** The group membership's session timeout and heartbeat (`--session-timeout`). */
  groupTimers?: GroupTimers
  /** The store's URL (an LMDB folder or postgres://…): the thread opens its own handle. */
  storeUrl: string
  /** The archiver's segment age. */
  segmentAgeMs: number
  /** How the archiver reaches an s3:// master dataset (endpoint, path style, region). */
  s3?: S3Settings
  statsEveryMs: number
  /** The stats interval once the role has had no batch for this long (stats-cadence.ts); default 1 s. */
  idleStatsEveryMs?: number
  /** The thread's nice value (thread-priority.ts): lower than the HTTP server's main thread. */
  nice?: number
  /** How long close() waits for the role to close in the thread before terminating it (default hangTimeoutMs). */
  closeTimeoutMs?: number
  /** `--hang-timeout` (roles.ts RoleContext.hangTimeoutMs); default CLOSE_TIMEOUT_MS, 60 s. */
  hangTimeoutMs?: number
  /**
   * The process's ingest-burst word (ingest-burst.ts): the role holds its batches, and the speed
   * layer its compactor, while POST /events bursts. Unset: never held.
   */
  burst?: SharedArrayBuffer
}

export { CLOSE_TIMEOUT_MS } from './role.ts'

/** ArchiverStats as posted: a StrataError loses its code in a structured clone, so its data. */
export type PostedArchiverStats = Omit<ArchiverStats, 'lastError'> & { lastError?: SerializedError }

export interface SerializedError {
  message: string
  code?: string
  retriable?: boolean
}

export type ThreadMessage =
  | { type: 'started' }
  | { type: 'failed'; error: SerializedError }
  | { type: 'stats'; stats: SpeedWorkerStats | PostedArchiverStats }
  | {
      type: 'log'
      level: 'info' | 'warn' | 'debug' | 'error'
      message: string
      fields?: LogFields
      error?: SerializedError
    }
  | { type: 'fatal'; error: SerializedError }
  | { type: 'closed'; error?: SerializedError }

// role-thread-main.ts when run from the sources, .js from the built package (batch/worker-pool.ts
// does the same): a URL is not an import, so the build does not rewrite its extension.
const threadFile = new URL(
  import.meta.url.endsWith('.ts') ? './role-thread-main.ts' : './role-thread-main.js',
  import.meta.url,
)

function revive(error: SerializedError): Error {
  return error.code?.startsWith('STRATA_ERR_')
    ? new StrataError(error.code as ErrorCode, error.message, { retriable: error.retriable })
    : new Error(error.message)
}

export interface RoleThread<Stats> extends Closable {
  /** The role's stats as last posted by the thread. */
  stats(): Stats
  /** Why the thread ended unasked (fatal: the process is exiting, or context.onFatal was told). */
  failure(): StrataError | undefined
}

function reviveArchiverStats(posted: PostedArchiverStats): ArchiverStats {
  const { lastError, ...rest } = posted
  return { ...rest, lastError: lastError && (revive(lastError) as StrataError) }
}

/**
 * Starts `setup.role` in a worker thread; resolves once the role has started there (rejects with
 * its error if it could not), as startSpeedRole and startArchiverRole do in process.
 */
export function startRoleThread(
  context: Pick<RoleContext, 'logger' | 'onFatal'>,
  setup: RoleThreadSetup & { role: 'speed' },
): Promise<RoleThread<SpeedWorkerStats>>
export function startRoleThread(
  context: Pick<RoleContext, 'logger' | 'onFatal'>,
  setup: RoleThreadSetup & { role: 'archiver' },
): Promise<RoleThread<ArchiverStats>>
export async function startRoleThread(
  context: Pick<RoleContext, 'logger' | 'onFatal'>,
  setup: RoleThreadSetup,
): Promise<RoleThread<SpeedWorkerStats | ArchiverStats>> {
  const { logger } = context
  // The name is the thread's on Linux too (/proc/<pid>/task/<tid>/comm, ≤ 15 characters).
  const worker = new Worker(threadFile, { workerData: setup, name: `strata ${setup.role}`, env: threadEnv() })
  let stats: SpeedWorkerStats | ArchiverStats =
    setup.role === 'speed' ? { mode: 'kafka', partitions: [] } : freshArchiverStats()
  let failure: StrataError | undefined
  let closing = false
  let closed: (error?: SerializedError) => void = () => undefined
  const whenClosed = new Promise<SerializedError | undefined>((resolve) => {
    closed = resolve
  })
  const fatal = (error: Error) => {
    if (context.onFatal) context.onFatal(error as StrataError)
    else process.exit(1)
  }
  const started = new Promise<void>((resolve, reject) => {
    worker.on('message', (message: ThreadMessage) => {
      switch (message.type) {
        case 'started':
          return resolve()
        case 'failed':
          return reject(revive(message.error))
        case 'stats':
          stats =
            setup.role === 'speed'
              ? (message.stats as SpeedWorkerStats)
              : reviveArchiverStats(message.stats as PostedArchiverStats)
          return
        case 'log':
          if (message.level === 'error')
            logger.error(message.message, message.error && revive(message.error), message.fields)
          else logger[message.level](message.message, message.fields)
          return
        case 'fatal':
          // The thread logged why; what follows is the process's call, as in process.
          return fatal(revive(message.error))
        case 'closed':
          return closed(message.error)
      }
    })
    worker.on('error', (error) => {
      if (closing || failure) return
      failure = new StrataError(ErrorCodes.INTERNAL, `${setup.role} thread failed: ${error.message}`, {
        cause: error,
      })
      logger.error(`${setup.role} thread failed; exiting`, error)
      reject(error)
      fatal(failure)
    })
    worker.on('exit', (code) => {
      closed()
      if (closing || failure) return
      failure = new StrataError(ErrorCodes.INTERNAL, `${setup.role} thread ended (code ${code})`)
      reject(failure)
      logger.error(`${setup.role} thread ended by itself; exiting`, failure)
      fatal(failure)
    })
  })
  try {
    await started
  } catch (error) {
    closing = true
    await worker.terminate()
    throw error
  }
  return {
    stats: () => stats,
    failure: () => failure,
    async close() {
      if (closing) return
      closing = true
      worker.postMessage({ type: 'close' })
      const waitMs = setup.closeTimeoutMs ?? setup.hangTimeoutMs ?? CLOSE_TIMEOUT_MS
      let timer: NodeJS.Timeout | undefined
      const error = await Promise.race([
        whenClosed,
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), waitMs)
        }),
      ])
      clearTimeout(timer)
      await worker.terminate()
      if (error === 'timeout') {
        const stuck = new StrataError(
          ErrorCodes.SHUTTING_DOWN,
          `the ${setup.role} thread did not close within ${Math.round(waitMs / 1000)} s${setup.role === 'speed' ? " (a view's code that never returns, or a store that does not answer, holds the speed layer)" : ''}: terminated; what it had not committed is taken again by the next owner`,
        )
        logger.error(`${setup.role} thread stuck at close`, stuck)
        throw stuck
      }
      if (error) throw revive(error)
    },
  }
}
