// One error handler for the whole API: every failure is answered as
// { error: { code, message, line?, field? } } with a status that says whose fault it was.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ErrorCodes, isStrataError, StrataError } from '../core/errors.ts'

// Fastify's own errors for bad requests, in our vocabulary.
const fastifyCodes: Record<string, { code: (typeof ErrorCodes)[keyof typeof ErrorCodes]; status: number }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: ErrorCodes.BATCH_TOO_LARGE, status: 413 },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: ErrorCodes.UNSUPPORTED_MEDIA_TYPE, status: 415 },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: ErrorCodes.EMPTY_BATCH, status: 400 },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: ErrorCodes.INVALID_ARGUMENT, status: 400 },
  FST_ERR_VALIDATION: { code: ErrorCodes.INVALID_ARGUMENT, status: 400 },
  FST_ERR_BAD_URL: { code: ErrorCodes.INVALID_ARGUMENT, status: 400 },
  FST_ERR_MAX_PARAM_LENGTH: { code: ErrorCodes.INVALID_ARGUMENT, status: 414 },
}

/** What POST /events takes: JSON types only, so a cross-site form or text/plain POST is refused. */
export const EVENT_CONTENT_TYPES = [
  'application/json',
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
]

function messageOf(error: FastifyError | Error): string {
  if ('code' in error && error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return `${error.message}: POST /events takes ${EVENT_CONTENT_TYPES.join(', ')} (curl: -H 'content-type: application/json')`
  }
  return error.message
}

/** Fastify's router errors (a malformed URL, a parameter over the limit), in our shape. */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const known = fastifyCodes[error.code] ?? { code: ErrorCodes.INVALID_ARGUMENT, status: 400 }
  reply.code(known.status).send(new StrataError(known.code, error.message, { status: known.status }).toJSON())
}

// A PostgreSQL restart (crash recovery included) takes a few seconds.
const STORE_RETRY_AFTER_S = 2

/** Where every 5xx answer is told, with its cause (the answer itself never carries internals). */
export type ServerErrorLog = (message: string, error: unknown) => void

export function installErrorHandler(app: FastifyInstance, logServerError?: ServerErrorLog): void {
  const log5xx = (request: FastifyRequest, status: number, error: unknown) => {
    request.log.error({ err: error }, 'request failed')
    logServerError?.(`${request.method} ${request.url.slice(0, 200)} answered ${status}`, error)
  }
  app.setErrorHandler((error: FastifyError | StrataError | Error, request, reply) => {
    if (isStrataError(error)) {
      // The store is down or restarting (PostgreSQL): nothing is wrong with the request and the
      // same query will be answered once the store is back, so say so, and when to ask again.
      if (
        error.retriable &&
        (error.code === ErrorCodes.STORE || error.code === ErrorCodes.STORE_UNAVAILABLE)
      ) {
        log5xx(request, 503, error)
        return reply
          .code(503)
          .header('retry-after', String(STORE_RETRY_AFTER_S))
          .send(
            new StrataError(ErrorCodes.STORE_UNAVAILABLE, 'the store is unavailable; retry shortly', {
              status: 503,
              retriable: true,
            }).toJSON(),
          )
      }
      if (error.status >= 500) log5xx(request, error.status, error)
      return reply.code(error.status).send(error.toJSON())
    }
    const known = 'code' in error && typeof error.code === 'string' ? fastifyCodes[error.code] : undefined
    if (known) {
      return reply
        .code(known.status)
        .send(new StrataError(known.code, messageOf(error), { status: known.status }).toJSON())
    }
    const status = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500
    if (status < 500) {
      return reply
        .code(status)
        .send(new StrataError(ErrorCodes.INVALID_ARGUMENT, error.message, { status }).toJSON())
    }
    log5xx(request, 500, error)
    // Never echo internals (they may hold connection strings); the log has the detail.
    return reply
      .code(500)
      .send(new StrataError(ErrorCodes.INTERNAL, 'internal error; see the server log').toJSON())
  })
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(
      new StrataError(ErrorCodes.INVALID_ARGUMENT, `no route ${request.method} ${request.url}`, {
        status: 404,
      }).toJSON(),
    )
  })
}
