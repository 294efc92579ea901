// GET /views/:view/errors — the events the view's own code threw on (core/view-errors.ts): each
// was skipped by this view only, so its answers are the fold over the events it accepts. The
// batch part is the served version's (a recompute counts afresh), the speed part the speed
// layer's since the view's definition last changed. The segment `errors` is this route (static
// routes win), so a key named "errors" is asked with `strata query`, as for `top`.
import type { FastifyInstance } from 'fastify'
import { isFailing } from '../../core/view-errors.ts'
import type { Store } from '../../store/store.ts'
import { viewNameSchema } from './query-route.ts'
import type { ViewIndex } from './view-status.ts'

export interface ErrorsRouteOptions {
  store: Store
  views: ViewIndex
}

const schema = {
  params: { type: 'object', required: ['view'], properties: { view: viewNameSchema } },
  querystring: { type: 'object', additionalProperties: false, properties: {} },
} as const

export async function errorsRoute(app: FastifyInstance, options: ErrorsRouteOptions): Promise<void> {
  const { store, views } = options
  app.get<{ Params: { view: string } }>('/views/:view/errors', { schema }, async (request) => {
    const view = views.get(request.params.view)
    const [served, speedErrors] = await Promise.all([store.servedBatch(view.name), store.speedViewErrors()])
    const speed = speedErrors.get(view.name)
    const batch = served
      ? {
          version: served.version,
          events: served.events,
          count: served.foldErrors?.count ?? 0,
          recent: served.foldErrors?.recent ?? [],
        }
      : null
    return {
      view: view.name,
      onError: view.view.errorPolicy,
      state: isFailing(batch ? { errors: batch.count, events: batch.events } : undefined, speed, Date.now())
        ? 'failing'
        : 'ok',
      batch,
      speed: {
        count: speed?.count ?? 0,
        recent: speed?.recent ?? [],
        lastErrorsAt: speed?.last?.at ?? null,
      },
    }
  })
}
