// Strata from code: the whole pipeline or one role, started and stopped by a program, and by the
// CLI: `strata start` and `strata worker <role>` resolve their flags and environment
// (cli/settings.ts) and call startStrata, so there is one path from options to running roles.
//
//   const strata = await startStrata({ config: 'strata.config.ts', port: 0 })
//   await fetch(`${strata.url}/events`, { method: 'POST', … })
//   await strata.close()
//
// In order: the role checked against the options, the config loaded, the folders this process
// writes locked (one writer per folder, data-lock.ts: a second instance on one data folder is
// refused with STRATA_ERR_DATA_LOCKED), the store opened (unless it is waited for: then after the
// port), then the roles' composition (pipeline.ts: the port, the source, the roles). close()
// undoes it all; the caller handles signals.
//
// As under the CLI, a role that cannot go on by itself ends the process with code 1 (a damaged
// store, a speed layer past its store retry budget, a source that vanished): a supervisor, not
// the program, restarts it (docs/reliability.md).
import { join, resolve } from 'node:path'
import { DEFAULT_CONFIG_FILE, loadConfig } from '../core/config-loader.ts'
import { parseTimerDuration } from '../core/duration.ts'
import { ErrorCodes, InterruptedError, invalidInput } from '../core/errors.ts'
import { isUnhealthy, type RoleReport, type RoleState, worst } from '../core/role-health.ts'
import { registerUrlSecret } from '../core/secrets.ts'
import { childLocation, isObjectStoreUrl, parseObjectStoreUrl } from '../master-dataset/index.ts'
import { defaultAllowedHosts, parseAllowedHosts } from '../serving/allowed-hosts.ts'
import { DEFAULT_PORT } from '../serving/app.ts'
import type { Store } from '../store/store.ts'
import { lockFolders } from './data-lock.ts'
import { ensureRoom } from './disk-room.ts'
import { httpAuthOf } from './http-token.ts'
import { createLogger } from './logger.ts'
import { lmdbPathOf, openStore } from './open-store.ts'
import { startRoles } from './pipeline.ts'
import type { Role } from './role.ts'
import {
  defaultStartupTimeout,
  describeStore,
  noAnswer,
  untilAborted,
  waitFor,
  withinTimeout,
} from './startup.ts'
import {
  checkRole,
  consumerGroups,
  type Duration,
  defaultBatchInterval,
  defaultDataDir,
  defaultSegmentAge,
  groupTimers,
  hangTimeoutMs,
  type StrataOptions,
} from './strata-options.ts'

export interface StrataHealth {
  /** False while any role is failed or stalled: what makes GET /health answer 503. */
  healthy: boolean
  /** The worst state of the roles. */
  state: RoleState
  roles: RoleReport[]
}

export interface RunningStrata {
  /** The API's base URL (`http://127.0.0.1:8080`); undefined for a role that does not serve. */
  readonly url: string | undefined
  /** What each role of this process is doing (the roles part of GET /health). */
  health(): Promise<StrataHealth>
  /** Stops every role, closes the store and releases the folder locks. Idempotent. */
  close(): Promise<void>
}

/** Starts every role of Strata in this process (`role: 'all'`, the default) or one role. */
export async function startStrata(options: StrataOptions = {}): Promise<RunningStrata> {
  const role = options.role ?? 'all'
  checkRole(role, options)
  const run: 'start' | Role = role === 'all' ? 'start' : role
  const command = role === 'all' ? 'strata start' : `strata worker ${role}`
  const logger = options.logger ?? createLogger(role === 'all' ? 'strata' : role)
  const serves = role === 'all' || role === 'serve'
  const host = options.host ?? '127.0.0.1'
  const auth = serves ? httpAuthOf(options.token, options.protectQueries) : undefined
  const ms = (value: Duration | undefined, field: string) =>
    value === undefined ? undefined : parseTimerDuration(value, field, ErrorCodes.INVALID_ARGUMENT)
  const batchIntervalMs = ms(options.batchInterval ?? defaultBatchInterval, 'batchInterval')!
  const segmentAgeMs = ms(options.segmentAge ?? defaultSegmentAge, 'segmentAge')!
  const startupTimeoutMs = ms(options.startupTimeout ?? defaultStartupTimeout, 'startupTimeout')!
  const startupRetry = options.startupRetry ?? options.startupTimeout !== undefined
  const timers = groupTimers(options.sessionTimeout)
  const hangMs = hangTimeoutMs(options.hangTimeout)
  const limits = {
    bodyLimit: options.bodyLimit,
    requestTimeoutMs: ms(options.requestTimeout, 'requestTimeout'),
    shutdownGraceMs: ms(options.shutdownGrace, 'shutdownGrace'),
  }
  const allowedHosts =
    typeof options.allowedHosts === 'string'
      ? parseAllowedHosts(options.allowedHosts)
      : (options.allowedHosts ?? defaultAllowedHosts(host))

  const configPath = resolve(options.config ?? DEFAULT_CONFIG_FILE)
  const dataDir = resolve(options.data ?? defaultDataDir)
  const { signal } = options
  // A signal while the config loads (its TypeScript compiled, its top level run) ends the start
  // at once, even if that top level never ends (it waits on a service that hangs): nothing is
  // locked, opened or written yet.
  const config = await (signal
    ? untilAborted(loadConfig(configPath), signal, () => interruptedError(signal, command))
    : loadConfig(configPath))
  registerUrlSecret(options.store) // whatever prints later blanks its password
  const lmdbPath = lmdbPathOf(options.store, dataDir)
  const { brokers } = options
  if (options.master && isObjectStoreUrl(options.master) && !brokers) {
    // The embedded log appends to its active segments in place: objects cannot be appended to.
    throw invalidInput(
      ErrorCodes.INVALID_ARGUMENT,
      `master ${options.master}: a master dataset on object storage needs Kafka (--brokers): the embedded log is a folder`,
      { field: 'master' },
    )
  }

  // One writer per folder: the master dataset (the embedded log, or the archiver's copy of
  // Kafka) and the embedded store the speed layer folds into. PostgreSQL is shared by design.
  const folders: string[] = []
  if (role === 'all' || role === 'archiver') folders.push(dataDir)
  if ((role === 'all' || role === 'speed') && lmdbPath !== undefined) folders.push(lmdbPath)
  const lock = lockFolders(folders, command)
  await ensureRoom(folders).catch((error) => {
    lock.release()
    throw error
  })

  const storeName = describeStore(options.store)
  // One deadline for every wait of this start (the store, the source check, each role joining):
  // the whole wait is --startup-timeout, as documented, not that much per step.
  // The last wait line, for a serving process's /health while it starts (starting.ts).
  let startingReason: string | undefined
  const waiting = startupRetry
    ? {
        onWait: (line: string) => {
          startingReason = line
        },
        timeoutMs: startupTimeoutMs,
        deadline: Date.now() + startupTimeoutMs,
        logger,
        ...(options.signal ? { signal: options.signal } : {}),
      }
    : undefined
  const kafkaName = `Kafka at ${brokers ?? 'the brokers'}`
  // PostgreSQL's first answer (connect and a first query) within --startup-timeout: a server that
  // takes the connection and never answers no longer holds the start; its migration stays unbounded.
  const openNamedStore = (leftMs = startupTimeoutMs) =>
    openStore(lmdbPath ?? options.store!, { firstAnswerTimeoutMs: leftMs, startupTimeoutMs })
  // Not waited for, the open still ends with the signal: a PostgreSQL that takes the connection
  // and never answers would otherwise hold a stopping `strata start` until its SIGKILL.
  const openUnlessInterrupted = () =>
    signal
      ? untilAborted(openNamedStore(), signal, () => interruptedError(signal, command))
      : openNamedStore()
  // Waited for, the store opens once the port is bound (pipeline.ts), so /health answers
  // meanwhile; not waited for, it opens first: a damaged store is refused in one line, before
  // anything is logged or bound.
  let store: Store | undefined = waiting
    ? undefined
    : await openUnlessInterrupted().catch((error) => {
        lock.release()
        throw error
      })
  // A signal while the store opened (the embedded log recovers its partitions in startRoles).
  if (options.signal?.aborted) {
    await store?.close()
    lock.release()
    stopIfInterrupted(options.signal, command)
  }
  logger.info(`config ${configPath}: ${config.views.map((v) => v.name).join(', ')}`)
  logger.info(`data in ${dataDir}`)
  const pipeline = await startRoles({
    run,
    config,
    configPath,
    masterRoot: childLocation(
      options.master ? resolveMaster(options.master) : join(dataDir, 'master'),
      config.source.topic,
    ),
    masterCache: join(dataDir, 'master-cache', config.source.topic),
    ...(options.s3 ? { s3: options.s3 } : {}),
    ...(options.batchEngine ? { batchEngine: options.batchEngine } : {}),
    ...(options.spark ? { spark: options.spark } : {}),
    logger,
    startingReason: () => startingReason,
    brokers,
    groups: consumerGroups(options),
    privateStore: lmdbPath !== undefined,
    groupTimers: timers,
    hangTimeoutMs: hangMs,
    openStore: async () => {
      // A store down at start is waited for when asked (startup.ts), not a crash loop.
      store ??= await waitFor(storeName, openNamedStore, { ...waiting!, code: ErrorCodes.STORE_UNAVAILABLE })
      return store
    },
    ...(waiting && {
      attempt: <T>(step: () => Promise<T>) =>
        waitFor((error) => (error.code === ErrorCodes.STORE ? storeName : kafkaName), step, {
          ...waiting,
          code: ErrorCodes.KAFKA_UNAVAILABLE,
          boundAttempts: true,
        }),
    }),
    // Not retried, a step on Kafka still ends with the signal, and past the startup timeout: a
    // broker that takes the connection and never answers held `strata start` with no word.
    ...(!waiting && {
      attempt: <T>(step: () => Promise<T>) => {
        const bounded = withinTimeout(step(), startupTimeoutMs, () =>
          noAnswer(kafkaName, startupTimeoutMs, ErrorCodes.KAFKA_UNAVAILABLE),
        )
        return signal ? untilAborted(bounded, signal, () => interruptedError(signal, command)) : bounded
      },
    }),
    http: serves
      ? {
          port: options.port ?? DEFAULT_PORT,
          host,
          auth,
          limits,
          allowedHosts,
          ingest: options.ingest,
        }
      : undefined,
    batchIntervalMs,
    segmentAgeMs,
    demoRate: options.demoRate ?? 0,
    // The speed layer and the archiver beside the server in threads of their own (decision 0013).
    roleThreads: { storeUrl: lmdbPath ?? options.store! },
  }).catch(async (error) => {
    await store?.close().catch(() => undefined)
    lock.release()
    throw error
  })
  logger.info(pipeline.url ? `ready: API on ${pipeline.url}` : `ready: ${role}`)

  let closed: Promise<void> | undefined
  return {
    url: pipeline.url,
    async health() {
      const roles = await pipeline.health()
      const state = worst(roles.map((r) => r.state))
      return { healthy: !isUnhealthy(state), state, roles }
    },
    close() {
      closed ??= (async () => {
        try {
          // A pipeline that could not close cleanly (a thread stuck in a view's code, ended after
          // its bound) still has its store closed before the error goes on to the exit code.
          await pipeline.close().finally(() => store?.close())
        } finally {
          lock.release()
        }
      })()
      return closed
    },
  }
}

/** An s3:// URL checked, or a folder made absolute. */
function resolveMaster(master: string): string {
  if (!isObjectStoreUrl(master)) return resolve(master)
  parseObjectStoreUrl(master)
  return master
}

function stopIfInterrupted(signal: AbortSignal | undefined, command: string): void {
  if (signal?.aborted) throw interruptedError(signal, command)
}

function interruptedError(signal: AbortSignal, command: string): InterruptedError {
  const reason = typeof signal.reason === 'string' ? signal.reason : 'a signal'
  return new InterruptedError(
    reason,
    `${command} was interrupted by ${reason} while starting; nothing left running`,
  )
}
