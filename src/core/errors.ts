// Every error Strata raises carries a stable code (documented, greppable, safe to match on),
// whether the caller may retry, and the HTTP status it is answered with. The status belongs to
// the code and is set once, here, as fastify's createError('FST_ERR_…', message, statusCode)
// does: deep layers (store, speed, log) raise codes and never pick a status; the serving layer
// answers with the code's status (serving/errors.ts). A code met only off HTTP (a role that
// stops, a CLI command) has one too, so that every StrataError has a status.

/** Each code with its HTTP status. One status per code: a different status is another code. */
export const errorTable = {
  // Bad input at a public boundary (HTTP body, CLI stdin, config file, flags).
  INVALID_EVENT: ['STRATA_ERR_INVALID_EVENT', 400],
  INVALID_JSON: ['STRATA_ERR_INVALID_JSON', 400],
  INVALID_EVENT_TIME: ['STRATA_ERR_INVALID_EVENT_TIME', 400],
  EVENT_TOO_LARGE: ['STRATA_ERR_EVENT_TOO_LARGE', 413],
  BATCH_TOO_LARGE: ['STRATA_ERR_BATCH_TOO_LARGE', 413],
  EMPTY_BATCH: ['STRATA_ERR_EMPTY_BATCH', 400],
  INVALID_CONFIG: ['STRATA_ERR_INVALID_CONFIG', 400],
  INVALID_ARGUMENT: ['STRATA_ERR_INVALID_ARGUMENT', 400],
  INVALID_VIEW: ['STRATA_ERR_INVALID_VIEW', 400],
  // A view defined with onError('stop') threw on an event (core/view-errors.ts); views that skip
  // (the default) record the error instead.
  VIEW_FAILED: ['STRATA_ERR_VIEW_FAILED', 500],
  UNKNOWN_VIEW: ['STRATA_ERR_UNKNOWN_VIEW', 404],
  // A query that would read more of the store than the server allows (GET /views/:view/top).
  QUERY_TOO_LARGE: ['STRATA_ERR_QUERY_TOO_LARGE', 422],
  INVALID_TIME_RANGE: ['STRATA_ERR_INVALID_TIME_RANGE', 400],
  UNSUPPORTED_MEDIA_TYPE: ['STRATA_ERR_UNSUPPORTED_MEDIA_TYPE', 415],
  // HTTP: no route for the method and path.
  NOT_FOUND: ['STRATA_ERR_NOT_FOUND', 404],
  // HTTP: a path parameter over the router's limit (16 KiB; Fastify's FST_ERR_MAX_PARAM_LENGTH).
  URL_TOO_LONG: ['STRATA_ERR_URL_TOO_LONG', 414],
  // HTTP: a request line and headers over Node's limit (16 KiB), refused before any route.
  HEADERS_TOO_LARGE: ['STRATA_ERR_HEADERS_TOO_LARGE', 431],
  // HTTP: no or a wrong bearer token; a request that outlived its time limit.
  UNAUTHORIZED: ['STRATA_ERR_UNAUTHORIZED', 401],
  REQUEST_TIMEOUT: ['STRATA_ERR_REQUEST_TIMEOUT', 408],
  // HTTP: a Host header the server was not told to answer to (DNS rebinding).
  HOST_NOT_ALLOWED: ['STRATA_ERR_HOST_NOT_ALLOWED', 403],
  // While the server drains at shutdown: nothing of the request was written; retry.
  SHUTTING_DOWN: ['STRATA_ERR_SHUTTING_DOWN', 503],
  // While the process is still starting its layers (the port is bound first); retry.
  STARTING: ['STRATA_ERR_STARTING', 503],
  // The HTTP port is taken: the process stops before any layer started (nothing was written).
  PORT_IN_USE: ['STRATA_ERR_PORT_IN_USE', 500],
  // A server or service a command was pointed at does not answer (connection refused, no such
  // host, timed out): `strata query --url` a server that is not running, a store not up.
  UNREACHABLE: ['STRATA_ERR_UNREACHABLE', 503],
  // A command that reads (strata query) was pointed at a data folder with no store in it: it
  // creates nothing and says which folder it looked in (--data, --store, STRATA_DATA).
  NO_DATA: ['STRATA_ERR_NO_DATA', 404],
  // The log (Kafka or embedded) and the local cluster.
  KAFKA: ['STRATA_ERR_KAFKA', 500],
  // No broker answers (down, restarting, an election): nothing is wrong with the request, and
  // POST /events is answered 503 with Retry-After, as a client's retry loop expects.
  KAFKA_UNAVAILABLE: ['STRATA_ERR_KAFKA_UNAVAILABLE', 503],
  // A record the producer could not get acknowledged within its delivery timeout (Kafka's
  // delivery.timeout.ms; default 120 s from send(), retries and waiting included). It may have
  // been written if it was sent; retriable, answered 503 with Retry-After.
  KAFKA_DELIVERY_TIMEOUT: ['STRATA_ERR_KAFKA_DELIVERY_TIMEOUT', 503],
  // The broker refused our SASL credentials, or the TLS handshake failed (certificate, protocol).
  KAFKA_AUTH: ['STRATA_ERR_KAFKA_AUTH', 500],
  KAFKA_TLS: ['STRATA_ERR_KAFKA_TLS', 500],
  TOPIC: ['STRATA_ERR_TOPIC', 500],
  CLUSTER: ['STRATA_ERR_CLUSTER', 500],
  // A data folder or a store built from another source (the embedded log, another Kafka cluster,
  // topic, topic id or partition count) or from another master dataset than the one it is paired
  // with; or a topic whose partition count is not the config's. Refused at start: another --data
  // or --store, or `strata reset` (docs/master-dataset.md#source-identity).
  SOURCE_MISMATCH: ['STRATA_ERR_SOURCE_MISMATCH', 409],
  // Kafka no longer has records the archiver or the speed layer needs (retention deleted them
  // before they were read): they can never be archived or counted. The role stops (exit 1).
  RETENTION_OUTRAN: ['STRATA_ERR_RETENTION_OUTRAN', 503],
  // The master dataset.
  SEGMENT_CORRUPT: ['STRATA_ERR_SEGMENT_CORRUPT', 500],
  SEGMENT_CONFLICT: ['STRATA_ERR_SEGMENT_CONFLICT', 500],
  // The master dataset on S3-compatible object storage (docs/master-dataset.md, "On object
  // storage"): the store does not answer (refused, timed out, 5xx; retriable), refuses our
  // credentials (no secret is ever in the message), or refuses the request otherwise (no such bucket).
  MASTER_UNAVAILABLE: ['STRATA_ERR_MASTER_UNAVAILABLE', 503],
  MASTER_AUTH: ['STRATA_ERR_MASTER_AUTH', 500],
  MASTER_STORAGE: ['STRATA_ERR_MASTER_STORAGE', 500],
  // The batch layer on Apache Spark (docs/batch-on-spark.md): the master named by --spark-master
  // does not answer (retriable: start it, or wait for it), or the Spark job failed (a task failed
  // past spark.task.maxFailures, java or the jars missing, the driver exited): nothing was staged.
  SPARK_UNAVAILABLE: ['STRATA_ERR_SPARK_UNAVAILABLE', 503],
  SPARK: ['STRATA_ERR_SPARK', 500],
  // A batch worker thread loaded the config file with other view definitions than the process
  // running the batch (the file was edited after the process loaded it): the run stops before it
  // folds, as its versions would be stamped with code hashes they were not computed with.
  // Restart the process to run the edited definitions.
  CONFIG_CHANGED: ['STRATA_ERR_CONFIG_CHANGED', 409],
  // A command stopped by SIGINT or SIGTERM before it finished (`strata batch`: no version was
  // flipped after the signal; the served versions stay). The process exits 130 or 143.
  INTERRUPTED: ['STRATA_ERR_INTERRUPTED', 503],
  // Another live process holds the lock of the data folder or embedded store (runtime/data-lock.ts).
  DATA_LOCKED: ['STRATA_ERR_DATA_LOCKED', 409],
  // No room on the data folder's disk for a request's records (507 Insufficient Storage); nothing
  // of the request was written or counted. Retriable once space is freed (no restart needed).
  DISK_FULL: ['STRATA_ERR_DISK_FULL', 507],
  // The store's speed offsets count records the log no longer has (the log was damaged, cut or
  // replaced): refused at start; move the store aside and the layers rebuild it.
  STORE_AHEAD_OF_LOG: ['STRATA_ERR_STORE_AHEAD_OF_LOG', 500],
  // The store. A retriable STRATA_ERR_STORE (PostgreSQL down or restarting) is answered at the
  // HTTP edge as STRATA_ERR_STORE_UNAVAILABLE, without the store's detail (serving/errors.ts).
  STORE: ['STRATA_ERR_STORE', 500],
  // The embedded LMDB store is damaged (truncated, not an LMDB file, a bad page): the process
  // stops; recovery is to move the store folder aside and start again (docs/store-recovery.md).
  STORE_CORRUPT: ['STRATA_ERR_STORE_CORRUPT', 500],
  // The store was written by another version of Strata in a layout this one cannot read: refused
  // at open, nothing read or written (store/store-format.ts; docs/operations.md#upgrading).
  STORE_FORMAT: ['STRATA_ERR_STORE_FORMAT', 500],
  // The store cannot be reached (PostgreSQL down or restarting), or cannot give one consistent
  // answer now (the batch version flipped under every attempt of a ranking): answered with
  // Retry-After when retriable; a role that waited past its limit for the store exits with it.
  STORE_UNAVAILABLE: ['STRATA_ERR_STORE_UNAVAILABLE', 503],
  // Another speed worker took the partition over (our claim's epoch is stale).
  FENCED: ['STRATA_ERR_FENCED', 409],
  // Anything else is a bug in Strata.
  INTERNAL: ['STRATA_ERR_INTERNAL', 500],
  // A stored or transported aggregate state that does not decode for its monoid.
  INVALID_STATE: ['STRATA_ERR_INVALID_STATE', 500],
} as const satisfies Record<string, readonly [`STRATA_ERR_${string}`, number]>

type ErrorTable = typeof errorTable

/** The codes by name: `ErrorCodes.STORE` is 'STRATA_ERR_STORE'. */
export const ErrorCodes = Object.fromEntries(
  Object.entries(errorTable).map(([name, [code]]) => [name, code]),
) as { readonly [Name in keyof ErrorTable]: ErrorTable[Name][0] }

export type ErrorCode = ErrorTable[keyof ErrorTable][0]

const statuses: ReadonlyMap<string, number> = new Map(Object.values(errorTable))

/** The HTTP status a code is answered with (500 for a string that is no code of ours). */
export function statusOf(code: ErrorCode): number {
  return statuses.get(code) ?? 500
}

export interface StrataErrorOptions {
  cause?: unknown
  /** True when the same call may succeed later (a broker election, a busy store). */
  retriable?: boolean
  /** Where the bad input is: a field name, a flag. */
  field?: string
  /** 1-based line in an NDJSON body or stdin. */
  line?: number
}

export class StrataError extends Error {
  readonly code: ErrorCode
  readonly retriable: boolean
  /** HTTP status, from the code (errorTable). */
  readonly status: number
  readonly field: string | undefined
  readonly line: number | undefined

  constructor(code: ErrorCode, message: string, options: StrataErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'StrataError'
    this.code = code
    this.retriable = options.retriable ?? false
    this.status = statusOf(code)
    this.field = options.field
    this.line = options.line
  }

  /** The body the HTTP API and the CLI print: `{ error: { code, message, line?, field? } }`. */
  toJSON(): { error: { code: ErrorCode; message: string; line?: number; field?: string } } {
    const error: { code: ErrorCode; message: string; line?: number; field?: string } = {
      code: this.code,
      message: this.message,
    }
    if (this.line !== undefined) error.line = this.line
    if (this.field !== undefined) error.field = this.field
    return { error }
  }
}

/** Bad input from a user: never retried; answered with its code's 4xx. */
export function invalidInput(
  code: ErrorCode,
  message: string,
  options: Omit<StrataErrorOptions, 'retriable'> = {},
): StrataError {
  return new StrataError(code, message, { ...options, retriable: false })
}

/**
 * A command stopped by a signal before it finished (STRATA_ERR_INTERRUPTED); the CLI exits with
 * 128 + the signal's number, as a shell reports a process the signal ended (130 for SIGINT).
 */
export class InterruptedError extends StrataError {
  /** 'SIGINT', 'SIGTERM', or another name when no signal was the cause. */
  readonly signal: string

  constructor(signal: string, message: string) {
    super(ErrorCodes.INTERRUPTED, message)
    this.signal = signal
  }
}

export function isStrataError(error: unknown): error is StrataError {
  return error instanceof StrataError
}
