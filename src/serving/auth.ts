// The HTTP token (docs/security.md). One shared secret, sent as `Authorization: Bearer <token>`,
// guards three classes of routes:
//   ingest  POST /events                          always, when a token is configured
//   admin   GET /metrics                           always, when a token is configured
//   queries GET /views…, GET /dashboard/* (stream, keys)  only with protectQueries
// GET /health stays open for load balancers and probes; GET / and /assets/* are static files
// with no data in them (the page asks for the token when its data routes answer 401), and so are
// GET /openapi.json and /docs (openapi.ts): they describe the API and hold no data.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ErrorCodes, StrataError } from '../core/errors.ts'

export interface HttpAuth {
  /** The bearer token every protected request must carry. */
  token: string
  /** Require it on the query routes (/views…, /dashboard/*) too. */
  protectQueries?: boolean
}

/** What is compared: the SHA-256 of a token, 32 bytes whatever its length. */
export const tokenDigest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest()

/**
 * Whether `presented` is the token, in time independent of where they differ. Both sides are
 * hashed first: timingSafeEqual needs equal lengths, and comparing digests (always 32 bytes)
 * keeps the token's length from leaking through an early length check.
 */
export function tokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined) return false
  return timingSafeEqual(tokenDigest(expected), tokenDigest(presented))
}

/** The token of an `Authorization: Bearer <token>` header; undefined for any other header. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '')
  return match?.[1]
}

/** An onRequest hook answering 401 to a request without the token. */
export function requireToken(auth: HttpAuth) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (tokenMatches(auth.token, bearerToken(request.headers.authorization))) return
    // Never echo what was sent: a wrong token may be a real one for something else.
    reply.header('www-authenticate', 'Bearer realm="strata"')
    throw new StrataError(
      ErrorCodes.UNAUTHORIZED,
      `${request.method} ${request.routeOptions.url ?? request.url} needs Authorization: Bearer <token>`,
    )
  }
}

export type RouteClass = 'open' | 'ingest' | 'admin' | 'query'

/** Which class a route belongs to, by its method and route pattern (not the raw URL). */
export function routeClass(method: string, route: string | undefined): RouteClass {
  if (route === undefined) return 'open' // no route: the 404 handler answers
  if (method === 'POST' && route === '/events') return 'ingest'
  if (route === '/metrics') return 'admin'
  if (route === '/views' || route.startsWith('/views/') || route.startsWith('/dashboard/')) return 'query'
  return 'open' // /health, the dashboard page and its static assets
}

/** Whether a route needs the token under `auth` (also written in the OpenAPI document: openapi.ts). */
export function needsToken(auth: HttpAuth, method: string, route: string | undefined): boolean {
  const kind = routeClass(method, route)
  return kind === 'ingest' || kind === 'admin' || (kind === 'query' && auth.protectQueries === true)
}

/** One onRequest hook for the whole app: the token where the route's class needs it. */
export function guardRoutes(auth: HttpAuth) {
  const check = requireToken(auth)
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (needsToken(auth, request.method, request.routeOptions.url)) await check(request, reply)
  }
}
