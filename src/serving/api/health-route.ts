// GET /health — whether this process can answer, and which of its parts are up:
//   store  — a read of the store succeeds (503 when it does not: no query can be answered);
//   log    — the end-offsets provider answers (when one is configured). A log that is down
//            leaves answers possible but stale and POST /events failing: 200, status "degraded";
//            a log whose retention deleted records the speed layer never read (RETENTION_OUTRAN)
//            leaves answers missing them for good: 503, status "down", with the count;
//   ingest — whether this process accepts POST /events at all;
//   views  — "failing" with the names of the views that are not ok (core/view-errors.ts,
//            viewState): a view whose code throws on most events, or one a layer stopped on
//            (onError('stop'); also listed under `stopped`), whether this process's role stopped
//            or the store recorded it (a `worker serve` beside the speed workers): answers still
//            come, but that view's are not what its user meant, or no longer move: 200, status
//            "degraded" (a stopped role of this process makes it 503, below).
//   roles  — each role this process runs (runtime/role-health.ts) with its state and, when not
//            running, why; for `strata worker serve`, also each worker of another process as its
//            heartbeat says (runtime/role-heartbeat.ts); any role failed or stalled makes health
//            503 "down", degraded 200 "degraded".
// Part reasons are error codes only (foreign error messages may hold connection strings); role
// reasons are Strata's own lines, scrubbed of registered secrets like every log line.
//
// For probes: GET /health/live is 200 while the process answers and no role of its own has failed
// for good (503 asks a supervisor to restart it; a worker of another process is not its own); GET /health/ready is 200 when queries can be answered
// (started, store up), which is what a load balancer routes on.
import type { FastifyInstance } from 'fastify'
import type { CompiledView } from '../../core/compiled-view.ts'
import { ErrorCodes, isStrataError } from '../../core/errors.ts'
import { isUnhealthy, type RoleHealth, type RoleReport, worst } from '../../core/role-health.ts'
import { scrubSecrets } from '../../core/secrets.ts'
import { currentStops, type ViewStop, viewState } from '../../core/view-errors.ts'
import type { Store } from '../../store/store.ts'
import { healthRouteSchema, liveRouteSchema, readyRouteSchema } from './health-schemas.ts'
import type { EndOffsetsCache } from './log-offsets.ts'

export interface HealthRouteOptions {
  store?: Store
  offsets: EndOffsetsCache
  ingest: boolean
  views?: ReadonlyArray<CompiledView<any, any>>
  /** The roles this process runs (runtime/role-health.ts). */
  roles?: RoleHealth
}

type PartStatus =
  | { status: 'up' }
  | { status: 'down'; error: string; lost?: number }
  | { status: 'absent' }
  | { status: 'failing'; views: string[]; stopped?: string[] }

export async function healthRoute(app: FastifyInstance, options: HealthRouteOptions): Promise<void> {
  const { store, offsets, ingest, views = [] } = options
  const roleReports = async (): Promise<RoleReport[]> =>
    (await options.roles?.reports())?.map((r) => ({
      ...r,
      ...(r.reason ? { reason: scrubSecrets(r.reason) } : {}),
      ...(r.partitions
        ? {
            partitions: r.partitions.map((p) => (p.reason ? { ...p, reason: scrubSecrets(p.reason) } : p)),
          }
        : {}),
    })) ?? []
  app.get('/health/live', { schema: liveRouteSchema }, async (_request, reply) => {
    // This process's own roles only: a worker of another process that failed (its heartbeat,
    // runtime/role-heartbeat.ts) is restarted by its own supervisor, not by restarting this one.
    const failed = (await roleReports()).filter((r) => r.state === 'failed' && r.instance === undefined)
    return reply
      .code(failed.length > 0 ? 503 : 200)
      .send(failed.length > 0 ? { status: 'failed', roles: failed } : { status: 'alive' })
  })
  app.get('/health/ready', { schema: readyRouteSchema }, async (_request, reply) => {
    const storePart = await checkStore(store)
    return reply.code(storePart.status === 'down' ? 503 : 200).send({
      status: storePart.status === 'down' ? 'not ready' : 'ready',
      parts: { store: storePart },
    })
  })
  app.get('/health', { schema: healthRouteSchema }, async (_request, reply) => {
    const [storePart, logPart, roles] = await Promise.all([
      checkStore(store),
      checkLog(offsets),
      roleReports(),
    ])
    const rolesState = worst(roles.map((r) => r.state))
    const viewsPart =
      storePart.status === 'up'
        ? await checkViews(
            store!,
            views,
            roles.flatMap((r) => r.viewStops ?? []),
          )
        : { status: 'absent' as const }
    const outran = logPart.status === 'down' && logPart.error === ErrorCodes.RETENTION_OUTRAN
    const status =
      storePart.status === 'down' || outran || isUnhealthy(rolesState)
        ? 'down'
        : logPart.status === 'down' || viewsPart.status === 'failing' || rolesState === 'degraded'
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
      roles,
    })
  })
}

async function checkViews(
  store: Store,
  views: ReadonlyArray<CompiledView<any, any>>,
  inProcess: readonly ViewStop[],
): Promise<PartStatus> {
  if (views.length === 0) return { status: 'absent' }
  try {
    const [served, speedErrors, partitions] = await Promise.all([
      store.listBatchViews(),
      store.speedViewErrors(),
      store.speedPartitions(),
    ])
    const consumed: number[] = []
    for (const p of partitions) consumed[p.partition] = p.offset
    const now = Date.now()
    const notOk: string[] = []
    const stopped: string[] = []
    for (const v of views) {
      const meta = served.find((m) => m.view === v.name)
      const batch = meta ? { errors: meta.foldErrors?.count ?? 0, events: meta.events } : undefined
      const tally = speedErrors.get(v.name)
      // The same rule as GET /views (view-status.ts): a stop of this process's roles, or one the
      // store recorded that its partition has not committed past.
      const state = viewState(batch, tally, currentStops(v.name, tally, consumed, inProcess), now)
      if (state !== 'ok') notOk.push(v.name)
      if (state === 'stopped') stopped.push(v.name)
    }
    if (notOk.length === 0) return { status: 'up' }
    return stopped.length > 0
      ? { status: 'failing', views: notOk, stopped }
      : { status: 'failing', views: notOk }
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
