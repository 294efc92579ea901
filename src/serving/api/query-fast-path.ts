// GET /views/:view/:key answered beside Fastify, not through it (decision 0018): the most asked
// route, and the one whose answer is most often kept whole (query.ts, query-route.ts), so what
// Fastify does around it per request — a Request and a Reply, six hooks, the params and query
// string validated, the onSend and onResponse chains — was a larger part of its CPU than the
// answer itself (BENCHMARKS.md, Query: Fastify 8–14% of the busy time).
//
// The path takes a request only when Fastify would answer it 200 from the same route, and hands
// everything else to Fastify untouched, so every refusal keeps Fastify's answer, status, headers
// and log line:
//   - GET, a URL with no query string (nor '#', after which the router reads one), a path Fastify's own router (app.findRoute: the same
//     decoding, the same static routes first) resolves to /views/:view/:key, with params inside
//     the route's schema (view 1–256 characters, key at most 4096) and a configured view;
//   - not starting, not draining (their hooks answer), the Host allowed (allowed-hosts.ts), and
//     the token present where the route needs it (auth.ts).
// A query that fails (the store down, a bug) is handed to Fastify too, which asks again and
// answers the error as it always did: a read has no effect to repeat.
// What a taken request gets is what Fastify gives the same request: the same body (the route's
// response schema, compiled as Fastify compiles it: fast-json-stringify), the same headers
// (content-type, content-length; `connection: close` while draining), the access line with a
// request id from the same sequence (server.ts: genReqId), and the query latency histogram.
import type { IncomingMessage, ServerResponse } from 'node:http'
import fastJsonStringify from 'fast-json-stringify'
import type { FastifyInstance } from 'fastify'
import { parseTimeRange } from '../../core/time-range.ts'
import type { Store } from '../../store/store.ts'
import { hostAllowed } from '../allowed-hosts.ts'
import { bearerToken, type HttpAuth, needsToken, tokenMatches } from '../auth.ts'
import type { DrainState } from '../drain.ts'
import type { ServingMetrics } from '../metrics.ts'
import { type QueryAnswer, queryViewAt } from '../query.ts'
import type { AccessLog } from '../request-log.ts'
import type { StartingGate } from '../starting.ts'
import { queryAnswerSchema } from './answer-schemas.ts'
import { KeptBodies } from './kept-bodies.ts'
import { type EndOffsetsCache, type LogOffsets, lagOf, sameLag } from './log-offsets.ts'
import { QUERY_ROUTE, queryParamLimits } from './query-route.ts'
import type { ViewIndex } from './view-status.ts'

export interface QueryFastPathOptions {
  app: FastifyInstance
  store: Store
  views: ViewIndex
  offsets: EndOffsetsCache
  metrics: ServingMetrics
  drain: DrainState
  allowedHosts: readonly string[]
  starting?: StartingGate
  auth?: HttpAuth
  /** The access line (request-log.ts) when the server logs requests. */
  accessLog?: AccessLog
  /** The request id generator Fastify uses too (server.ts). */
  nextRequestId: () => string
}

export type RequestHandler = (request: IncomingMessage, response: ServerResponse) => void

export interface QueryFastPath {
  /** Answers `request` and returns true, or returns false having done nothing (Fastify's turn). */
  take(request: IncomingMessage, response: ServerResponse, fastify: RequestHandler): boolean
  /** Requests answered here (tests check the path is taken). */
  readonly answered: number
}

const PREFIX = '/views/'
type Params = { view?: string; key?: string }
const NOT_ROUTED: Params = {}
/** URLs whose routing is kept (the keys asked); past it the map starts again. */
const ROUTED_KEPT = 20_000
/** Longer URLs are routed every time: the map stays under ~20 MB (measured full: 13 MB with ASCII
 * keys, 17 MB with percent-encoded ones, whose decoded key is a string of its own). */
const ROUTED_MAX_URL = 512
const JSON_TYPE = 'application/json; charset=utf-8'
// As Fastify's default serializer compiler builds the route's 200 serializer (no shared schemas
// are added to this app); test/serving/api/query-fast-path.test.ts holds the bytes equal.
const serialize: (answer: unknown) => string = fastJsonStringify(queryAnswerSchema as object, { schema: {} })
// The path keeps the body it sends (`kept`), not the answer: one form held per URL. Under ingest
// a speed commit every ~100 ms moves the snapshot version, so a kept answer was almost never
// asked again, yet it outlived the next scavenge and was promoted with the body (BENCHMARKS.md,
// "2026-12-07: queries while ingesting").
const NO_OPTIONS = { range: parseTimeRange({}), parts: false, keep: false }
/** Most text kept by URL, URLs and bodies (characters; ~1.7 KB a body in the benchmark: ~20,000 URLs). */
const KEPT_CHARS = 32 * 1024 * 1024

export function createQueryFastPath(options: QueryFastPathOptions): QueryFastPath {
  const { app, store, views, offsets, metrics, drain, allowedHosts, starting, auth, accessLog } = options
  const tokenNeeded = auth !== undefined && needsToken(auth, 'GET', QUERY_ROUTE)
  // The body of an answer with its lag, per answer and end-offsets reading (as query-route.ts).
  const bodies = new WeakMap<QueryAnswer, { log: LogOffsets | undefined; body: string }>()
  let answered = 0
  // The router's params per URL asked (a URL routes the same way every time), bounded.
  const routed = new Map<string, Params>()

  // The body last sent per URL, with the snapshot version its answer was read under (queryViewAt)
  // and the view and end-offsets reading it was made with. Every write a query reads moves the
  // version (store.ts: ViewSnapshot.version), so while a read finds the same one — one row read
  // outside any transaction (store.snapshotVersion) — the answer is the one kept, exactly; a new
  // version (a speed commit, a pass, a flip, a registration, …) and the next ask reads the store
  // again. A store without versions keeps nothing. Bounded by the text held (kept-bodies.ts).
  // The store's reader of the version, taken at the first call that succeeds: a server built
  // before its store exists (starting.ts: `later`) is given a stand-in whose methods throw until
  // the store is set, and taking the method then would keep the thrower.
  let versionOf: (() => number | undefined) | undefined
  const versionNow = (): number | undefined => {
    if (versionOf !== undefined) return versionOf()
    const read = store.snapshotVersion
    if (read === undefined) return undefined
    const bound = read.bind(store)
    const version = bound()
    versionOf = bound
    return version
  }
  const kept = new KeptBodies(KEPT_CHARS)
  const send = (response: ServerResponse, url: string, body: string, bytes: number, start: number): void => {
    const head: Record<string, string | number> = {
      'content-type': JSON_TYPE,
      'content-length': bytes,
    }
    if (drain.draining) head.connection = 'close'
    response.writeHead(200, head)
    response.end(body)
    answered++
    const elapsedMs = performance.now() - start
    metrics.observeQuery(QUERY_ROUTE, elapsedMs / 1000)
    accessLog?.(options.nextRequestId(), 'GET', url, 200, elapsedMs)
  }

  const bodyOf = (answer: QueryAnswer, log: LogOffsets | undefined): string => {
    const hit = bodies.get(answer)
    if (hit !== undefined && sameLag(hit.log, log)) return hit.body
    const body = serialize({ ...answer, lag: lagOf(answer.asOf, log) })
    bodies.set(answer, { log, body })
    return body
  }

  return {
    get answered() {
      return answered
    },
    take(request, response, fastify) {
      const url = request.url
      // A query string is Fastify's; its router (find-my-way) also reads one after '#', which
      // node:http leaves in the URL: `…/key#parts=true` is that question, `#nope=1` a 400.
      if (
        request.method !== 'GET' ||
        url === undefined ||
        !url.startsWith(PREFIX) ||
        url.includes('?') ||
        url.includes('#')
      ) {
        return false
      }
      if (starting?.starting === true || drain.draining) return false
      if (!hostAllowed(requestHeader(request, 'host'), allowedHosts)) return false
      if (
        tokenNeeded &&
        !tokenMatches((auth as HttpAuth).token, bearerToken(requestHeader(request, 'authorization')))
      )
        return false
      let params = routed.get(url)
      if (params === undefined) {
        try {
          params = (app.findRoute({ method: 'GET', url })?.params ?? NOT_ROUTED) as Params
        } catch {
          return false // Fastify's routing answers it, as it would have
        }
        // The routes are fixed once the server listens: a URL routes the same way every time.
        if (url.length <= ROUTED_MAX_URL) {
          if (routed.size >= ROUTED_KEPT) routed.clear()
          routed.set(url, params)
        }
      }
      const name = params?.view
      const key = params?.key
      if (name === undefined || key === undefined) return false
      if (name.length < 1 || name.length > queryParamLimits.view || key.length > queryParamLimits.key)
        return false
      const view = views.find(name)
      if (view === undefined) return false
      const start = performance.now()
      // A body kept for this URL is sent when a read now would find the same snapshot version
      // and the end-offsets reading gives the same lag: the same answer, without a read
      // transaction, the memo's lookups or a promise (see `kept` above).
      const hit = kept.get(url)
      if (hit !== undefined && hit.view === view) {
        const log = offsets.configured ? offsets.current() : undefined
        if ((log !== undefined || !offsets.configured) && sameLag(hit.log, log)) {
          let version: number | undefined
          try {
            version = versionNow()
          } catch {
            return false // Fastify reads the store and answers the failure
          }
          if (version !== undefined && version === hit.version) {
            send(response, url, hit.body, hit.bytes, start)
            return true
          }
        }
      }
      Promise.all([queryViewAt(store, view, key, NO_OPTIONS), offsets.get()]).then(
        ([{ answer, version }, log]) => {
          let body: string
          try {
            body = bodyOf(answer, log)
          } catch {
            fastify(request, response)
            return
          }
          const bytes = Buffer.byteLength(body)
          send(response, url, body, bytes, start)
          if (version !== undefined && url.length <= ROUTED_MAX_URL)
            kept.keep(url, { view, version, log, body, bytes })
        },
        // Fastify asks again and answers the failure (its status, body, 5xx log line).
        () => fastify(request, response),
      )
      return true
    },
  }
}

/**
 * The value `request.headers[name]` gives (what Fastify's hooks read: allowed-hosts.ts, auth.ts)
 * for a header node:http keeps one of, read from the raw list: node keeps the first of a
 * repeated Host or Authorization. Node builds `request.headers` on its first read, every name
 * lowercased into a new object: ~1 µs and a few hundred bytes a request that the floor's server
 * never pays (BENCHMARKS.md, Query, session 15). A server made with `joinDuplicateHeaders` joins
 * repeats instead (`a, b`, which neither hook accepts): there the first alone would let through a
 * request Fastify refuses, so request.headers is read.
 */
export function requestHeader(request: IncomingMessage, name: 'host' | 'authorization'): string | undefined {
  if ((request as { joinDuplicateHeaders?: boolean | null }).joinDuplicateHeaders === true)
    return request.headers[name]
  const raw = request.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i] as string
    if (key.length === name.length && key.toLowerCase() === name) return raw[i + 1]
  }
  return undefined
}
