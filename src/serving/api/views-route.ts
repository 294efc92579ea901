// GET /views — every configured view with what its answers cover right now: the served batch
// version (horizon, completedAt, duration), the speed layer's position per partition, asOf and
// lag per partition, and whether it is being recomputed after a definition change.
import type { FastifyInstance } from 'fastify'
import { type RoleHealth, viewStops } from '../../core/role-health.ts'
import type { Store } from '../../store/store.ts'
import {
  errorAnswers,
  foldErrorSchema,
  horizonSchema,
  viewStateSchema,
  viewStopsSchema,
} from './answer-schemas.ts'
import type { EndOffsetsCache } from './log-offsets.ts'
import { readViewStatus, type ViewIndex } from './view-status.ts'

export interface ViewsRouteOptions {
  store: Store
  views: ViewIndex
  offsets: EndOffsetsCache
  /** The roles of this process: which views stopped them (core/role-health.ts, viewStops). */
  roles?: RoleHealth
}

// view-status.ts: ViewStatus.
const viewStatusSchema = {
  type: 'object',
  required: [
    'name',
    'window',
    'aggregate',
    'codeHash',
    'batch',
    'recomputing',
    'speed',
    'asOf',
    'lag',
    'errors',
    'state',
    'stops',
  ],
  properties: {
    name: { type: 'string' },
    window: {
      type: ['object', 'null'],
      required: ['kind', 'size', 'advance'],
      properties: {
        kind: { type: 'string', enum: ['tumbling', 'hopping'] },
        size: { type: 'integer', description: 'ms' },
        advance: { type: 'integer', description: 'ms' },
      },
    },
    aggregate: { type: 'string', description: 'count, sum, distinctCount, topK, …' },
    codeHash: { type: 'string', description: "hash of the view's definition as configured now" },
    batch: {
      type: ['object', 'null'],
      description: 'the served batch version; null before the first batch run',
      required: [
        'version',
        'codeHash',
        'horizon',
        'events',
        'groups',
        'startedAt',
        'completedAt',
        'durationMs',
      ],
      properties: {
        version: { type: 'integer' },
        codeHash: { type: 'string' },
        horizon: horizonSchema,
        events: { type: 'integer' },
        groups: { type: 'integer' },
        startedAt: { type: 'integer', description: 'epoch ms' },
        completedAt: { type: 'integer', description: 'epoch ms' },
        durationMs: { type: 'integer' },
        foldErrors: {
          type: 'object',
          required: ['count', 'recent'],
          properties: { count: { type: 'integer' }, recent: { type: 'array', items: foldErrorSchema } },
        },
      },
    },
    recomputing: { type: 'boolean' },
    speed: { type: 'array', items: { type: ['integer', 'null'] } },
    asOf: horizonSchema,
    lag: { type: ['array', 'null'], items: { type: 'integer' } },
    errors: {
      type: 'object',
      description: 'events the view threw on: skipped, and stopped on (stops)',
      required: ['batch', 'speed'],
      properties: { batch: { type: 'integer' }, speed: { type: 'integer' } },
    },
    state: viewStateSchema,
    stops: viewStopsSchema,
  },
} as const

const schema = {
  summary: 'Every configured view with what its answers cover right now',
  querystring: { type: 'object', additionalProperties: false, properties: {} },
  response: {
    200: {
      type: 'object',
      required: ['views', 'log'],
      properties: {
        views: { type: 'array', items: viewStatusSchema },
        log: {
          type: ['object', 'null'],
          description: "the log's end offsets the lags are measured from; null without a provider",
          required: ['endOffsets', 'at'],
          properties: {
            endOffsets: { type: ['array', 'null'], items: { type: 'integer' } },
            at: { type: 'integer', description: 'epoch ms' },
            error: { type: 'string', description: 'why the end offsets are unknown' },
            lost: {
              type: 'integer',
              description: 'records retention deleted before the speed layer read them',
            },
          },
        },
      },
    },
    ...errorAnswers(400, 503),
  },
} as const

export async function viewsRoute(app: FastifyInstance, options: ViewsRouteOptions): Promise<void> {
  const { store, views, offsets, roles } = options
  app.get('/views', { schema }, async () => {
    // One end-offsets reading for every view, so their lags compare.
    const [log, speedErrors, stops] = await Promise.all([
      offsets.get(),
      store.speedViewErrors(),
      viewStops(roles),
    ])
    const list = []
    for (const view of views.all()) list.push(await readViewStatus(store, view, log, speedErrors, stops))
    return {
      views: list,
      log:
        log === undefined
          ? null
          : { endOffsets: log.endOffsets, at: log.at, error: log.error, lost: log.lost },
    }
  })
}
