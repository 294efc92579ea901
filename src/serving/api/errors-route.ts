// GET /views/:view/errors — the events the view's own code threw on (core/view-errors.ts): each
// was skipped by this view only, so its answers are the fold over the events it accepts. The
// batch part is the served version's (a recompute counts afresh), the speed part the speed
// layer's since the view's definition last changed. The segment `errors` is this route (static
// routes win), so a key named "errors" is asked with `strata query`, as for `top`.
import type { FastifyInstance } from 'fastify'
import { type RoleHealth, viewStops } from '../../core/role-health.ts'
import { currentStops, RECENT_ERRORS, viewState } from '../../core/view-errors.ts'
import type { Store } from '../../store/store.ts'
import { errorAnswers, foldErrorSchema, viewStateSchema, viewStopsSchema } from './answer-schemas.ts'
import { viewNameSchema } from './query-route.ts'
import type { ViewIndex } from './view-status.ts'

export interface ErrorsRouteOptions {
  store: Store
  views: ViewIndex
  /** The roles of this process: which views stopped them (core/role-health.ts, viewStops). */
  roles?: RoleHealth
}

const recentErrors = {
  type: 'array',
  items: foldErrorSchema,
  description: 'the newest, oldest first',
} as const

const viewErrorsSchema = {
  type: 'object',
  required: ['view', 'onError', 'state', 'batch', 'speed', 'stops'],
  properties: {
    view: { type: 'string' },
    onError: { type: 'string', enum: ['skip', 'stop'], description: "the view's error policy" },
    state: viewStateSchema,
    stops: viewStopsSchema,
    batch: {
      type: ['object', 'null'],
      description: 'in the served batch version; null before the first batch run',
      required: ['version', 'events', 'count', 'recent'],
      properties: {
        version: { type: 'integer' },
        events: { type: 'integer' },
        count: { type: 'integer' },
        recent: recentErrors,
      },
    },
    speed: {
      type: 'object',
      description: 'in the speed layer, since the view last changed (with the events it stopped on)',
      required: ['count', 'recent', 'lastErrorsAt'],
      properties: {
        count: { type: 'integer' },
        recent: recentErrors,
        lastErrorsAt: { type: ['integer', 'null'], description: 'epoch ms' },
      },
    },
  },
} as const

const schema = {
  summary: "The events a view's own code threw on (skipped by that view only)",
  params: { type: 'object', required: ['view'], properties: { view: viewNameSchema } },
  querystring: { type: 'object', additionalProperties: false, properties: {} },
  response: { 200: viewErrorsSchema, ...errorAnswers(400, 404, 503) },
} as const

export async function errorsRoute(app: FastifyInstance, options: ErrorsRouteOptions): Promise<void> {
  const { store, views, roles } = options
  app.get<{ Params: { view: string } }>('/views/:view/errors', { schema }, async (request) => {
    const view = views.get(request.params.view)
    const [served, speedErrors, partitions, inProcess] = await Promise.all([
      store.servedBatch(view.name),
      store.speedViewErrors(),
      store.speedPartitions(),
      viewStops(roles),
    ])
    const speed = speedErrors.get(view.name)
    const offsets: number[] = []
    for (const p of partitions) offsets[p.partition] = p.offset
    const stops = currentStops(view.name, speed, offsets, inProcess)
    const state = viewState(
      served ? { errors: served.foldErrors?.count ?? 0, events: served.events } : undefined,
      speed,
      stops,
      Date.now(),
    )
    // The events it stopped on count with the skipped ones, and are the newest in `recent`
    // (the speed layer's: the batch run that stopped served nothing, so its version stays).
    const stoppedSpeed = stops.filter((s) => s.layer === 'speed').map(({ layer: _, ...e }) => e)
    const stoppedBatch = stops.filter((s) => s.layer === 'batch').length
    const batch = served
      ? {
          version: served.version,
          events: served.events,
          count: (served.foldErrors?.count ?? 0) + stoppedBatch,
          recent: served.foldErrors?.recent ?? [],
        }
      : null
    return {
      view: view.name,
      onError: view.view.errorPolicy,
      state,
      batch,
      speed: {
        count: (speed?.count ?? 0) + stoppedSpeed.length,
        recent: [...(speed?.recent ?? []), ...stoppedSpeed].slice(-RECENT_ERRORS),
        lastErrorsAt: speed?.last?.at ?? null,
      },
      stops,
    }
  })
}
