// HTTP limits: how big a request may be and how long a client may take to send it. A slow or
// stuck client must not hold a connection (and its memory) forever; a huge body must not be read.
//
//   bodyLimit         largest body, bytes (default 16 MiB): 413 STRATA_ERR_BATCH_TOO_LARGE
//   headersTimeoutMs  time to receive the headers (default 10 s, never above requestTimeoutMs)
//   requestTimeoutMs  time to receive the whole request (default 30 s): 408 STRATA_ERR_REQUEST_TIMEOUT
//   connectionTimeoutMs  an idle socket is closed after this (default 60 s; the dashboard's
//                     stream sends every second, so it is never idle that long)
//   keepAliveTimeoutMs   an idle keep-alive connection is closed after this (default 72 s: longer
//                     than the 60 s idle timeout of common load balancers, as Fastify's default)
//   shutdownGraceMs   at close, how long requests arriving on open connections are still read
//                     (and answered 503 STRATA_ERR_SHUTTING_DOWN) before idle connections are
//                     closed (default 1 s; drain.ts)
import http from 'node:http'
import type { Socket } from 'node:net'
import { ErrorCodes, statusOf } from '../core/errors.ts'

export interface HttpLimits {
  bodyLimit?: number
  headersTimeoutMs?: number
  requestTimeoutMs?: number
  connectionTimeoutMs?: number
  keepAliveTimeoutMs?: number
  shutdownGraceMs?: number
}

export const defaultLimits = {
  bodyLimit: 16 * 1024 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  connectionTimeoutMs: 60_000,
  keepAliveTimeoutMs: 72_000,
  shutdownGraceMs: 1000,
} as const satisfies Required<HttpLimits>

export function resolveLimits(limits: HttpLimits): Required<HttpLimits> {
  const resolved = { ...defaultLimits, ...withoutUndefined(limits) }
  resolved.headersTimeoutMs = Math.min(resolved.headersTimeoutMs, resolved.requestTimeoutMs)
  return resolved
}

function withoutUndefined(limits: HttpLimits): HttpLimits {
  return Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined))
}

/**
 * How often Node looks for requests past their timeouts (its default, 30 s, would let a 1 s
 * timeout run 31 s): a quarter of the shortest timeout, between 50 ms and 5 s.
 */
export function checkingInterval(limits: Required<HttpLimits>): number {
  return Math.min(
    5000,
    Math.max(50, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4)),
  )
}

/**
 * Fastify's clientErrorHandler: errors before a request reaches a route (a timeout, headers too
 * large, a malformed request) answered in our error shape, then the socket is closed.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const [code, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [ErrorCodes.REQUEST_TIMEOUT, 'the request was not received in time']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [ErrorCodes.HEADERS_TOO_LARGE, 'request headers too large']
        : [ErrorCodes.INVALID_ARGUMENT, 'malformed HTTP request']
  const status = statusOf(code)
  const body = JSON.stringify({ error: { code, message } })
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    )
  }
  socket.destroy()
}
