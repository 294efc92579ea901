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
import pino, { type Logger as Pino } from 'pino'

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
  const direct = directLine(access)
  return (reqId, method, rawUrl, status, elapsedMs) => {
    // Read each time (the level may change while serving): below it, nothing of the line is made.
    if (!access.isLevelEnabled('info')) return
    const url = rawUrl.length > MAX_URL ? `${rawUrl.slice(0, MAX_URL)}…` : rawUrl
    const responseTime = Math.round(elapsedMs * 10) / 10
    if (
      direct !== undefined &&
      // pino writes a number that is not finite as null.
      Number.isFinite(status) &&
      Number.isFinite(responseTime) &&
      PLAIN.test(url) &&
      PLAIN.test(reqId) &&
      PLAIN.test(method)
    ) {
      direct(reqId, method, url, status, responseTime)
      return
    }
    const fields = { reqId, req: { method, url }, res: { statusCode: status }, responseTime }
    // Server errors are logged with their cause by the error handler; this line is the access log.
    access.info(fields, `${method} ${url} ${status} ${responseTime} ms`)
  }
}

// Text that JSON writes as itself between quotes (printable ASCII but `"` and `\\`): pino's string
// escaping and JSON.stringify both leave it as it is, so the line below is pino's byte for byte.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

type DirectLine = (reqId: string, method: string, url: string, status: number, responseTime: number) => void

/**
 * The access line written as pino writes it, without pino's walk over a fields object: at 5,000
 * queries a second the line was ~10% of `strata start`'s serving thread (pino's asJson and its
 * stringify of the nested req and res objects; BENCHMARKS.md, Query, session 15). Same parts in
 * the same order — pino's level prefix, its time field, the logger's bindings, the four fields,
 * the message, its line end — handed to the same stream (runtime/logger.ts: scrubbed, gathered).
 * Only where that is provably pino's line: undefined (pino writes every line) when the logger
 * has anything that changes a line outside asJson (a mixin, a message prefix, a log-method or
 * stream-write hook, a stream that wants pino's metadata), or when pino's own line for probe
 * values differs from this one (other formatters, serializers of these keys). Pretty output is
 * made by the stream from this same line.
 */
export function directLine(access: Pino): DirectLine | undefined {
  // msgPrefixSym is in pino's symbols but not in their type.
  const s = pino.symbols as typeof pino.symbols & { msgPrefixSym: symbol }
  const logger = access as unknown as Record<symbol, unknown>
  const stream = logger[s.streamSym] as { write(line: string): void; [key: symbol]: unknown } | undefined
  const hooks = logger[s.hooksSym] as { streamWrite?: unknown; logMethod?: unknown } | undefined
  if (
    stream === undefined ||
    typeof stream.write !== 'function' ||
    stream[s.needsMetadataGsym] === true ||
    logger[s.mixinSym] ||
    typeof logger[s.msgPrefixSym] === 'string' ||
    hooks?.streamWrite !== undefined ||
    hooks?.logMethod !== undefined
  )
    return undefined
  const info = (access.levels.values as Record<string, number>).info
  const prefix = (logger[s.lsCacheSym] as Record<number, string> | undefined)?.[info as number]
  const time = logger[s.timeSym] as (() => string) | undefined
  const asJson = logger[s.asJsonSym] as
    | ((obj: object, msg: string, num: number, time: string) => string)
    | undefined
  if (typeof prefix !== 'string' || typeof time !== 'function' || typeof asJson !== 'function')
    return undefined
  const line = (
    t: string,
    reqId: string,
    method: string,
    url: string,
    status: number,
    responseTime: number,
  ) =>
    `${prefix}${t}${logger[s.chindingsSym] as string},"reqId":"${reqId}","req":{"method":"${method}","url":"${url}"},"res":{"statusCode":${status}},"responseTime":${responseTime},"msg":"${method} ${url} ${status} ${responseTime} ms"${logger[s.endSym] as string}`
  // Probes with what pino could write differently: a '%' (format directives), a fraction, a 5xx.
  for (const [reqId, method, url, status, responseTime] of [
    ['req-1', 'GET', '/views/v/%2Fp%2F1%25s', 200, 0.3],
    ['r', 'POST', '/', 503, 12],
  ] as const) {
    const t = time.call(access)
    const fields = { reqId, req: { method, url }, res: { statusCode: status }, responseTime }
    const msg = `${method} ${url} ${status} ${responseTime} ms`
    if (
      asJson.call(access, fields, msg, info as number, t) !==
      line(t, reqId, method, url, status, responseTime)
    )
      return undefined
  }
  return (reqId, method, url, status, responseTime) =>
    stream.write(line(time.call(access), reqId, method, url, status, responseTime))
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
