// GET /views/:view/top?limit=N&from=&to= — the keys of a view by value, descending (top-keys.ts
// says how values are ranked and what it costs), with the answer's metadata and lag.
// Registered as a static segment, so it wins over /views/:view/:key: `top` is a reserved key.
import type { FastifyInstance } from 'fastify'
import { parseTimeRange } from '../../core/time-range.ts'
import type { Store } from '../../store/store.ts'
import { coverageProperties, errorAnswers } from './answer-schemas.ts'
import { type EndOffsetsCache, lagOf } from './log-offsets.ts'
import { timeRangeProperties, viewNameSchema } from './query-route.ts'
import { type RealtimeKeysProvider, rankKeys } from './top-keys.ts'
import type { ViewIndex } from './view-status.ts'

export const TOP_LIMIT_DEFAULT = 10
export const TOP_LIMIT_MAX = 1000

export interface TopRouteOptions {
  store: Store
  views: ViewIndex
  offsets: EndOffsetsCache
  realtimeKeys?: RealtimeKeysProvider
  /** Most keys ranked one by one through a store snapshot each (see top-keys.ts). */
  maxQueries?: number
}

const topAnswerSchema = {
  type: 'object',
  required: [
    'view',
    'items',
    'keys',
    'complete',
    'consistent',
    'limit',
    'batch',
    'speed',
    'asOf',
    'recomputing',
    'lag',
  ],
  properties: {
    view: { type: 'string' },
    items: {
      type: 'array',
      description: 'the keys by value, descending',
      items: {
        type: 'object',
        required: ['key', 'value'],
        properties: { key: { type: 'string' }, value: { type: 'number' } },
      },
    },
    keys: { type: 'integer', description: 'keys that had a value (in the range) and were ranked' },
    complete: { type: 'boolean', description: 'no key with a value as of asOf can be missing' },
    consistent: {
      type: 'boolean',
      description: 'every value covers exactly asOf (otherwise some cover more)',
    },
    limit: { type: 'integer' },
    ...coverageProperties,
  },
} as const

const schema = {
  summary: 'The keys of a view by value, descending',
  params: { type: 'object', required: ['view'], properties: { view: viewNameSchema } },
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      limit: { type: 'integer', minimum: 1, maximum: TOP_LIMIT_MAX, default: TOP_LIMIT_DEFAULT },
      ...timeRangeProperties,
    },
  },
  response: { 200: topAnswerSchema, ...errorAnswers(400, 404, 422, 503) },
} as const

interface TopRequest {
  Params: { view: string }
  Querystring: { limit: number; from?: string; to?: string }
}

export async function topRoute(app: FastifyInstance, options: TopRouteOptions): Promise<void> {
  const { store, views, offsets, realtimeKeys, maxQueries } = options
  app.get<TopRequest>('/views/:view/top', { schema }, async (request) => {
    const view = views.get(request.params.view)
    const range = parseTimeRange(request.query)
    const answer = await rankKeys(store, view, {
      limit: request.query.limit,
      range,
      realtimeKeys,
      maxQueries,
    })
    return { ...answer, limit: request.query.limit, lag: lagOf(answer.asOf, await offsets.get()) }
  })
}
