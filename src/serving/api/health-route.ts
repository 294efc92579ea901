// GET /health — whether this process can answer, and which of its parts are up:
//   store  — a read of the store succeeds (503 when it does not: no query can be answered);
//   log    — the end-offsets provider answers (when one is configured). A log that is down
//            leaves answers possible but stale and POST /events failing: 200, status "degraded";
//            a log whose retention deleted records the speed layer never read (RETENTION_OUTRAN)
//            leaves answers missing them for good: 503, status "down", with the count;
//   ingest — whether this process accepts POST /events at all;
//   views  — "failing" with their names when a view's code throws on most events
//            (core/view-errors.ts): answers still come, but that view's are not what its user
//            meant: 200, status "degraded".
// Reasons are error codes only: foreign error messages may hold connection strings.
import type { FastifyInstance } from 'fastify'
import type { CompiledView } from '../../core/compiled-view.ts'
import { ErrorCodes, isStrataError } from '../../core/errors.ts'
import { isFailing } from '../../core/view-errors.ts'
import type { Store } from '../../store/store.ts'
import type { EndOffsetsCache } from './log-offsets.ts'

export interface HealthRouteOptions {
  store?: Store
  offsets: EndOffsetsCache
  ingest: boolean
  views?: ReadonlyArray<CompiledView<any, any>>
}

type PartStatus =
  | { status: 'up' }
  | { status: 'down'; error: string; lost?: number }
  | { status: 'absent' }
  | { status: 'failing'; views: string[] }

export async function healthRoute(app: FastifyInstance, options: HealthRouteOptions): Promise<void> {
  const { store, offsets, ingest, views = [] } = options
  app.get('/health', async (_request, reply) => {
    const [storePart, logPart] = await Promise.all([checkStore(store), checkLog(offsets)])
    const viewsPart =
      storePart.status === 'up' ? await checkViews(store!, views) : { status: 'absent' as const }
    const outran = logPart.status === 'down' && logPart.error === ErrorCodes.RETENTION_OUTRAN
    const status =
      storePart.status === 'down' || outran
        ? 'down'
        : logPart.status === 'down' || viewsPart.status === 'failing'
          ? 'degraded'
          : 'ok'
    return reply.code(status === 'down' ? 503 : 200).send({
      status,
      parts: {
        store: storePart,
        log: logPart,
        ingest: { status: ingest ? 'up' : 'absent' },
        views: viewsPart,
      },
    })
  })
}

async function checkViews(store: Store, views: ReadonlyArray<CompiledView<any, any>>): Promise<PartStatus> {
  if (views.length === 0) return { status: 'absent' }
  try {
    const [served, speedErrors] = await Promise.all([store.listBatchViews(), store.speedViewErrors()])
    const now = Date.now()
    const failing = views
      .filter((v) => {
        const meta = served.find((m) => m.view === v.name)
        const batch = meta ? { errors: meta.foldErrors?.count ?? 0, events: meta.events } : undefined
        return isFailing(batch, speedErrors.get(v.name), now)
      })
      .map((v) => v.name)
    return failing.length > 0 ? { status: 'failing', views: failing } : { status: 'up' }
  } catch (error) {
    return { status: 'down', error: isStrataError(error) ? error.code : 'unavailable' }
  }
}

async function checkStore(store: Store | undefined): Promise<PartStatus> {
  if (store === undefined) return { status: 'absent' }
  try {
    await store.speedPartitions()
    return { status: 'up' }
  } catch (error) {
    return { status: 'down', error: isStrataError(error) ? error.code : 'unavailable' }
  }
}

async function checkLog(offsets: EndOffsetsCache): Promise<PartStatus> {
  if (!offsets.configured) return { status: 'absent' }
  const reading = await offsets.get({ fresh: true })
  if (reading?.endOffsets == null) {
    const down = { status: 'down' as const, error: reading?.error ?? 'unavailable' }
    return reading?.lost === undefined ? down : { ...down, lost: reading.lost }
  }
  return { status: 'up' }
}
