// GET /health — whether this process can answer, and which of its parts are up:
//   store  — a read of the store succeeds (503 when it does not: no query can be answered);
//   log    — the end-offsets provider answers (when one is configured). A log that is down
//            leaves answers possible but stale and POST /events failing: 200, status "degraded";
//   ingest — whether this process accepts POST /events at all.
// Reasons are error codes only: foreign error messages may hold connection strings.
import type { FastifyInstance } from 'fastify'
import { isStrataError } from '../../core/errors.ts'
import type { Store } from '../../store/store.ts'
import type { EndOffsetsCache } from './log-offsets.ts'

export interface HealthRouteOptions {
  store?: Store
  offsets: EndOffsetsCache
  ingest: boolean
}

type PartStatus = { status: 'up' } | { status: 'down'; error: string } | { status: 'absent' }

export async function healthRoute(app: FastifyInstance, options: HealthRouteOptions): Promise<void> {
  const { store, offsets, ingest } = options
  app.get('/health', async (_request, reply) => {
    const [storePart, logPart] = await Promise.all([checkStore(store), checkLog(offsets)])
    const status = storePart.status === 'down' ? 'down' : logPart.status === 'down' ? 'degraded' : 'ok'
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
  if (reading?.endOffsets == null) return { status: 'down', error: reading?.error ?? 'unavailable' }
  return { status: 'up' }
}
