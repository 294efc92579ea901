// The inside of a role thread (role-thread.ts): one role — the speed layer or the archiver — run
// in a worker thread of the `strata start` process, so that its folding, parsing and store writes
// do not take turns with the HTTP server on the main event loop (decision 0013).
//
// The role is started by the same functions as in process (roles.ts), on a context built here
// (with an s3:// master dataset's settings, the credentials coming from the environment as in
// process: a worker thread starts with a copy of the process's):
// the config loaded again from its file (a config is code, it cannot be posted), the store opened
// again by its URL (LMDB: the same environment, which lmdb-js shares between the threads of a
// process; PostgreSQL: a pool of the thread's own). What the role logs, and a fatal error, go to
// the main thread as messages: it owns the logger and decides whether the process exits.
//
// Messages to the main thread: {type:'started'}, {type:'stats', stats}, {type:'log', …},
// {type:'fatal', error}, {type:'failed', error} (start failed), {type:'closed'}.
// From it: {type:'close'}.
import { parentPort, workerData } from 'node:worker_threads'
import { loadConfig } from '../core/config-loader.ts'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { lowerThreadPriority } from '../core/thread-priority.ts'
import type { SpeedWorker } from '../speed/index.ts'
import { openLmdbStore } from '../store/lmdb-store.ts'
import type { Store } from '../store/store.ts'
import { BurstGate } from './ingest-burst.ts'
import type { LogFields, Logger } from './logger.ts'
import { lmdbPathOf, openStore } from './open-store.ts'
import type { RoleThreadSetup, SerializedError, ThreadMessage } from './role-thread.ts'
import { type Closable, type RoleContext, startArchiverRole, startSpeedRole } from './roles.ts'
import { IDLE_STATS_EVERY_MS, StatsCadence } from './stats-cadence.ts'

const setup = workerData as RoleThreadSetup
const port = parentPort!
const post = (message: ThreadMessage) => port.postMessage(message)

function serialize(error: unknown): SerializedError {
  const e = error as Partial<StrataError>
  return {
    message: String(e?.message ?? error),
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    ...(typeof e?.retriable === 'boolean' ? { retriable: e.retriable } : {}),
  }
}

/** A Logger whose lines are written by the main thread's logger. */
function forwardingLogger(role: string): Logger {
  const send =
    (level: 'info' | 'warn' | 'debug') =>
    (message: string, fields?: LogFields): void =>
      post({ type: 'log', level, message, fields })
  const logger: Logger = {
    info: send('info'),
    warn: send('warn'),
    debug: send('debug'),
    error: (message, error, fields) =>
      post({
        type: 'log',
        level: 'error',
        message,
        fields,
        ...(error === undefined ? {} : { error: serialize(error) }),
      }),
    child: (child) => forwardingLogger(`${role}:${child}`),
    // pino is left out: nothing in the speed layer or the archiver logs through it directly.
  }
  return logger
}

let store: Store | undefined
let role: Closable | undefined
let cadence: StatsCadence | undefined

async function start(): Promise<void> {
  if (setup.nice !== undefined) lowerThreadPriority(setup.nice)
  const config = await loadConfig(setup.configPath)
  const fatal = (error: StrataError) => post({ type: 'fatal', error: serialize(error) })
  // While POST /events bursts in this process, the role's batches wait (ingest-burst.ts).
  const gate = setup.burst ? new BurstGate(setup.burst) : undefined
  if (setup.role === 'speed') {
    // The main thread opened (and walked) the store already; here only the thread's own handle.
    const lmdbPath = lmdbPathOf(setup.storeUrl, '.')
    store =
      lmdbPath !== undefined
        ? await openLmdbStore(lmdbPath, {
            onCorrupt: (error) => fatal(asStrataError(error)),
            ...(gate ? { compactor: { held: () => gate.holding() } } : {}),
          })
        : await openStore(setup.storeUrl)
  }
  const context: RoleContext = {
    config,
    configPath: setup.configPath,
    masterRoot: setup.masterRoot,
    store: store as Store, // the archiver uses no store
    logger: forwardingLogger(setup.role),
    brokers: setup.brokers,
    ...(setup.groupId ? { groupId: setup.groupId } : {}),
    ...(setup.groupTimers ? { groupTimers: setup.groupTimers } : {}),
    ...(setup.hangTimeoutMs !== undefined ? { hangTimeoutMs: setup.hangTimeoutMs } : {}),
    ...(setup.s3 ? { s3: setup.s3 } : {}),
    // Asked before each batch: the batch is the role's activity, which keeps its stats reported
    // every statsEveryMs (stats-cadence.ts); while POST /events bursts, the batch waits (gate).
    hold: () => {
      cadence?.activity()
      return gate?.wait()
    },
    onFatal: fatal,
  }
  let report: () => void
  if (setup.role === 'speed') {
    const worker: SpeedWorker = await startSpeedRole(context)
    role = worker
    report = () => post({ type: 'stats', stats: worker.stats() })
  } else {
    const archiver = await startArchiverRole(context, setup.segmentAgeMs)
    role = archiver
    report = () => {
      const { lastError, ...stats } = archiver.stats()
      post({ type: 'stats', stats: lastError ? { ...stats, lastError: serialize(lastError) } : stats })
    }
  }
  cadence = new StatsCadence(report, setup.statsEveryMs, setup.idleStatsEveryMs ?? IDLE_STATS_EVERY_MS)
  cadence.start()
}

function asStrataError(error: Error): StrataError {
  return error instanceof StrataError
    ? error
    : new StrataError(ErrorCodes.STORE_CORRUPT, error.message, { cause: error })
}

async function close(): Promise<void> {
  cadence?.stop()
  await role?.close()
  await store?.close()
}

port.on('message', (message: { type: 'close' }) => {
  if (message.type !== 'close') return
  close().then(
    () => {
      post({ type: 'closed' })
      port.close()
    },
    (error) => {
      post({ type: 'closed', error: serialize(error) })
      port.close()
    },
  )
})

start().then(
  () => post({ type: 'started' }),
  async (error) => {
    await close().catch(() => undefined)
    post({ type: 'failed', error: serialize(error) })
  },
)
