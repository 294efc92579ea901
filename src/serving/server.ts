// The serving layer's HTTP server. Routes are Fastify plugins (api/), each given the parts of the
// running pipeline it needs, so one server fits every deployment: `strata start` passes all of
// them; `strata worker serve` passes a store and the views without ingest; a bare ingest edge
// passes only `ingest`. Which routes exist follows from what is passed:
//   GET /health, GET /metrics                always
//   GET /views, /views/:view/top, /errors, /:key   with a store
//   POST /events                             with ingest
//   GET /, /assets/*, /dashboard/stream      always (the dashboard; its view explorer needs a store)
//   GET /openapi.json, /docs                 always (openapi.ts: the document of the routes above)
// With `auth`, one hook guards them by class (auth.ts: ingest, admin, queries); `limits` bound
// body size and how long a client may take (limits.ts). app.close() drains before it closes
// (drain.ts): no connection whose request may have been sent is reset.
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify'
import type { CompiledView } from '../core/compiled-view.ts'
import type { RoleHealth } from '../core/role-health.ts'
import type { Ingest } from '../ingest/ingest.ts'
import type { Store } from '../store/store.ts'
import { checkHost, defaultAllowedHosts } from './allowed-hosts.ts'
import { errorsRoute } from './api/errors-route.ts'
import { eventsRoute } from './api/events-route.ts'
import { healthRoute } from './api/health-route.ts'
import { EndOffsetsCache, type EndOffsetsProvider } from './api/log-offsets.ts'
import { metricsRoute } from './api/metrics-route.ts'
import { createQueryFastPath, type RequestHandler } from './api/query-fast-path.ts'
import { queryRoute } from './api/query-route.ts'
import type { RealtimeKeysProvider } from './api/top-keys.ts'
import { topRoute } from './api/top-route.ts'
import { ViewIndex } from './api/view-status.ts'
import { viewsRoute } from './api/views-route.ts'
import { guardRoutes, type HttpAuth } from './auth.ts'
import { dashboardRoute } from './dashboard/index.ts'
import { installDrain } from './drain.ts'
import { frameworkErrors, installErrorHandler } from './errors.ts'
import { checkingInterval, clientErrorHandler, type HttpLimits, resolveLimits } from './limits.ts'
import { createMetrics, type SpeedStatsProvider } from './metrics.ts'
import { registerOpenApi } from './openapi.ts'
import { accessLogger, requestLogger } from './request-log.ts'
import type { StartingGate } from './starting.ts'

export interface ServerOptions {
  /** Where batch versions and realtime states are read from; without it no /views route. */
  store?: Store
  /** The configured views, compiled (compileViews(config)); only these can be queried. */
  views?: ReadonlyArray<CompiledView<any, any>>
  /** Accepts POST /events; optional so a serving replica can run without a log writer. */
  ingest?: Ingest
  /** The log's end offset per partition (embedded log endOffsets(), Kafka listOffsets): lag. */
  endOffsets?: EndOffsetsProvider
  /** How long an end-offsets reading is reused (default 1000 ms; 0: ask on every answer). */
  endOffsetsMaxAgeMs?: number
  /** The speed layer's totals for /metrics, when it runs in this process (metrics.ts: SpeedStats). */
  speedStats?: SpeedStatsProvider
  /** Keys with realtime states, per view: makes /views/:view/top complete and cheap (top-keys.ts). */
  realtimeKeys?: RealtimeKeysProvider
  /** Most keys /views/:view/top answers one by one (default 100 000). */
  maxTopQueries?: number
  /** Largest request body in bytes (default 16 MiB); the same as limits.bodyLimit. */
  bodyLimit?: number
  /** Body size and timeouts (limits.ts has the defaults). */
  limits?: HttpLimits
  /** The bearer token and which routes need it (auth.ts); without it every route is open. */
  auth?: HttpAuth
  /** Host names the server answers to (allowed-hosts.ts); default: loopback names only. */
  allowedHosts?: readonly string[]
  logger?: boolean
  /** A pino logger (runtime/logger.ts): Fastify logs with it, one line per request (request-log.ts). */
  log?: FastifyBaseLogger
  /** Bound before the layers are up: 503 STRATA_ERR_STARTING until the gate opens (starting.ts). */
  starting?: StartingGate
  /** Told of every 5xx answer with its cause (the roles pass their logger's error). */
  logServerError?: (message: string, error: unknown) => void
  /** The roles this process runs, for /health, /metrics and the dashboard (runtime/role-health.ts). */
  roles?: RoleHealth
}

// Keys are one path segment, percent-encoded: the router must not cut off a key the ingest
// accepted (Fastify's default is 100 characters). Node's 16 KiB header limit bounds the request
// line anyway (431 in our shape, limits.ts); the route's schema bounds the decoded key.
const MAX_PARAM_LENGTH = 16 * 1024

// Fastify's request ids (req-1, req-2, … in base 36), from one sequence shared with the query
// route's path outside Fastify (api/query-fast-path.ts), so an id names one request in the log.
function requestIds(): () => string {
  let next = 0
  return () => {
    next = (next + 1) % 2147483647
    return `req-${next.toString(36)}`
  }
}

const queryFastPaths = new WeakMap<FastifyInstance, { readonly answered: number }>()

/** How many requests the query route's path outside Fastify answered (for tests). */
export function fastPathAnswers(app: FastifyInstance): number {
  return queryFastPaths.get(app)?.answered ?? 0
}

export async function createServer(options: ServerOptions): Promise<FastifyInstance> {
  const limits = resolveLimits({
    ...options.limits,
    bodyLimit: options.bodyLimit ?? options.limits?.bodyLimit,
  })
  const nextRequestId = requestIds()
  const app = Fastify({
    bodyLimit: limits.bodyLimit,
    genReqId: nextRequestId,
    ...(options.log
      ? {
          loggerInstance: options.log,
          logController: new LogController({ disableRequestLogging: true }),
          // request.log is the server's logger itself, not a pino child bound to the request id
          // made for every request (0.7–3 µs and its garbage each): the access line and the 5xx
          // line name the request id themselves (request-log.ts, errors.ts).
          childLoggerFactory: (logger: FastifyBaseLogger) => logger,
        }
      : { logger: options.logger ?? false }),
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.connectionTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    clientErrorHandler,
    // drain.ts answers requests that arrive while closing, in our error shape.
    return503OnClosing: false,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: checkingInterval(limits),
    },
    // Unknown query parameters are errors, not silently dropped: `?form=` must not answer as if
    // no range were asked.
    ajv: { customOptions: { removeAdditional: false } },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Malformed URLs and over-long parameters answered in our error shape, not Fastify's.
    frameworkErrors,
  })
  installErrorHandler(app, options.logServerError)
  const accessLog = options.log ? accessLogger(options.log) : undefined
  if (accessLog) app.addHook('onResponse', requestLogger(accessLog))
  const drain = installDrain(app, limits.shutdownGraceMs)
  const allowedHosts = options.allowedHosts ?? defaultAllowedHosts('127.0.0.1')
  app.addHook('onRequest', checkHost(allowedHosts))
  if (options.starting) app.addHook('onRequest', options.starting.hook)
  if (options.auth) app.addHook('onRequest', guardRoutes(options.auth))
  await registerOpenApi(app, options.auth)
  const { store, ingest } = options
  const views = new ViewIndex(options.views ?? [])
  const offsets = new EndOffsetsCache(options.endOffsets, { maxAgeMs: options.endOffsetsMaxAgeMs })
  const metrics = createMetrics({
    store,
    views: views.all(),
    offsets,
    speedStats: options.speedStats,
    roles: options.roles,
  })

  await app.register(healthRoute, {
    store,
    offsets,
    ingest: ingest !== undefined,
    views: views.all(),
    roles: options.roles,
  })
  await app.register(metricsRoute, { metrics })
  if (store) {
    await app.register(async (scope) => {
      // Query latency of the routes in this scope only (hooks are encapsulated by register).
      scope.addHook('onResponse', (request, reply, done) => {
        metrics.observeQuery(request.routeOptions.url ?? 'unknown', reply.elapsedTime / 1000)
        done()
      })
      await scope.register(viewsRoute, { store, views, offsets, roles: options.roles })
      await scope.register(topRoute, {
        store,
        views,
        offsets,
        realtimeKeys: options.realtimeKeys,
        maxQueries: options.maxTopQueries,
      })
      await scope.register(errorsRoute, { store, views, roles: options.roles })
      await scope.register(queryRoute, { store, views, offsets })
    })
    // GET /views/:view/:key without Fastify's per-request work, for the requests Fastify would
    // answer 200 from that route; every other request goes to Fastify's handler as before.
    const fastPath = createQueryFastPath({
      app,
      store,
      views,
      offsets,
      metrics,
      drain,
      allowedHosts,
      starting: options.starting,
      auth: options.auth,
      accessLog,
      nextRequestId,
    })
    // Fastify's handler is the server's only `request` listener; anything else and the path stays off.
    const listeners = app.server.listeners('request') as RequestHandler[]
    const fastify = listeners.length === 1 ? listeners[0] : undefined
    if (fastify !== undefined) {
      app.server.removeListener('request', fastify)
      app.server.on('request', (request, response) => {
        if (!fastPath.take(request, response, fastify)) fastify(request, response)
      })
      queryFastPaths.set(app, fastPath)
    }
  }
  if (ingest) {
    await app.register(eventsRoute, { ingest, onAccepted: (events) => metrics.countIngested(events) })
  }
  await app.register(dashboardRoute, {
    store,
    views,
    endOffsets: options.endOffsets,
    speedStats: options.speedStats,
    ingested: () => metrics.ingestedTotal(),
    roles: options.roles,
  })
  return app
}
