// GET /views — every configured view with what its answers cover right now: the served batch
// version (horizon, completedAt, duration), the speed layer's position per partition, asOf and
// lag per partition, and whether it is being recomputed after a definition change.
import type { FastifyInstance } from 'fastify'
import type { Store } from '../../store/store.ts'
import type { EndOffsetsCache } from './log-offsets.ts'
import { readViewStatus, type ViewIndex } from './view-status.ts'

export interface ViewsRouteOptions {
  store: Store
  views: ViewIndex
  offsets: EndOffsetsCache
}

const schema = {
  querystring: { type: 'object', additionalProperties: false, properties: {} },
} as const

export async function viewsRoute(app: FastifyInstance, options: ViewsRouteOptions): Promise<void> {
  const { store, views, offsets } = options
  app.get('/views', { schema }, async () => {
    // One end-offsets reading for every view, so their lags compare.
    const [log, speedErrors] = await Promise.all([offsets.get(), store.speedViewErrors()])
    const list = []
    for (const view of views.all()) list.push(await readViewStatus(store, view, log, speedErrors))
    return {
      views: list,
      log:
        log === undefined
          ? null
          : { endOffsets: log.endOffsets, at: log.at, error: log.error, lost: log.lost },
    }
  })
}
