// One log line per answered request: method, URL, status and response time, as Fastify's own
// request logging gives in two lines ("incoming request", "request completed"). Never a header:
// the Authorization header carries the token (docs/security.md, "What never appears in output").
//
// The line is written by a child of the process's logger without pino's redaction by path: its
// fields are these four, built here, none of which a redaction path names (a header, a password,
// a token), and pino's redaction cloned and walked them all the same on every request — 29 against
// 9 µs a line, the largest part of the request log's share of a query's CPU (decision 0013). The
// URL is the client's free text: it is scrubbed on the way out like every line (runtime/logger.ts),
// which is also what hid a token in it before.
//
// Two writers share the line: Fastify's onResponse hook (requestLogger) and the query route's
// path outside Fastify (api/query-fast-path.ts, decision 0018), through accessLogger.
import type { FastifyBaseLogger, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import type { Logger as Pino } from 'pino'

// URLs are the client's: a key may be long; the line stays readable.
const MAX_URL = 200

/** Writes the access line of one answered request; `elapsedMs` as Fastify's reply.elapsedTime. */
export type AccessLog = (
  reqId: string,
  method: string,
  url: string,
  status: number,
  elapsedMs: number,
) => void

export function accessLogger(log: FastifyBaseLogger): AccessLog {
  // Fastify's logger is pino (runtime/logger.ts): its level test is pino's.
  const access = log.child({}, { redact: { paths: [] } }) as unknown as Pino
  return (reqId, method, rawUrl, status, elapsedMs) => {
    // Read each time (the level may change while serving): below it, nothing of the line is made.
    if (!access.isLevelEnabled('info')) return
    const url = rawUrl.length > MAX_URL ? `${rawUrl.slice(0, MAX_URL)}…` : rawUrl
    const responseTime = Math.round(elapsedMs * 10) / 10
    const fields = { reqId, req: { method, url }, res: { statusCode: status }, responseTime }
    // Server errors are logged with their cause by the error handler; this line is the access log.
    access.info(fields, `${method} ${url} ${status} ${responseTime} ms`)
  }
}

/** The onResponse hook writing the access line of every request Fastify answers. */
export function requestLogger(
  line: AccessLog,
): (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void {
  // A callback hook: nothing is awaited, and an async one costs a promise per request.
  return (request, reply, done) => {
    line(request.id, request.method, request.url, reply.statusCode, reply.elapsedTime)
    done()
  }
}
