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
import type { FastifyBaseLogger, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'

// URLs are the client's: a key may be long; the line stays readable.
const MAX_URL = 200

export function requestLogger(
  log: FastifyBaseLogger,
): (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void {
  const access = log.child({}, { redact: { paths: [] } })
  // A callback hook: nothing is awaited, and an async one costs a promise per request.
  return (request, reply, done) => {
    const url = request.url.length > MAX_URL ? `${request.url.slice(0, MAX_URL)}…` : request.url
    const responseTime = Math.round(reply.elapsedTime * 10) / 10
    const status = reply.statusCode
    const fields = {
      reqId: request.id,
      req: { method: request.method, url },
      res: { statusCode: status },
      responseTime,
    }
    // Server errors are logged with their cause by the error handler; this line is the access log.
    access.info(fields, `${request.method} ${url} ${status} ${responseTime} ms`)
    done()
  }
}
