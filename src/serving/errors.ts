// One error handler for the whole API: every failure is answered as
// { error: { code, message, line?, field? } } with the status its code carries (errorTable in
// core/errors.ts; the layers below raise codes and never pick a status). A StrataError keeps its
// message; Fastify's own errors are named in our codes; anything else is a bug in Strata,
// answered without its internals.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type ErrorCode, ErrorCodes, isStrataError, StrataError } from '../core/errors.ts'

// Fastify's own errors for bad requests, in our vocabulary. Fastify's factory gives each FST code
// a status; ours for it is the same one (test/serving/errors.test.ts holds them equal). Its other
// 4xx errors are 400s (STRATA_ERR_INVALID_ARGUMENT), or a 404 (STRATA_ERR_NOT_FOUND).
export const fastifyCodes: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ErrorCodes.BATCH_TOO_LARGE,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ErrorCodes.UNSUPPORTED_MEDIA_TYPE,
  FST_ERR_CTP_EMPTY_JSON_BODY: ErrorCodes.EMPTY_BATCH,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ErrorCodes.INVALID_ARGUMENT,
  FST_ERR_VALIDATION: ErrorCodes.INVALID_ARGUMENT,
  FST_ERR_BAD_URL: ErrorCodes.INVALID_ARGUMENT,
  FST_ERR_MAX_PARAM_LENGTH: ErrorCodes.URL_TOO_LONG,
}

/** What POST /events takes: JSON types only, so a cross-site form or text/plain POST is refused. */
export const EVENT_CONTENT_TYPES = [
  'application/json',
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
]

// A PostgreSQL restart (crash recovery included) takes a few seconds.
const STORE_RETRY_AFTER_S = 2
const KAFKA_RETRY_AFTER_S = 2
// A full disk is freed by someone (or by retention), not in 2 s; room is measured again on each
// request, so a retry succeeds as soon as there is room. 10 s keeps a client's retry loop from
// hammering the server meanwhile (4 clients retrying at once wrote 30 000 requests in 20 s).
export const DISK_FULL_RETRY_AFTER_S = 10

/** An answer of the API to a failed request. */
export interface ErrorAnswer {
  status: number
  error: StrataError
  /** Seconds for the Retry-After header, when the same request will be answered later. */
  retryAfterS?: number
}

/** The answer to a StrataError: the status of its code, its message, Retry-After for the store. */
export function answerOf(error: StrataError): ErrorAnswer {
  // A retriable STRATA_ERR_STORE is the store down or restarting (PostgreSQL): nothing is wrong
  // with the request, and it will be answered once the store is back. Its message names the store
  // (host, database, schema) and the driver's words, which an answer never carries: the server
  // log has them (installErrorHandler).
  if (error.code === ErrorCodes.STORE && error.retriable) {
    const unavailable = new StrataError(
      ErrorCodes.STORE_UNAVAILABLE,
      'the store is unavailable; retry shortly',
      {
        retriable: true,
      },
    )
    return { status: unavailable.status, error: unavailable, retryAfterS: STORE_RETRY_AFTER_S }
  }
  // Any other STRATA_ERR_STORE (a role refused its login, a permission revoked) is the server's
  // trouble too, and its message names the store just the same: the answer keeps the code and
  // says where the detail is (the 5xx is logged with it). Before session 20 a query answered
  // `PostgreSQL store (postgres://user@host:port/db, schema s): … role "user" is not permitted to
  // log in` to any client.
  if (error.code === ErrorCodes.STORE) {
    const failed = new StrataError(ErrorCodes.STORE, 'the store failed to answer; see the server log')
    return { status: failed.status, error: failed }
  }
  if (error.code === ErrorCodes.STORE_UNAVAILABLE && error.retriable) {
    return { status: error.status, error, retryAfterS: STORE_RETRY_AFTER_S }
  }
  // The producer has already retried for its budget; a leader election takes seconds.
  if (error.code === ErrorCodes.KAFKA_UNAVAILABLE) {
    return { status: error.status, error, retryAfterS: KAFKA_RETRY_AFTER_S }
  }
  // No room for the request's records (507): nothing was written, the same request can succeed
  // once space is freed; a client honours Retry-After as it does a 503's.
  if (error.code === ErrorCodes.DISK_FULL && error.retriable) {
    return { status: error.status, error, retryAfterS: DISK_FULL_RETRY_AFTER_S }
  }
  return { status: error.status, error }
}

/**
 * The answer to an error of Fastify (a bad URL, body or content type), in our codes; undefined
 * for an error that is not the request's fault (a bug: installErrorHandler answers 500).
 */
export function frameworkAnswerOf(error: FastifyError | Error, bodyLimit?: number): ErrorAnswer | undefined {
  const fastifyCode = 'code' in error && typeof error.code === 'string' ? error.code : undefined
  const known = fastifyCode === undefined ? undefined : fastifyCodes[fastifyCode]
  const statusCode = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500
  if (known === undefined && statusCode >= 500) return undefined
  const code = known ?? (statusCode === 404 ? ErrorCodes.NOT_FOUND : ErrorCodes.INVALID_ARGUMENT)
  const field = validationField(error)
  const answer = new StrataError(code, messageOf(error, bodyLimit), field === undefined ? {} : { field })
  return { status: answer.status, error: answer }
}

// A schema refusal ("querystring/limit must be >= 1", "body must have required property 'key'")
// names its place in the message only; every other refusal carries it as `field` too: the query
// parameter, body property or path parameter that was wrong.
function validationField(error: FastifyError | Error): string | undefined {
  if (!('validation' in error) || !Array.isArray(error.validation)) return undefined
  const [first] = error.validation as Array<{ instancePath?: string; params?: Record<string, unknown> }>
  if (first === undefined) return undefined
  // Nested as in the instance: a property missing inside `range` is range.from, as a wrong one is.
  const named = first.params?.missingProperty ?? first.params?.additionalProperty
  const parts = (first.instancePath ?? '').split('/').filter((part) => part !== '')
  if (typeof named === 'string') parts.push(named)
  return parts.length === 0 ? undefined : parts.join('.')
}

function messageOf(error: FastifyError | Error, bodyLimit: number | undefined): string {
  // Fastify's words ("Request body is too large") leave a client to guess how large is too large.
  if ('code' in error && error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && bodyLimit !== undefined) {
    return `the request body is larger than the limit of ${bodyLimit} bytes (the server's --body-limit): split the input`
  }
  if ('code' in error && error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return `${error.message}: POST /events takes ${EVENT_CONTENT_TYPES.join(', ')} (curl: -H 'content-type: application/json')`
  }
  return error.message
}

function send(reply: FastifyReply, answer: ErrorAnswer): FastifyReply {
  if (answer.retryAfterS !== undefined) reply.header('retry-after', String(answer.retryAfterS))
  return reply.code(answer.status).send(answer.error.toJSON())
}

/** Fastify's router errors (a malformed URL, a parameter over the limit), in our shape. */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const code = fastifyCodes[error.code] ?? ErrorCodes.INVALID_ARGUMENT
  send(reply, answerOf(new StrataError(code, error.message)))
}

/** Where every 5xx answer is told, with its cause (the answer itself never carries internals). */
export type ServerErrorLog = (message: string, error: unknown) => void

// A 503 or 507 is a condition of the whole server (disk full, store or broker down, shutting
// down) that /health already reports, met by every request while it lasts: logged once per code
// per interval with how many more were answered the same, not once per request (met from a
// user's seat: a full disk under 4 retrying clients wrote 30 000 error lines, 19 MB, in 20 s, to
// a log that may share that disk). A 500 is a bug: every one is logged.
export const CONDITION_LOG_INTERVAL_MS = 10_000

export function installErrorHandler(
  app: FastifyInstance,
  logServerError?: ServerErrorLog,
  now: () => number = Date.now,
): void {
  const lastLogged = new Map<string, { at: number; unlogged: number }>()
  const log5xx = (request: FastifyRequest, status: number, error: unknown) => {
    let more = ''
    if (status !== 500 && isStrataError(error)) {
      const last = lastLogged.get(error.code)
      if (last !== undefined && now() - last.at < CONDITION_LOG_INTERVAL_MS) {
        last.unlogged++
        return
      }
      if (last !== undefined && last.unlogged > 0)
        more = ` (and ${last.unlogged} more answered the same since the last line)`
      lastLogged.set(error.code, { at: now(), unlogged: 0 })
    }
    request.log.error({ reqId: request.id, err: error }, `request failed${more}`)
    logServerError?.(`${request.method} ${request.url.slice(0, 200)} answered ${status}${more}`, error)
  }
  app.setErrorHandler((error: FastifyError | StrataError | Error, request, reply) => {
    if (isStrataError(error)) {
      const answer = answerOf(error)
      if (answer.status >= 500) log5xx(request, answer.status, error)
      return send(reply, answer)
    }
    const answer = frameworkAnswerOf(error, request.routeOptions?.bodyLimit)
    if (answer !== undefined) return send(reply, answer)
    log5xx(request, 500, error)
    // Never echo internals (they may hold connection strings); the log has the detail.
    return send(reply, {
      status: 500,
      error: new StrataError(ErrorCodes.INTERNAL, 'internal error; see the server log'),
    })
  })
  app.setNotFoundHandler((request, reply) => {
    send(reply, answerOf(new StrataError(ErrorCodes.NOT_FOUND, `no route ${request.method} ${request.url}`)))
  })
}
