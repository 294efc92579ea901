// The dashboard: one HTML page at GET /, plain scripts and uPlot under /assets/, and the live
// feed it draws from.
//
//   GET /                      the page (public/index.html)
//   GET /assets/:file          its scripts and style, uPlot's JS and CSS (assets.ts)
//   GET /dashboard/stream      server-sent events: `hello` once (the last hour and a sample),
//                              then `tick` every interval (sampler.ts says what a sample holds)
//   GET /dashboard/history     the last hour of events per second, sampled in the background
//                              whether or not a page is open (sampler.ts, history.ts)
//   GET /dashboard/keys/:view  some keys of a view, for the explorer's key list when the view
//                              cannot be ranked by /views/:view/top (topK, quantiles, means)
//
// Streams end when the client goes away and when the server closes (preClose), so app.close()
// never waits on an open page; the sampler's background clock stops with the server (onClose).
import type { FastifyInstance } from 'fastify'
import type { RoleHealth } from '../../core/role-health.ts'
import type { Store } from '../../store/store.ts'
import { EndOffsetsCache, type EndOffsetsProvider } from '../api/log-offsets.ts'
import { viewNameSchema } from '../api/query-route.ts'
import type { ViewIndex } from '../api/view-status.ts'
import type { SpeedStatsProvider } from '../metrics.ts'
import { loadAssets } from './assets.ts'
import { DashboardSampler, HISTORY_SPAN_MS, type Sample } from './sampler.ts'

export interface DashboardOptions {
  store?: Store
  views: ViewIndex
  /** The log's end offsets (lag, and the rate of events in). */
  endOffsets?: EndOffsetsProvider
  speedStats?: SpeedStatsProvider
  /** Events accepted by POST /events since the server started. */
  ingested?: () => number
  /** Time between two samples while a page watches (default 1000 ms). */
  intervalMs?: number
  /** Time between two background readings of the history while none does (default 10 000 ms). */
  historyIntervalMs?: number
  /** The roles of this process: each shown with its state, their failures in the page's banner. */
  roles?: RoleHealth
}

export type { RoleLine, Sample, SamplePoint } from './sampler.ts'

const KEYS_DEFAULT = 50
const KEYS_MAX = 1000
// Batch entries read at most when collecting keys (a view with few keys and many windows).
const KEYS_SCAN_MAX = 100_000

// The page loads nothing from elsewhere; charts style their canvases through the CSSOM.
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const keysSchema = {
  params: { type: 'object', required: ['view'], properties: { view: viewNameSchema } },
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: { limit: { type: 'integer', minimum: 1, maximum: KEYS_MAX, default: KEYS_DEFAULT } },
  },
} as const

const rate = { type: ['number', 'null'] } as const
const historySchema = {
  response: {
    200: {
      type: 'object',
      required: ['spanMs', 'intervalMs', 'historyIntervalMs', 'points'],
      properties: {
        spanMs: { type: 'integer', description: 'how far back the points go, ms' },
        intervalMs: { type: 'integer', description: 'between two points while a page watches, ms' },
        historyIntervalMs: { type: 'integer', description: 'between two points while none does, ms' },
        points: {
          type: 'array',
          description: 'oldest first',
          items: {
            type: 'object',
            required: ['at', 'rates'],
            properties: {
              at: { type: 'integer', description: 'epoch ms' },
              rates: {
                type: 'object',
                description: 'per second since the previous point; null where unknown',
                required: ['in', 'ingested', 'folded'],
                properties: { in: rate, ingested: rate, folded: rate },
              },
            },
          },
        },
      },
    },
  },
} as const

interface KeysRequest {
  Params: { view: string }
  Querystring: { limit: number }
}

export async function dashboardRoute(app: FastifyInstance, options: DashboardOptions): Promise<void> {
  const { store, views } = options
  const { page, assets } = await loadAssets()
  // Its own reading of the log's end, never a cached one: two ticks one interval apart must not
  // see the same reading (the API's cache keeps one for a second), or the rate would read 0, 2×.
  const offsets = new EndOffsetsCache(options.endOffsets, { maxAgeMs: 0 })
  const sampler = new DashboardSampler(
    {
      store,
      views,
      offsets,
      speedStats: options.speedStats,
      ingested: options.ingested,
      roles: options.roles,
    },
    { intervalMs: options.intervalMs, historyIntervalMs: options.historyIntervalMs },
  )
  const streams = new Set<() => void>()

  app.get('/', async (_request, reply) => {
    return reply
      .type(page.contentType)
      .header('cache-control', page.cacheControl)
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .send(page.body)
  })

  app.get<{ Params: { file: string } }>('/assets/:file', async (request, reply) => {
    const asset = assets.get(request.params.file)
    if (asset === undefined) return reply.callNotFound()
    return reply
      .type(asset.contentType)
      .header('cache-control', asset.cacheControl)
      .header('x-content-type-options', 'nosniff')
      .send(asset.body)
  })

  app.get('/dashboard/stream', async (_request, reply) => {
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Proxies such as nginx must pass events on as they come, not buffer them.
      'x-accel-buffering': 'no',
    })
    // EventSource reconnects after `retry` ms when the stream drops (a server restart).
    res.write('retry: 2000\n\n')
    let open = true
    let unsubscribe: () => void = () => undefined
    const end = () => {
      if (!open) return
      open = false
      unsubscribe()
      streams.delete(end)
      res.end()
    }
    streams.add(end)
    res.on('close', end)
    const send = (event: string, data: unknown) => {
      // A client that does not read is skipped until it drains, not buffered without bound.
      if (!open || res.writableNeedDrain) return
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    }
    const first: Sample = await sampler.current()
    if (!open) return
    send('hello', {
      intervalMs: sampler.intervalMs,
      features: { store: store !== undefined, log: offsets.configured, speed: !!options.speedStats },
      historyIntervalMs: sampler.historyIntervalMs,
      history: sampler.history(),
      sample: first,
    })
    unsubscribe = sampler.subscribe((sample) => send('tick', sample))
  })

  app.get('/dashboard/history', { schema: historySchema }, async () => ({
    spanMs: HISTORY_SPAN_MS,
    intervalMs: sampler.intervalMs,
    historyIntervalMs: sampler.historyIntervalMs,
    points: sampler.history(),
  }))

  if (store) {
    app.get<KeysRequest>('/dashboard/keys/:view', { schema: keysSchema }, async (request) => {
      const view = views.get(request.params.view)
      const { limit } = request.query
      const keys = new Set<string>()
      const served = await store.servedBatch(view.name)
      if (served !== undefined) {
        let scanned = 0
        for await (const entry of store.scanBatch(view.name, served.version)) {
          keys.add(entry.key)
          if (keys.size >= limit || ++scanned >= KEYS_SCAN_MAX) break
        }
      }
      if (keys.size < limit) {
        for await (const key of store.realtimeKeys(view.name)) {
          keys.add(key)
          if (keys.size >= limit) break
        }
      }
      return { view: view.name, keys: [...keys].sort() }
    })
  }

  // preClose runs before the HTTP server waits for its connections: an open stream would hold
  // app.close() forever.
  app.addHook('preClose', async () => {
    for (const end of [...streams]) end()
  })
  app.addHook('onClose', async () => {
    sampler.close()
  })
}
