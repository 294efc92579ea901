// One log line per answered request: method, URL, status and response time, as Fastify's own
// request logging gives in two lines ("incoming request", "request completed"). Never a header:
// the Authorization header carries the token (docs/security.md, "What never appears in output"),
// and the logger redacts it as well should anything log the request whole.
import type { FastifyReply, FastifyRequest } from 'fastify'

// URLs are the client's: a key may be long; the line stays readable.
const MAX_URL = 200

export async function logRequest(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const url = request.url.length > MAX_URL ? `${request.url.slice(0, MAX_URL)}…` : request.url
  const responseTime = Math.round(reply.elapsedTime * 10) / 10
  const status = reply.statusCode
  const fields = { req: { method: request.method, url }, res: { statusCode: status }, responseTime }
  const message = `${request.method} ${url} ${status} ${responseTime} ms`
  // Server errors are logged with their cause by the error handler; this line is the access log.
  request.log.info(fields, message)
}
