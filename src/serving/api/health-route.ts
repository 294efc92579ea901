// GET /health — whether this process can answer, and which of its parts are up:
//   store  — a read of the store succeeds (503 when it does not: no query can be answered);
//   log    — the end-offsets provider answers (when one is configured). A log that is down
//            leaves answers possible but stale and POST /events failing: 200, status "degraded";
//            a log whose retention deleted records the speed layer never read (RETENTION_OUTRAN)
//            leaves answers missing them for good: 503, status "down", with the count;
//   ingest — whether this process accepts POST /events at all.
// Reasons are error codes only: foreign error messages may hold connection strings.
import type { FastifyInstance } from 'fastify'
import { ErrorCodes, isStrataError } from '../../core/errors.ts'
import type { Store } from '../../store/store.ts'
import type { EndOffsetsCache } from './log-offsets.ts'

export interface HealthRouteOptions {
  store?: Store
  offsets: EndOffsetsCache
  ingest: boolean
}

type PartStatus = { status: 'up' } | { status: 'down'; error: string; lost?: number } | { status: 'absent' }

export async function healthRoute(app: FastifyInstance, options: HealthRouteOptions): Promise<void> {
  const { store, offsets, ingest } = options
  app.get('/health', async (_request, reply) => {
    const [storePart, logPart] = await Promise.all([checkStore(store), checkLog(offsets)])
    const outran = logPart.status === 'down' && logPart.error === ErrorCodes.RETENTION_OUTRAN
    const status =
      storePart.status === 'down' || outran ? 'down' : logPart.status === 'down' ? 'degraded' : 'ok'
    return reply.code(status === 'down' ? 503 : 200).send({
      status,
      parts: { store: storePart, log: logPart, ingest: { status: ingest ? 'up' : 'absent' } },
    })
  })
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
