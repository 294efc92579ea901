// The one composition of the roles, shared by `strata start` (every role in one process) and
// `strata worker <role>` (one role). Whatever runs, the order is the same:
//   1. the HTTP port, when the process serves: a port in use fails here, before a partition is
//      claimed, another speed layer fenced or a byte written; until step 5 every route answers
//      503 STRATA_ERR_STARTING (serving/starting.ts);
//   2. the store (the caller's opener: `strata worker` waits for it, startup.ts);
//   3. the source: the topic ensured (Kafka mode), the data folder and the store checked against
//      it (source-identity.ts);
//   4. the roles. With brokers: ingest to Kafka, the archiver copies the topic into the master
//      dataset, the speed layer reads it as a consumer group, the batch layer recomputes on a
//      schedule and publishes to Kafka. Without: the embedded default, where the master dataset's
//      segments are the log that ingest appends to and the speed layer reads. With `roleThreads`
//      (what `strata start` passes), the archiver and the speed layer of a process that also
//      serves run in worker threads of their own (role-thread.ts, Kafka mode only); on the
//      embedded log the speed layer's fold runs in a fold thread (roles.ts, embeddedFoldThread);
//   5. health: /health of this process when it serves; otherwise a role that can no longer go
//      on by itself exits the process 1 (role-watch.ts), as nothing else would say it failed.
// Everything opened here is closed by the returned close(), in reverse (the log last); the store
// belongs to whoever opened it.
import type { BatchEngine } from '../batch/batch-run.ts'
import type { SparkEngineOptions } from '../batch/spark/spark-engine.ts'
import type { StrataConfig } from '../core/config.ts'
import { ErrorCodes } from '../core/errors.ts'
import { describe, RoleHealth, type RoleReport, type RoleReporter } from '../core/role-health.ts'
import { BACKGROUND_NICE } from '../core/thread-priority.ts'
import { startTraffic } from '../demo/traffic.ts'
import type { EventSink } from '../ingest/ingest.ts'
import { createIngest } from '../ingest/ingest.ts'
import { createKafkaSink } from '../ingest/kafka-sink.ts'
import type { EmbeddedLog } from '../log/embedded/index.ts'
import type { S3Settings } from '../master-dataset/index.ts'
import type { HttpAuth } from '../serving/auth.ts'
import type { HttpLimits } from '../serving/limits.ts'
import { createStartingGate, later, startingError } from '../serving/starting.ts'
import { SPEED_GROUP, type SpeedWorker } from '../speed/index.ts'
import type { Store } from '../store/store.ts'
import { BurstGate, burstAware, IngestBurstMeter, meteredSink } from './ingest-burst.ts'
import type { Logger } from './logger.ts'
import { ROLES, type Role, speedHangMs } from './role.ts'
import { heartbeatReporter, startHeartbeat } from './role-heartbeat.ts'
import {
  archiverReporter,
  batchReporter,
  embeddedLogReporter,
  sharedEndOffsets,
  speedReporter,
  storeSpeedReporter,
} from './role-reporters.ts'
import { type RoleThread, startRoleThread } from './role-thread.ts'
import { watchRole } from './role-watch.ts'
import {
  type Closable,
  kafkaEndOffsets,
  logSink,
  openEmbeddedLog,
  type RoleContext,
  startArchiverRole,
  startBatchRole,
  startServeRole,
  startSpeedRole,
} from './roles.ts'
import { checkRoleSource } from './source-identity.ts'
import { checkStoreAgainstLog } from './store-check.ts'
import type { GroupTimers } from './strata-options.ts'

const STORE_WHERE =
  'the folder <data>/store, or the --store folder; for PostgreSQL, drop or rename the schema'

export { ROLES, type Role } from './role.ts'

export interface HttpOptions {
  port: number
  host?: string
  /** The HTTP token (auth.ts); without it every route is open. */
  auth?: HttpAuth
  limits?: HttpLimits
  allowedHosts?: readonly string[]
  /** POST /events beside the queries: always with `start`; `strata worker serve --ingest`. */
  ingest?: boolean
}

export interface RolesOptions {
  /** `start`: every role in this process (strata start); a role's name: that role alone. */
  run: 'start' | Role
  config: StrataConfig
  configPath: string
  /** Root of the master dataset of the source topic: a folder or s3://bucket/prefix/<topic>. */
  masterRoot: string
  /** Where an s3:// master dataset is copied for the batch layer. */
  masterCache?: string
  s3?: S3Settings
  /** The batch role's engine and its Spark settings (docs/batch-on-spark.md). */
  batchEngine?: BatchEngine
  spark?: SparkEngineOptions
  logger: Logger
  /** What the start waits for now (runtime/startup.ts), for /health while starting. */
  startingReason?: () => string | undefined
  /** Kafka mode when set; the embedded default otherwise. */
  brokers?: string
  /** Consumer groups of the speed layer and the archiver (defaults: strata-speed, strata-archiver). */
  groups?: { speed?: string; archiver?: string }
  /**
   * The store is this process's alone (the embedded LMDB one, locked): in Kafka mode the speed
   * layer must fold every partition itself, and /health calls one held by another member of the
   * group stalled (role-reporters.ts, speedReporter).
   */
  privateStore?: boolean
  /** Session timeout and heartbeat of the speed layer's and the archiver's group membership. */
  groupTimers?: GroupTimers
  /**
   * How long a view's code may go without returning (`--hang-timeout`, strata-options.ts): the
   * batch layer is stalled and a close ends the thread past it, the speed layer is stalled past
   * half of it. Default CLOSE_TIMEOUT_MS (60 s).
   */
  hangTimeoutMs?: number
  /** Gives the store once the port is bound; the caller closes what it opened. */
  openStore(): Promise<Store>
  /** The HTTP server, when the roles include serve. */
  http?: HttpOptions
  batchIntervalMs: number
  /** How long a master-dataset segment stays open before it is sealed (and batch can read it). */
  segmentAgeMs: number
  /** Generated traffic, events per second (0: none). */
  demoRate?: number
  /** Runs each step that needs Kafka (strata worker: waits for it, up to --startup-timeout). */
  attempt?<T>(step: () => Promise<T>): Promise<T>
  /**
   * Run the speed layer and the archiver in worker threads, off the HTTP server's event loop,
   * when this process also serves and reads Kafka (decision 0013); the threads open the store at
   * `storeUrl` themselves. Without it every role shares the main thread.
   */
  roleThreads?: { storeUrl: string; statsEveryMs?: number }
}

export interface Pipeline extends Closable {
  /** The API's address, when the process serves. */
  url: string | undefined
  /** What each role of this process reports (core/role-health.ts), as /health shows it. */
  health(): Promise<RoleReport[]>
}

export async function startRoles(options: RolesOptions): Promise<Pipeline> {
  const { logger, brokers, config } = options
  const roles: readonly Role[] = options.run === 'start' ? ROLES : [options.run]
  const runs = (role: Role) => roles.includes(role)
  const attempt = options.attempt ?? (<T>(step: () => Promise<T>) => step())
  const ingest = options.run === 'start' || options.http?.ingest === true
  // The embedded log is opened by the process that writes it (ingest, or the archiver's
  // place: the master dataset is the log) and read by the speed layer beside it.
  const opensLog = !brokers && (ingest || runs('archiver') || runs('speed'))
  const store = later<Store>()
  const context: RoleContext = {
    config,
    configPath: options.configPath,
    masterRoot: options.masterRoot,
    ...(options.masterCache ? { masterCache: options.masterCache } : {}),
    ...(options.s3 ? { s3: options.s3 } : {}),
    ...(options.batchEngine ? { batchEngine: options.batchEngine } : {}),
    ...(options.spark ? { spark: options.spark } : {}),
    store: store.value,
    logger,
    brokers,
    ...(options.groupTimers ? { groupTimers: options.groupTimers } : {}),
  }
  const sink = later<EventSink>()
  // `strata start`: the roles' threads hold while POST /events bursts (ingest-burst.ts), so the
  // burst has the cores; metered on each append of the sink the HTTP ingest writes to.
  const burst =
    ingest && brokers && options.roleThreads && runs('serve') && options.http
      ? new IngestBurstMeter()
      : undefined
  const health = new RoleHealth()
  const watched: Array<[name: string, reporter: RoleReporter]> = []
  let endOffsets: (() => Promise<number[]>) | undefined
  let speed: Pick<SpeedWorker, 'stats' | 'close'> | undefined

  // 1. The port first (see above).
  const starting = createStartingGate(options.startingReason)
  const http = runs('serve') ? options.http : undefined
  const serve =
    http &&
    (await startServeRole(context, {
      port: http.port,
      host: http.host,
      sink: ingest ? (burst ? meteredSink(sink.value, burst) : sink.value) : undefined,
      endOffsets:
        brokers || opensLog ? () => (endOffsets ? endOffsets() : Promise.reject(startingError())) : undefined,
      speed: runs('speed')
        ? { stats: () => speed?.stats() ?? { mode: brokers ? 'kafka' : 'embedded', partitions: [] } }
        : undefined,
      auth: http.auth,
      limits: http.limits,
      allowedHosts: http.allowedHosts,
      starting,
      roles: health,
    }))
  const closables: Closable[] = [] // closed in reverse after serving: the log last
  const watches: Array<{ stop(): void }> = []
  // A worker role run alone records its heartbeat in the store (role-heartbeat.ts): the last one,
  // failed or stopped, before its roles close.
  const heartbeats: Array<{ close(): Promise<void> }> = []
  // Every part is closed whatever another's close did. A part that could not close cleanly (a
  // role thread or a fold thread stuck in a view's code, ended after its bound: SHUTTING_DOWN) is
  // rethrown at the end, so the process exits 1 rather than 0 as after a clean stop.
  const close = async (onError: (e: unknown) => void) => {
    let unclean: unknown
    const note = (e: unknown) => {
      if ((e as { code?: string })?.code === ErrorCodes.SHUTTING_DOWN && unclean === undefined) unclean = e
      else onError(e)
    }
    for (const watch of watches) watch.stop()
    for (const beat of heartbeats) await beat.close().catch(note)
    await serve?.close().catch(note)
    for (const c of [...closables].reverse()) await c.close().catch(note)
    if (unclean !== undefined) throw unclean
  }
  // Once: a failed lone role's exit (settle, below) and a signal's shutdown may both ask.
  let closing: Promise<void> | undefined
  const closeOnce = () => {
    closing ??= close((e) => logger.error('while stopping', e))
    return closing
  }
  try {
    // Threads only beside a server (nothing else competes for the event loop of a lone role)
    // and on Kafka (the embedded log is an object of this thread): the archiver and the speed
    // layer, each with its stats posted back for their reporters (decision 0013).
    const threads = serve && brokers ? options.roleThreads : undefined
    const threadSetup = threads && {
      configPath: options.configPath,
      masterRoot: options.masterRoot,
      brokers: brokers!,
      storeUrl: threads.storeUrl,
      segmentAgeMs: options.segmentAgeMs,
      ...(options.groupTimers ? { groupTimers: options.groupTimers } : {}),
      ...(options.hangTimeoutMs !== undefined ? { hangTimeoutMs: options.hangTimeoutMs } : {}),
      ...(options.s3 ? { s3: options.s3 } : {}),
      statsEveryMs: threads.statsEveryMs ?? 100,
      ...(burst ? { burst: burst.buffer } : {}),
    }
    // 2. and 3.
    const opened = await options.openStore()
    store.set(opened)
    // Beside a server, every thread a role starts runs below the main thread (thread-priority.ts).
    const running: RoleContext = {
      ...context,
      store: opened,
      ...(serve ? { backgroundNice: BACKGROUND_NICE } : {}),
      ...(options.hangTimeoutMs !== undefined ? { hangTimeoutMs: options.hangTimeoutMs } : {}),
      // The embedded speed layer folds in a fold thread (as on Kafka): a view's code that never
      // returns must not freeze this thread, which answers ingest, queries, /health and signals.
      ...(!brokers && options.roleThreads ? { embeddedFoldThread: true } : {}),
    }
    await attempt(() => checkRoleSource(options.run, running))
    // 4.
    let log: EmbeddedLog | undefined
    if (brokers) {
      if (ingest) {
        // The topic was ensured with the source's checks above: the sink only writes.
        const kafkaSink = createKafkaSink({
          brokers,
          topic: config.source.topic,
          partitions: config.source.partitions,
          replicationFactor: config.source.replicationFactor,
          createTopic: false,
        })
        closables.push(kafkaSink)
        sink.set(kafkaSink)
      }
      if (serve || runs('speed')) {
        const reader = kafkaEndOffsets(running)
        closables.push(reader)
        // One Kafka reading at a time for /metrics, /health, answers' lag and the reporters.
        endOffsets = sharedEndOffsets(reader)
      }
      if (runs('archiver')) {
        const groupId = options.groups?.archiver
        const archiver = await attempt(() =>
          threadSetup
            ? // Below the server's main thread: requests first, the archive on what is left
              // (thread-priority.ts). Not the speed layer's: freshness is its job (below).
              startRoleThread(running, { ...threadSetup, role: 'archiver', groupId, nice: BACKGROUND_NICE })
            : startArchiverRole({ ...running, groupId }, options.segmentAgeMs),
        )
        closables.push(archiver)
        watched.push([
          'archiver',
          threadAware(
            archiver,
            archiverReporter(() => archiver.stats(), endOffsets),
          ),
        ])
      }
    } else if (opensLog) {
      const embedded = await openEmbeddedLog(running, options.segmentAgeMs)
      log = embedded
      closables.push(embedded)
      await checkStoreAgainstLog(opened, await embedded.endOffsets(), STORE_WHERE)
      sink.set(logSink(embedded))
      endOffsets = () => embedded.endOffsets()
      watched.push(['log', embeddedLogReporter(embedded)])
      logger.info(`embedded log and master dataset in ${options.masterRoot}`)
    }
    if (runs('speed')) {
      const groupId = brokers ? options.groups?.speed : undefined
      const worker = await attempt<Pick<SpeedWorker, 'stats' | 'close'>>(() =>
        threadSetup
          ? // At the server's own priority, with its fold thread: what it folds is what queries
            // wait to see, and at nice 10 every busy thread of the machine went first (freshness
            // p99 +5 s under load; decision 0013, "Priorities", revised).
            startRoleThread(running, { ...threadSetup, role: 'speed', groupId })
          : startSpeedRole({ ...running, groupId }, log),
      )
      speed = worker
      closables.push(worker)
      watched.push([
        'speed layer',
        threadAware(
          worker,
          speedReporter(
            () => worker.stats(),
            endOffsets!,
            Date.now,
            brokers && options.privateStore
              ? {
                  id: groupId ?? SPEED_GROUP,
                  ...(options.groupTimers ? { sessionTimeoutMs: options.groupTimers.sessionTimeoutMs } : {}),
                }
              : undefined,
            speedHangMs(options.hangTimeoutMs),
          ),
        ),
      ])
    }
    if (runs('batch')) {
      // Alone, a batch worker runs at once; beside the other layers it first lets the archiver or
      // the log seal some segments (at most 15 s).
      const firstRunMs = options.run === 'start' ? Math.min(options.batchIntervalMs, 15_000) : 0
      // Its run's start waits while POST /events bursts, as the roles' threads do (ingest-burst.ts).
      const gate = burst ? new BurstGate(burst.buffer) : undefined
      const batchContext = gate ? { ...running, hold: () => gate.wait() } : running
      const batch = startBatchRole(batchContext, options.batchIntervalMs, firstRunMs)
      closables.push(batch)
      watched.push(['batch layer', batchReporter(batch, options.hangTimeoutMs)])
      if (!serve) closables.push(holdEventLoop())
    }
    if ((options.demoRate ?? 0) > 0) {
      const traffic = startTraffic({
        ingest: createIngest({ sink: sink.value, timeField: config.source.time }),
        rate: options.demoRate!,
        onError: (e) => logger.error('demo traffic', e),
      })
      closables.push(traffic)
      logger.info(`demo traffic: ${options.demoRate} events/s`)
    }
    // 5. (The held roles say so while a burst holds them: ingest-burst.ts, burstAware.)
    for (const [name, reporter] of watched)
      health.add(
        burst && (name === 'speed layer' || name === 'archiver') ? burstAware(reporter, burst) : reporter,
      )
    if (serve) {
      // No speed layer here: its partitions as the store shows them (a stall anywhere is seen).
      if (!speed && brokers && endOffsets) health.add(storeSpeedReporter(opened, endOffsets))
      // The worker roles of other processes on this store, as their heartbeats say (a role that
      // never recorded one is not listed: a deployment without a batch worker is fine).
      if (options.run === 'serve') health.addMany(heartbeatReporter(opened))
      starting.open()
    } else if (options.run !== 'start') {
      for (const [name, reporter] of watched)
        heartbeats.push(startHeartbeat(opened, name.replace(/ layer$/, ''), reporter, logger))
    }
    // Every role's state changes are logged; a role run alone also exits 1 once failed.
    for (const [name, reporter] of watched) {
      watches.push(
        watchRole(name, reporter, logger, {
          exitOnFailed: !serve,
          // Before that exit, the roles close: a view stop being recorded lands (role-watch.ts).
          settle: closeOnce,
        }),
      )
    }
    return {
      url: serve?.url,
      health: () => health.reports(),
      close: closeOnce,
    }
  } catch (error) {
    await close(() => undefined).catch(() => undefined)
    throw error
  }
}

// A role in a thread that died unasked is failed, whatever its last posted stats said (the
// process is exiting, or the caller's onFatal was told).
function threadAware(role: object, reporter: RoleReporter): RoleReporter {
  if (!('failure' in role)) return reporter
  const { failure } = role as Pick<RoleThread<unknown>, 'failure'>
  return async () => {
    const report = await reporter()
    const error = failure()
    return error ? { ...report, state: 'failed', reason: describe(error) } : report
  }
}

// A batch worker alone: the schedule's timer is unref'd (so `strata start` and tests end when they
// close), and between runs nothing else holds the event loop once the store's idle connections
// close (pg's 10 s idle timeout, or a PostgreSQL restart): the worker then "ended by itself" and
// exited 1 before its next run. The role runs until a signal.
function holdEventLoop(): Closable {
  const hold = setInterval(() => undefined, 2 ** 30)
  return { close: async () => clearInterval(hold) }
}

export interface PipelineOptions
  extends Omit<RolesOptions, 'run' | 'openStore' | 'http'>,
    Omit<HttpOptions, 'ingest'> {
  store: Store
}

/** Every role in one process on a store the caller opened: what `strata start` runs, for tests. */
export async function startPipeline(options: PipelineOptions): Promise<Pipeline & { url: string }> {
  const { store, port, host, auth, limits, allowedHosts, ...rest } = options
  const pipeline = await startRoles({
    ...rest,
    run: 'start',
    openStore: async () => store,
    http: { port, host, auth, limits, allowedHosts },
  })
  return { ...pipeline, url: pipeline.url! }
}
