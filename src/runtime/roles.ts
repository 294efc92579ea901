// The roles of a Strata deployment, each startable alone (`strata worker <role>`) or together
// (`strata start`). A role takes what it needs and returns something to close; it owns nothing it
// was given (the store, the log), so one process can run several roles on one store.

import { mkdir } from 'node:fs/promises'
import { type ArchiverStats, type KafkaArchiverOptions, startKafkaArchiver } from '../archive/index.ts'
import type { BatchEngine } from '../batch/batch-run.ts'
import { createKafkaPublisher } from '../batch/kafka-publisher.ts'
import { type BatchSchedule, startBatchSchedule } from '../batch/schedule.ts'
import type { SparkEngineOptions } from '../batch/spark/spark-engine.ts'
import type { StrataConfig } from '../core/config.ts'
import { formatDuration } from '../core/duration.ts'
import { ErrorCodes, isStrataError, type StrataError } from '../core/errors.ts'
import type { Hold } from '../core/held-batches.ts'
import { describe, type RoleHealth } from '../core/role-health.ts'
import { byView, type ViewFoldError } from '../core/view-errors.ts'
import type { EventSink } from '../ingest/ingest.ts'
import { EmbeddedLog } from '../log/embedded/index.ts'
import { createDeadLetterWriter, type DeadLetterWriter } from '../log/kafka/index.ts'
import type { Log } from '../log/log.ts'
import { describeDamage, isObjectStoreUrl, type S3Settings, SegmentScrub } from '../master-dataset/index.ts'
import { createApp, listen } from '../serving/app.ts'
import type { HttpAuth } from '../serving/auth.ts'
import type { HttpLimits } from '../serving/limits.ts'
import type { StartingGate } from '../serving/starting.ts'
import {
  createSpeedWorker,
  SPEED_FOLD_THREADS,
  SPEED_GROUP,
  type SpeedWorker,
  type SpeedWorkerOptions,
  STUCK_FOLD_MS,
} from '../speed/index.ts'
import type { Store } from '../store/store.ts'
import type { Logger } from './logger.ts'
import { CLOSE_TIMEOUT_MS, speedHangMs } from './role.ts'
import { type ClosableEndOffsets, kafkaEndOffsetsChecked, stopOnSourceLoss } from './source-loss.ts'
import type { GroupTimers } from './strata-options.ts'

export interface Closable {
  close(): Promise<void>
}

export interface RoleContext {
  config: StrataConfig
  configPath: string
  /** Root of the master dataset of the source topic: a folder or s3://bucket/prefix/<topic>. */
  masterRoot: string
  /** Where an s3:// master dataset is copied for the batch layer (default <masterRoot>.cache). */
  masterCache?: string
  /** How to reach an s3:// master dataset. */
  s3?: S3Settings
  /** The batch role's engine and its Spark settings (docs/batch-on-spark.md). */
  batchEngine?: BatchEngine
  spark?: SparkEngineOptions
  store: Store
  logger: Logger
  /** Kafka mode when set; the embedded default otherwise. */
  brokers?: string
  /** Consumer group of the speed or archiver role (defaults: strata-speed, strata-archiver). */
  groupId?: string
  /** Session timeout and heartbeat of the speed or archiver role's group membership (`--session-timeout`). */
  groupTimers?: GroupTimers
  /**
   * How long a view's code may go without returning before close() ends its thread
   * (`--hang-timeout`); the speed layer lists a fold stuck from half of it. Default CLOSE_TIMEOUT_MS.
   */
  hangTimeoutMs?: number
  /** A role that cannot go on (the store stayed down past its retry budget); default: exit 1. */
  onFatal?(error: StrataError): void
  /**
   * Set when the process also serves HTTP: the nice value of the batch layer's threads
   * (core/thread-priority.ts), so requests are answered first.
   */
  backgroundNice?: number
  /**
   * The embedded default's speed layer folds in a fold thread (src/speed/fold-threads.ts), as on
   * Kafka: set by `strata start` and `strata worker` (whose main thread answers HTTP and
   * signals). A view's code that never
   * returns then holds that thread only: ingest, queries and /health go on, /health and the log
   * name the view (role-reporters.ts), and close() ends the thread after hangTimeoutMs
   * (default CLOSE_TIMEOUT_MS).
   */
  embeddedFoldThread?: boolean
  /**
   * Asked before each batch of the speed layer and the archiver (core/held-batches.ts): a role
   * thread of `strata start` holds while POST /events bursts (ingest-burst.ts). Unset: never.
   */
  hold?: Hold
}

/** The embedded log: the master dataset's segments, appended to directly. */
export async function openEmbeddedLog(context: RoleContext, maxSegmentAgeMs: number): Promise<EmbeddedLog> {
  await mkdir(context.masterRoot, { recursive: true })
  return EmbeddedLog.open({
    dir: context.masterRoot,
    partitions: context.config.source.partitions,
    maxSegmentAgeMs,
    onWarning: (message) => context.logger.warn(message),
  })
}

/** Ingest's sink on the embedded log. */
export function logSink(log: Log): EventSink {
  return { append: (records) => log.append(records) }
}

/** Kafka's end offsets of the source topic (for lag), through an admin client: close it. */
export function kafkaEndOffsets(context: RoleContext): ClosableEndOffsets {
  return kafkaEndOffsetsChecked(context.brokers!, context.config.source.topic, context.store)
}

export const ARCHIVER_FETCH_MIN_BYTES = 512 * 1024

/** What the archiver role starts the Kafka archiver with (its dead letters go to `deadLetter`). */
export function archiverOptions(
  context: RoleContext,
  maxSegmentAgeMs: number,
  deadLetter: Pick<DeadLetterWriter, 'write'>,
): KafkaArchiverOptions {
  const { config, brokers, logger } = context
  return {
    brokers: brokers!,
    topic: config.source.topic,
    ...(context.groupId ? { groupId: context.groupId } : {}),
    ...context.groupTimers,
    master: context.masterRoot,
    ...(context.s3 ? { s3: context.s3 } : {}),
    // The archiver has no latency to keep below its segment age: fetches that wait (up to
    // maxWaitMs) for ARCHIVER_FETCH_MIN_BYTES bring fewer, larger batches under ingest, and cost
    // the archiver and the broker beside it less per record than one fetch per produce request.
    minBytes: ARCHIVER_FETCH_MIN_BYTES,
    maxWaitMs: 500,
    timeField: config.source.time,
    maxSegmentAgeMs,
    ...(context.hold ? { hold: context.hold } : {}),
    onReject: (rejection) => {
      logger.warn(
        `partition ${rejection.partition} offset ${rejection.record.offset} is not an event (${rejection.reason}): dead-lettered`,
      )
      return deadLetter.write(rejection)
    },
    onError: (error) =>
      stopOnSourceLoss(context, 'archiver', error) || logger.error('archiver consumer failed', error),
  }
}

export async function startArchiverRole(
  context: RoleContext,
  maxSegmentAgeMs: number,
): Promise<Closable & { stats(): ArchiverStats }> {
  const { config, brokers, logger } = context
  const deadLetter = createDeadLetterWriter({ brokers: brokers!, topic: config.source.topic })
  const archiver = await startKafkaArchiver(archiverOptions(context, maxSegmentAgeMs, deadLetter)).catch(
    async (error) => {
      await deadLetter.close().catch(() => undefined)
      throw error
    },
  )
  logger.info(`archiving ${config.source.topic} into ${context.masterRoot}${sessionNote(context)}`)
  return {
    stats: () => archiver.stats,
    async close() {
      await archiver.close()
      await deadLetter.close()
    },
  }
}

/** The session timeout in a role's start line, when one was set. */
function sessionNote(context: RoleContext): string {
  const timers = context.groupTimers
  return timers ? `, session timeout ${formatDuration(timers.sessionTimeoutMs)}` : ''
}

/** What the speed role creates its worker with: on `log` (embedded) or on Kafka. */
export function speedWorkerOptions(context: RoleContext, log?: Log): SpeedWorkerOptions {
  return {
    store: context.store,
    config: context.config,
    // On Kafka, parsing, checking and folding run in a fold thread (src/speed/fold-threads.ts)
    // beside the thread that fetches and commits; the embedded log's reader keeps them in line.
    // In the embedded default the log's reader stays on this thread and the fold goes to a
    // thread (embeddedFoldThread), so a view that never returns cannot freeze ingest, queries,
    // /health and SIGTERM with it.
    ...(log
      ? {
          log,
          ...(context.embeddedFoldThread
            ? {
                configPath: context.configPath,
                foldThreads: SPEED_FOLD_THREADS,
                closeTimeoutMs: context.hangTimeoutMs ?? CLOSE_TIMEOUT_MS,
              }
            : {}),
        }
      : { brokers: context.brokers!, configPath: context.configPath, foldThreads: SPEED_FOLD_THREADS }),
    ...(context.hangTimeoutMs !== undefined
      ? { stuckFoldMs: Math.min(STUCK_FOLD_MS, speedHangMs(context.hangTimeoutMs)) }
      : {}),
    ...(context.groupId ? { groupId: context.groupId } : {}),
    ...(context.groupTimers ? { consumer: { ...context.groupTimers } } : {}),
    ...(context.hold ? { hold: context.hold } : {}),
    onSkip: (partition, offset, reason) =>
      context.logger.warn(`skipped partition ${partition} offset ${offset}: ${reason}`),
    onViewErrors: viewErrorLog(context.logger, 'speed layer'),
    onError: (error) =>
      stopOnSourceLoss(context, 'speed layer', error) || context.logger.error('speed layer', error),
    onStoreRetry: (partition, doing, retry) =>
      context.logger.warn(
        `store unavailable, partition ${partition}: ${doing}, retry ${retry.attempt} in ${retry.delayMs} ms: ${retry.error.message}`,
      ),
    // Past the retry budget: exit, so that a supervisor starts us again; the store holds every
    // committed window with its offset, so a restart neither loses nor repeats anything.
    onFatal:
      context.onFatal ??
      ((error) => {
        context.logger.error('speed layer gave up; exiting', error)
        process.exit(1)
      }),
  }
}

export async function startSpeedRole(context: RoleContext, log?: Log): Promise<SpeedWorker> {
  const worker = createSpeedWorker(speedWorkerOptions(context, log))
  try {
    await worker.start()
  } catch (error) {
    // Not left half-joined: the caller may start the role again (waiting for the store or Kafka).
    await worker.close().catch(() => undefined)
    throw error
  }
  context.logger.info(
    `speed layer running (${log ? 'embedded log' : `consumer group ${context.groupId ?? SPEED_GROUP} on ${context.brokers}${sessionNote(context)}`})`,
  )
  return worker
}

export function startBatchRole(
  context: RoleContext,
  intervalMs: number,
  firstRunMs?: number,
): BatchSchedule & Closable {
  const publisher = context.brokers ? createKafkaPublisher({ brokers: context.brokers }) : undefined
  const schedule = startBatchSchedule({
    config: context.config,
    configPath: context.configPath,
    root: context.masterRoot,
    ...(context.masterCache ? { cacheRoot: context.masterCache } : {}),
    ...(context.s3 ? { s3: context.s3 } : {}),
    ...(context.batchEngine ? { engine: context.batchEngine } : {}),
    ...(context.spark ? { spark: context.spark } : {}),
    ...(context.backgroundNice !== undefined ? { threadNice: context.backgroundNice } : {}),
    store: context.store,
    publisher,
    closeTimeoutMs: context.hangTimeoutMs ?? CLOSE_TIMEOUT_MS,
    intervalMs,
    firstRunMs,
    ...(context.hold ? { hold: context.hold } : {}),
    onRun: ({ versions, plan, events, durationMs }) => {
      for (const v of versions) {
        if (v.foldErrors)
          logViewErrors(context.logger, 'batch layer', v.foldErrors.count, v.foldErrors.recent)
      }
      if (versions.length === 0) return
      const names = versions.map((v) => `${v.view} v${v.version}`).join(', ')
      context.logger.info(
        `batch: ${names} at horizon [${plan.horizon.join(',')}], ${events} events in ${durationMs} ms`,
      )
    },
    onError: (error) => context.logger.error('batch run failed', error),
  })
  const scrub = watchSegments(context, schedule)
  const closeSchedule = schedule.close.bind(schedule)
  return Object.assign(schedule, {
    scrub: scrub?.scrub,
    async close() {
      await scrub?.close()
      await closeSchedule()
      await publisher?.close()
    },
  })
}

// How often the batch role looks for segments sealed since its last check (hashing only those).
const SCRUB_EVERY_MS = 60_000

// The batch layer reads sealed segments through their packed copies, which do not re-hash the
// NDJSON: a local master dataset's segments are hashed once per process here (at start, then
// those sealed since, every `everyMs` while no run is in progress), off the batch's path: in a
// process of its own, and held between segments while a run is in progress (segment-scrub.ts). An
// s3:// one is checked when its segments are copied down (s3-segment-store.ts).
export function watchSegments(
  context: Pick<RoleContext, 'masterRoot' | 'logger'>,
  schedule: Pick<BatchSchedule, 'running'>,
  everyMs = SCRUB_EVERY_MS,
): { scrub: SegmentScrub; close(): Promise<void> } | undefined {
  if (isObjectStoreUrl(context.masterRoot)) return undefined
  const scrub = new SegmentScrub(context.masterRoot)
  let checking: Promise<void> | undefined
  const check = () => {
    checking ??= scrub
      .check(
        (damage) =>
          context.logger.warn(`master dataset damaged: ${describeDamage(damage)}`, {
            code: ErrorCodes.SEGMENT_CORRUPT,
            master: context.masterRoot,
            partition: damage.partition,
            segment: damage.file,
          }),
        { pauseWhile: () => schedule.running },
      )
      // A listing that fails (a gap in the ranges) is said by every read and run: debug here. The
      // hashing process failing is said nowhere else (segmentsChecked stays below segmentsListed).
      .catch((error) =>
        isStrataError(error)
          ? context.logger.debug(`segment check: ${describe(error)}`)
          : context.logger.warn(`segment check failed: ${describe(error)}`, { master: context.masterRoot }),
      )
      .finally(() => {
        checking = undefined
      })
  }
  check()
  const timer = setInterval(() => {
    if (!schedule.running) check()
  }, everyMs)
  timer.unref()
  return {
    scrub,
    // Bounded: the hashing process is killed, not waited for past CLOSE_WAIT_MS (segment-hash.ts),
    // so a read that never returns (a hung mount) no longer holds the role's stop. What the pass
    // did not hash is said, as the one-off run says it (recompute.ts).
    async close() {
      clearInterval(timer)
      const running = checking !== undefined
      const stopped = scrub.stop()
      await checking
      await stopped // the hashing process gone, not merely told to go
      const { checked, listed } = scrub.progress
      if (running && checked < listed)
        context.logger.warn(`segment check interrupted: ${checked} of ${listed} sealed segments hashed`, {
          master: context.masterRoot,
        })
    },
  }
}

/**
 * A log line when a view's code throws (the events are skipped by that view only): at most one
 * per view every 10 s, since a view that throws on every event would otherwise flood the log.
 */
function viewErrorLog(logger: Logger, layer: string): (errors: readonly ViewFoldError[]) => void {
  const lastLogged = new Map<string, number>()
  const pending = new Map<string, number>()
  return (errors) => {
    const now = Date.now()
    for (const [view, list] of byView(errors)) {
      const count = (pending.get(view) ?? 0) + list.length
      if (now - (lastLogged.get(view) ?? 0) < 10_000) {
        pending.set(view, count)
        continue
      }
      pending.delete(view)
      lastLogged.set(view, now)
      logViewErrors(logger, layer, count, list)
    }
  }
}

function logViewErrors(logger: Logger, layer: string, count: number, recent: readonly ViewFoldError[]): void {
  const last = recent.at(-1)
  if (!last) return
  logger.warn(
    `view '${last.view}': its code threw on ${count} events (${layer}); they are skipped by this view only, see GET /views/${last.view}/errors; last: partition ${last.partition} offset ${last.offset}: ${last.message}`,
  )
}

export interface ServeRoleOptions {
  port: number
  host?: string
  sink?: EventSink
  endOffsets?: () => Promise<number[]>
  speed?: Pick<SpeedWorker, 'stats'>
  /** Bound before the layers start: 503 STRATA_ERR_STARTING until it opens (serving/starting.ts). */
  starting?: StartingGate
  /** The bearer token and which routes need it; without it every route is open. */
  auth?: HttpAuth
  limits?: HttpLimits
  /** Host names to answer to (serving/allowed-hosts.ts); default: loopback names. */
  allowedHosts?: readonly string[]
  /** The roles of this process, for /health (core/role-health.ts). */
  roles?: RoleHealth
}

export async function startServeRole(
  context: RoleContext,
  options: ServeRoleOptions,
): Promise<Closable & { url: string }> {
  const { speed } = options
  const app = await createApp({
    config: context.config,
    store: context.store,
    sink: options.sink,
    endOffsets: options.endOffsets,
    auth: options.auth,
    limits: options.limits,
    allowedHosts: options.allowedHosts,
    starting: options.starting,
    logServerError: (message, error) => context.logger.error(message, error),
    log: context.logger.pino,
    roles: options.roles,
    speedStats: speed
      ? () => {
          let folded = 0
          let skipped = 0
          for (const p of speed.stats().partitions) {
            folded += p.folded
            skipped += p.skipped
          }
          return { folded, skipped }
        }
      : undefined,
  })
  const { url } = await listen(app, { port: options.port, host: options.host })
  const guarded = options.auth
    ? `token required on ingest and /metrics${options.auth.protectQueries ? ' and queries' : ''}`
    : 'no token: every route is open'
  context.logger.info(`serving on ${url} (${guarded})`)
  return { url, close: () => app.close() }
}
