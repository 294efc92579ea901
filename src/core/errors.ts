// Every error Strata raises carries a stable code (documented, greppable, safe to match on),
// whether the caller may retry, and for errors that reach HTTP, the status to answer with.
// Modelled on fastify's createError('FST_ERR_…', message, status).

export const ErrorCodes = {
  // Bad input at a public boundary (HTTP body, CLI stdin, config file, flags).
  INVALID_EVENT: 'STRATA_ERR_INVALID_EVENT',
  INVALID_JSON: 'STRATA_ERR_INVALID_JSON',
  INVALID_EVENT_TIME: 'STRATA_ERR_INVALID_EVENT_TIME',
  EVENT_TOO_LARGE: 'STRATA_ERR_EVENT_TOO_LARGE',
  BATCH_TOO_LARGE: 'STRATA_ERR_BATCH_TOO_LARGE',
  EMPTY_BATCH: 'STRATA_ERR_EMPTY_BATCH',
  INVALID_CONFIG: 'STRATA_ERR_INVALID_CONFIG',
  INVALID_ARGUMENT: 'STRATA_ERR_INVALID_ARGUMENT',
  INVALID_VIEW: 'STRATA_ERR_INVALID_VIEW',
  // A view defined with onError('stop') threw on an event (core/view-errors.ts); views that skip
  // (the default) record the error instead.
  VIEW_FAILED: 'STRATA_ERR_VIEW_FAILED',
  UNKNOWN_VIEW: 'STRATA_ERR_UNKNOWN_VIEW',
  // A query that would read more of the store than the server allows (GET /views/:view/top).
  QUERY_TOO_LARGE: 'STRATA_ERR_QUERY_TOO_LARGE',
  INVALID_TIME_RANGE: 'STRATA_ERR_INVALID_TIME_RANGE',
  UNSUPPORTED_MEDIA_TYPE: 'STRATA_ERR_UNSUPPORTED_MEDIA_TYPE',
  // HTTP: no or a wrong bearer token (401); a request that outlived its time limit (408).
  UNAUTHORIZED: 'STRATA_ERR_UNAUTHORIZED',
  REQUEST_TIMEOUT: 'STRATA_ERR_REQUEST_TIMEOUT',
  // HTTP: a Host header the server was not told to answer to (DNS rebinding), 403.
  HOST_NOT_ALLOWED: 'STRATA_ERR_HOST_NOT_ALLOWED',
  // 503 while the server drains at shutdown: nothing of the request was written; retry.
  SHUTTING_DOWN: 'STRATA_ERR_SHUTTING_DOWN',
  // 503 while the process is still starting its layers (the port is bound first); retry.
  STARTING: 'STRATA_ERR_STARTING',
  // The HTTP port is taken: the process stops before any layer started (nothing was written).
  PORT_IN_USE: 'STRATA_ERR_PORT_IN_USE',
  // The log (Kafka or embedded) and the local cluster.
  KAFKA: 'STRATA_ERR_KAFKA',
  KAFKA_UNAVAILABLE: 'STRATA_ERR_KAFKA_UNAVAILABLE',
  // The broker refused our SASL credentials, or the TLS handshake failed (certificate, protocol).
  KAFKA_AUTH: 'STRATA_ERR_KAFKA_AUTH',
  KAFKA_TLS: 'STRATA_ERR_KAFKA_TLS',
  TOPIC: 'STRATA_ERR_TOPIC',
  CLUSTER: 'STRATA_ERR_CLUSTER',
  // A data folder or a store built from another source (the embedded log, another Kafka cluster,
  // topic, topic id or partition count) or from another master dataset than the one it is paired
  // with; or a topic whose partition count is not the config's. Refused at start: another --data
  // or --store, or `strata reset` (docs/master-dataset.md#source-identity).
  SOURCE_MISMATCH: 'STRATA_ERR_SOURCE_MISMATCH',
  // Kafka no longer has records the archiver or the speed layer needs (retention deleted them
  // before they were read): they can never be archived or counted. The role stops (exit 1).
  RETENTION_OUTRAN: 'STRATA_ERR_RETENTION_OUTRAN',
  // The master dataset.
  SEGMENT_CORRUPT: 'STRATA_ERR_SEGMENT_CORRUPT',
  SEGMENT_CONFLICT: 'STRATA_ERR_SEGMENT_CONFLICT',
  // A batch worker thread loaded the config file with other view definitions than the process
  // running the batch (the file was edited after the process loaded it): the run stops before it
  // folds, as its versions would be stamped with code hashes they were not computed with.
  // Restart the process to run the edited definitions.
  CONFIG_CHANGED: 'STRATA_ERR_CONFIG_CHANGED',
  // Another live process holds the lock of the data folder or embedded store (runtime/data-lock.ts).
  DATA_LOCKED: 'STRATA_ERR_DATA_LOCKED',
  // 507 at the HTTP edge: no room on the data folder's disk for a request's records; nothing of
  // the request was written or counted. Retriable once space is freed (no restart needed).
  DISK_FULL: 'STRATA_ERR_DISK_FULL',
  // The store's speed offsets count records the log no longer has (the log was damaged, cut or
  // replaced): refused at start; move the store aside and the layers rebuild it.
  STORE_AHEAD_OF_LOG: 'STRATA_ERR_STORE_AHEAD_OF_LOG',
  // The store.
  STORE: 'STRATA_ERR_STORE',
  // The embedded LMDB store is damaged (truncated, not an LMDB file, a bad page): the process
  // stops; recovery is to move the store folder aside and start again (docs/store-recovery.md).
  STORE_CORRUPT: 'STRATA_ERR_STORE_CORRUPT',
  // The store cannot be reached (PostgreSQL down or restarting): 503 with Retry-After at the
  // HTTP edge; a role that waited past its limit for it exits with this code.
  STORE_UNAVAILABLE: 'STRATA_ERR_STORE_UNAVAILABLE',
  FENCED: 'STRATA_ERR_FENCED',
  // Anything else is a bug in Strata.
  INTERNAL: 'STRATA_ERR_INTERNAL',
  // A stored or transported aggregate state that does not decode for its monoid.
  INVALID_STATE: 'STRATA_ERR_INVALID_STATE',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

export interface StrataErrorOptions {
  cause?: unknown
  /** True when the same call may succeed later (a broker election, a busy store). */
  retriable?: boolean
  /** HTTP status when the error reaches the serving layer. */
  status?: number
  /** Where the bad input is: a field name, a flag. */
  field?: string
  /** 1-based line in an NDJSON body or stdin. */
  line?: number
}

export class StrataError extends Error {
  readonly code: ErrorCode
  readonly retriable: boolean
  readonly status: number
  readonly field: string | undefined
  readonly line: number | undefined

  constructor(code: ErrorCode, message: string, options: StrataErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'StrataError'
    this.code = code
    this.retriable = options.retriable ?? false
    this.status = options.status ?? 500
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

/** Bad input from a user: never retried, answered with a 4xx. */
export function invalidInput(
  code: ErrorCode,
  message: string,
  options: Omit<StrataErrorOptions, 'retriable'> = {},
): StrataError {
  return new StrataError(code, message, { status: 400, ...options, retriable: false })
}

export function isStrataError(error: unknown): error is StrataError {
  return error instanceof StrataError
}
