// What startStrata (strata.ts) takes: the options of `strata start` and `strata worker <role>`,
// under the flags' names, with the defaults both share. The API reads no environment variable:
// the CLI resolves each flag with its variable once (cli/settings.ts, cli/security.ts) and passes
// the result here, so a program embedding Strata runs on exactly what it passed.
import type { BatchEngine } from '../batch/batch-run.ts'
import type { SparkEngineOptions } from '../batch/spark/spark-engine.ts'
import { formatDuration, parseDuration, parseTimerDuration } from '../core/duration.ts'
import { ErrorCodes, invalidInput } from '../core/errors.ts'
import type { S3Settings } from '../master-dataset/index.ts'
import type { Logger } from './logger.ts'
import { ROLES, type Role } from './role.ts'

export type { Role } from './role.ts'

/** The data folder when none is given, relative to the working directory. */
export const defaultDataDir = '.strata/data'
/** Consumer groups <prefix>-speed and <prefix>-archiver. */
export const defaultGroupPrefix = 'strata'
export const defaultBatchInterval = '1m'
export const defaultSegmentAge = '10s'

/** A duration: milliseconds, or '500ms' | '30s' | '5m' | '1h' | '1d'. */
export type Duration = number | string

export interface StrataOptions {
  /**
   * The config file with the source and the views (`--config`; the CLI reads `STRATA_CONFIG`).
   * A file, not an object: batch worker threads load it for themselves. Relative paths are from
   * the working directory. Default `strata.config.ts`.
   */
  config?: string | undefined
  /**
   * The data folder: the master dataset and the embedded store (`--data`; CLI: `STRATA_DATA`).
   * Default `.strata/data`.
   */
  data?: string | undefined
  /**
   * The store (`--store`; CLI: `STRATA_STORE`): a folder or `lmdb:PATH` for the embedded LMDB
   * store, or `postgres://user@host/db?schema=s`. Default `<data>/store`.
   */
  store?: string | undefined
  /**
   * Kafka bootstrap brokers, comma-separated (`--brokers`; CLI: `STRATA_BROKERS`). Without them,
   * the embedded default: the master dataset's segments are the log (no Kafka, no Java).
   * SASL and TLS come from `STRATA_KAFKA_*`, read by the Kafka client (docs/security.md).
   */
  brokers?: string | undefined
  /**
   * Where the master dataset lives (`--master`; CLI: `STRATA_MASTER`): a folder, or
   * `s3://bucket/prefix` on S3-compatible object storage (Kafka mode; the dataset of topic T is
   * under `<master>/T`). Default `<data>/master`. An s3:// dataset is copied to
   * `<data>/master-cache/T` for the batch layer (docs/master-dataset.md, "On object storage").
   */
  master?: string | undefined
  /** How to reach an s3:// master: endpoint, path-style (CLI: STRATA_S3_ENDPOINT, AWS_ENDPOINT_URL). */
  s3?: S3Settings | undefined
  /**
   * Where the batch role folds and combines (`--engine`): `'local'` (worker threads, the default)
   * or `'spark'`, an Apache Spark job on `spark.master` (docs/batch-on-spark.md).
   */
  batchEngine?: BatchEngine | undefined
  /** The Spark engine's settings (`--spark-master`, `--spark-port`). */
  spark?: SparkEngineOptions | undefined
  /**
   * What runs: `'all'` every role in this process (`strata start`, the default), or one role
   * (`strata worker <role>`): `'speed'` and `'archiver'` need `brokers`.
   */
  role?: 'all' | Role | undefined
  /** HTTP port when serving (`--port`; CLI: `STRATA_PORT`). Default 8080; 0 picks a free port. */
  port?: number | undefined
  /** HTTP address to listen on (`--host`). Default `127.0.0.1`. */
  host?: string | undefined
  /**
   * Host names the server answers to, as a list or comma-separated (`--allowed-hosts`; CLI:
   * `STRATA_ALLOWED_HOSTS`): `.example.com` for a domain, `*` for any. Default: loopback names
   * and `host`.
   */
  allowedHosts?: string | readonly string[] | undefined
  /**
   * The HTTP bearer token, at least 16 characters (CLI: `--token-file`, `STRATA_TOKEN_FILE` or
   * `STRATA_TOKEN`). Required on POST /events and /metrics when set. Default: no token.
   */
  token?: string | undefined
  /** Require the token on the queries and the dashboard's data too (`--protect-queries`). */
  protectQueries?: boolean | undefined
  /** Largest HTTP request body in bytes (`--body-limit`). Default 16 MiB. */
  bodyLimit?: number | undefined
  /** Longest a client may take to send a request (`--request-timeout`). Default 30 s. */
  requestTimeout?: Duration | undefined
  /** At close, how long open connections are still answered 503 (`--shutdown-grace`). Default 1 s. */
  shutdownGrace?: Duration | undefined
  /** Role `serve` only: also take POST /events and write them to Kafka (`--ingest`; needs `brokers`). */
  ingest?: boolean | undefined
  /** Role `all`: consumer groups `<prefix>-speed` and `<prefix>-archiver` (`--group-prefix`). Default `strata`. */
  groupPrefix?: string | undefined
  /** One role: the consumer group of speed or archiver (`--group`). Default `strata-speed`, `strata-archiver`. */
  group?: string | undefined
  /** Time between batch runs (`--batch-interval`). Default 1 minute. */
  batchInterval?: Duration | undefined
  /** Longest a master-dataset segment stays open before it is sealed (`--segment-age`). Default 10 s. */
  segmentAge?: Duration | undefined
  /**
   * How long the start waits on Kafka and, with `startupRetry`, on the store (`--startup-timeout`).
   * A step on Kafka (the topic's check, joining a group) that has not settled by then fails with
   * STRATA_ERR_KAFKA_UNAVAILABLE naming the brokers: a broker that takes the connection and never
   * answers. A PostgreSQL store's first answer (connect and a first query) is bounded too
   * (STRATA_ERR_STORE_UNAVAILABLE naming the server and database); the migration after it is not
   * cut. Default 2 minutes.
   */
  startupTimeout?: Duration | undefined
  /**
   * Retry a retriable failure of the store or Kafka at start until `startupTimeout`, saying so on
   * each attempt (`strata worker`), rather than fail at the first (`strata start`). Default: true
   * when `startupTimeout` is given, as before it also bounded steps.
   */
  startupRetry?: boolean | undefined
  /**
   * The consumer-group session timeout of the speed layer and the archiver (`--session-timeout`;
   * CLI: `STRATA_SESSION_TIMEOUT`): how long the group waits for a member that stopped sending
   * heartbeats (a killed process) before it hands its partitions to the others. Heartbeats follow
   * at a third of it, at most every 3 s. The broker accepts 6 s to 30 min by default
   * (`group.min.session.timeout.ms`, `group.max.session.timeout.ms`). Default 30 s.
   */
  sessionTimeout?: Duration | undefined
  /**
   * How long a view's code may go without returning before a role stops waiting on it
   * (`--hang-timeout`; CLI: `STRATA_HANG_TIMEOUT`): a batch run's thread silent this long makes
   * /health say the batch layer is stalled, and at close a thread stuck this long is ended (exit
   * 1). The speed layer says stalled after half of it, since the fresh answers wait on it. At
   * least 2 s. Default 60 s (docs/health.md).
   */
  hangTimeout?: Duration | undefined
  /** Generated page-view traffic, events per second (`strata start --demo --demo-rate`). Default none. */
  demoRate?: number | undefined
  /** Where the roles log. Default: lines on stderr (runtime/logger.ts). */
  logger?: Logger | undefined
  /**
   * Aborted (a SIGTERM while starting: cli/shutdown.ts), the start gives up at its next step, before
   * taking the folder locks or before starting the roles, undoing what it did, and rejects with
   * STRATA_ERR_INTERRUPTED; aborted later, the caller closes what started.
   */
  signal?: AbortSignal | undefined
}

export const defaultSessionTimeout = '30s'
/** Kafka's default bounds on a member's session timeout (the broker's group.min/max.session.timeout.ms). */
export const minSessionTimeoutMs = 6_000
export const maxSessionTimeoutMs = 30 * 60_000

export const defaultHangTimeout = '60s'
/** Below this a busy machine's pause could pass for a hang (a batch thread reports every ~100 ms). */
export const minHangTimeoutMs = 2_000

/**
 * The hang timeout in ms (a duration, `field` names it in the error), 2 s to 24 days: a role stops
 * waiting on a view's code that has not returned for this long (role-reporters.ts, roles.ts).
 */
export function hangTimeoutMs(hangTimeout: Duration = defaultHangTimeout, field = 'hangTimeout'): number {
  const timeoutMs = parseTimerDuration(hangTimeout, field, ErrorCodes.INVALID_ARGUMENT)
  if (timeoutMs < minHangTimeoutMs) {
    throw invalidInput(
      ErrorCodes.INVALID_ARGUMENT,
      `${field} must be at least 2s (shorter, a busy machine's pause would pass for a view that never returns), got ${formatDuration(timeoutMs)}`,
      { field },
    )
  }
  return timeoutMs
}

/** The group timers of a role that joins a consumer group (speed layer, archiver). */
export interface GroupTimers {
  sessionTimeoutMs: number
  heartbeatIntervalMs: number
}

/**
 * The session timeout (a duration, `field` names it in the error) checked against Kafka's default
 * bounds, 6 s to 30 min: a broker refuses a join outside its bounds (INVALID_SESSION_TIMEOUT), so
 * it is refused here, at start, with the field named. The heartbeat interval follows Kafka's rule,
 * at most a third of the session (so two heartbeats may be lost), and at most Kafka's 3 s default.
 */
export function groupTimers(
  sessionTimeout: Duration = defaultSessionTimeout,
  field = 'sessionTimeout',
): GroupTimers {
  let sessionTimeoutMs: number
  try {
    sessionTimeoutMs = parseDuration(sessionTimeout, field)
  } catch (error) {
    throw invalidInput(ErrorCodes.INVALID_ARGUMENT, (error as Error).message, { field })
  }
  if (sessionTimeoutMs < minSessionTimeoutMs || sessionTimeoutMs > maxSessionTimeoutMs) {
    throw invalidInput(
      ErrorCodes.INVALID_ARGUMENT,
      `${field} must be between 6s and 30m (Kafka's group.min.session.timeout.ms and group.max.session.timeout.ms), got ${formatDuration(sessionTimeoutMs)}`,
      { field },
    )
  }
  return { sessionTimeoutMs, heartbeatIntervalMs: Math.min(3_000, Math.floor(sessionTimeoutMs / 3)) }
}

/** The consumer groups of the speed layer and the archiver. */
export function consumerGroups(options: Pick<StrataOptions, 'group' | 'groupPrefix'>): {
  speed: string
  archiver: string
} {
  if (options.group) return { speed: options.group, archiver: options.group }
  const prefix = options.groupPrefix ?? defaultGroupPrefix
  return { speed: `${prefix}-speed`, archiver: `${prefix}-archiver` }
}

/** Refuses a role that cannot run on these options, before anything is opened. */
export function checkRole(role: string, options: Pick<StrataOptions, 'brokers' | 'ingest'>): void {
  if (role !== 'all' && !(ROLES as readonly string[]).includes(role)) {
    throw invalidInput(ErrorCodes.INVALID_ARGUMENT, `unknown role "${role}": use ${ROLES.join(', ')}`, {
      field: 'role',
    })
  }
  if (!options.brokers && (role === 'speed' || role === 'archiver')) {
    throw invalidInput(
      ErrorCodes.INVALID_ARGUMENT,
      `strata worker ${role} reads Kafka: give --brokers (or STRATA_BROKERS); for one machine, use strata start`,
      { field: 'brokers' },
    )
  }
  if (options.ingest && (role !== 'serve' || !options.brokers)) {
    throw invalidInput(
      ErrorCodes.INVALID_ARGUMENT,
      role === 'serve'
        ? 'strata worker serve --ingest writes to Kafka: give --brokers (or STRATA_BROKERS)'
        : '--ingest is an option of strata worker serve',
      { field: 'ingest' },
    )
  }
}
