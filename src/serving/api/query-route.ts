// GET /views/:view/:key?from=&to=&parts= — the merged answer of one key (query.ts: served batch
// version ⊕ realtime states, from one store snapshot), per window when the view is windowed,
// with its metadata: batch version and horizon, speed position, asOf, and lag.
//
// Keys are one URL path segment, percent-encoded: /views/pageviews_by_url/%2Fa is the key "/a".
// A key too long for a URL (Node reads at most 16 KiB of request line and headers: a key of a few
// thousand non-ASCII characters) is asked with POST /views/:view/query { "key": … }, which answers
// the same; every key the ingest accepts can be asked that way.
// The segment `top` is GET /views/:view/top (static routes win), so a key named "top" cannot
// be asked here; `strata query VIEW top` (which reads the store) can.
import type { FastifyInstance, FastifyReply } from 'fastify'
import { parseTimeRange } from '../../core/time-range.ts'
import type { Store } from '../../store/store.ts'
import { type QueryAnswer, queryView } from '../query.ts'
import { errorAnswers, queryAnswerSchema } from './answer-schemas.ts'
import { type EndOffsetsCache, type LogOffsets, lagOf, sameLag } from './log-offsets.ts'
import type { ViewIndex } from './view-status.ts'

export interface QueryRouteOptions {
  store: Store
  views: ViewIndex
  offsets: EndOffsetsCache
}

/** from/to as the routes take them: epoch ms or ISO-8601, checked by parseTimeRange. */
export const timeRangeProperties = {
  from: {
    type: 'string',
    maxLength: 64,
    description: 'first window start to include (epoch ms or ISO-8601)',
  },
  to: { type: 'string', maxLength: 64, description: 'end of the range, exclusive (epoch ms or ISO-8601)' },
} as const

export const viewNameSchema = { type: 'string', minLength: 1, maxLength: 256 } as const

/** The GET route of one key (auth.ts classes routes by it; query-fast-path.ts answers it too). */
export const QUERY_ROUTE = '/views/:view/:key'
/** Longest view name and key (in characters) the route's schema takes. */
export const queryParamLimits = { view: viewNameSchema.maxLength, key: 4096 } as const

const schema = {
  summary: 'The answer of one key: batch ⊕ realtime, per window for a windowed view',
  params: {
    type: 'object',
    required: ['view', 'key'],
    properties: { view: viewNameSchema, key: { type: 'string', maxLength: queryParamLimits.key } },
  },
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...timeRangeProperties,
      parts: { type: 'boolean', description: 'also report the batch and the speed part of each window' },
    },
  },
  response: { 200: queryAnswerSchema, ...errorAnswers(400, 404, 503) },
} as const

const postSchema = {
  summary: 'The answer of one key given in the body (for keys too long for a URL)',
  params: { type: 'object', required: ['view'], properties: { view: viewNameSchema } },
  body: {
    type: 'object',
    required: ['key'],
    additionalProperties: false,
    properties: {
      key: { type: 'string', maxLength: 1024 * 1024 },
      ...timeRangeProperties,
      parts: { type: 'boolean' },
    },
  },
  response: { 200: queryAnswerSchema, ...errorAnswers(400, 404, 413, 503) },
} as const

interface QueryRequest {
  Params: { view: string; key: string }
  Querystring: { from?: string; to?: string; parts?: boolean }
}

// The body of an answer with its lag, serialized by the route's response schema once per answer
// and end offsets (sameLag: a new reading of the same offsets keeps the body): queryView hands back the same answer object while nothing it was read
// from has changed (query.ts), and EndOffsetsCache the same reading for up to its age, so a key
// asked again meanwhile is answered with the same text, without copying the answer to add its lag
// and serializing it again. Nobody changes an answer or a reading once made.
const bodies = new WeakMap<QueryAnswer, { log: LogOffsets | undefined; body: string }>()
/** What Fastify sets for a serialized object; a string with it is sent as it is. */
const JSON_TYPE = 'application/json; charset=utf-8'

function answerBody(reply: FastifyReply, answer: QueryAnswer, log: LogOffsets | undefined): string | object {
  const hit = bodies.get(answer)
  if (hit === undefined || !sameLag(hit.log, log)) {
    const withLag = { ...answer, lag: lagOf(answer.asOf, log) }
    const serialize = reply.getSerializationFunction('200')
    // Always there (the route has a 200 schema); without it Fastify serializes as it would.
    if (serialize === undefined) return withLag
    bodies.set(answer, { log, body: serialize(withLag) })
  }
  reply.header('content-type', JSON_TYPE)
  return (bodies.get(answer) as { body: string }).body
}

export async function queryRoute(app: FastifyInstance, options: QueryRouteOptions): Promise<void> {
  const { store, views, offsets } = options
  app.get<QueryRequest>(QUERY_ROUTE, { schema }, async (request, reply) => {
    const view = views.get(request.params.view)
    const range = parseTimeRange(request.query)
    const [answer, log] = await Promise.all([
      queryView(store, view, request.params.key, { range, parts: request.query.parts === true }),
      offsets.get(),
    ])
    return answerBody(reply, answer, log)
  })
  app.post<{ Params: { view: string }; Body: { key: string; from?: string; to?: string; parts?: boolean } }>(
    '/views/:view/query',
    { schema: postSchema },
    async (request) => {
      const view = views.get(request.params.view)
      const range = parseTimeRange(request.body)
      const [answer, log] = await Promise.all([
        queryView(store, view, request.body.key, { range, parts: request.body.parts === true }),
        offsets.get(),
      ])
      return { ...answer, lag: lagOf(answer.asOf, log) }
    },
  )
}
