// The dashboard: one HTML page at GET /, plain scripts and uPlot under /assets/, and the live
// feed it draws from.
//
//   GET /                      the page (public/index.html)
//   GET /assets/:file          its scripts and style, uPlot's JS and CSS (assets.ts)
//   GET /dashboard/stream      server-sent events: `hello` once (recent history and a sample),
//                              then `tick` every interval (sampler.ts says what a sample holds)
//   GET /dashboard/keys/:view  some keys of a view, for the explorer's key list when the view
//                              cannot be ranked by /views/:view/top (topK, quantiles, means)
//
// Streams end when the client goes away and when the server closes (preClose), so app.close()
// never waits on an open page.
import type { FastifyInstance } from 'fastify'
import type { RoleHealth } from '../../core/role-health.ts'
import type { Store } from '../../store/store.ts'
import { EndOffsetsCache, type EndOffsetsProvider } from '../api/log-offsets.ts'
import { viewNameSchema } from '../api/query-route.ts'
import type { ViewIndex } from '../api/view-status.ts'
import type { SpeedStatsProvider } from '../metrics.ts'
import { loadAssets } from './assets.ts'
import { DashboardSampler, type Sample } from './sampler.ts'

export interface DashboardOptions {
  store?: Store
  views: ViewIndex
  /** The log's end offsets (lag, and the rate of events in). */
  endOffsets?: EndOffsetsProvider
  speedStats?: SpeedStatsProvider
  /** Events accepted by POST /events since the server started. */
  ingested?: () => number
  /** Time between two samples (default 1000 ms). */
  intervalMs?: number
  /** The roles of this process: their failures show as the page's banner. */
  roles?: RoleHealth
}

export type { Sample, SamplePoint } from './sampler.ts'

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
    { intervalMs: options.intervalMs },
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
      history: sampler.history(),
      sample: first,
    })
    unsubscribe = sampler.subscribe((sample) => send('tick', sample))
  })

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
