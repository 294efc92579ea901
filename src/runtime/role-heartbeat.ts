// Each worker role run alone (`strata worker archiver|batch|speed`) has no HTTP server: its state
// was visible only in its own log, and a `strata worker serve` beside it said ok while it was
// frozen, dead, or had exited after 3 failed batch runs. So each records a heartbeat in the store
// every HEARTBEAT_EVERY_MS — its report (state, reason, totals) with who it is (host, pid) and when
// — and the serving process reads them all (heartbeatReporter): one row per worker in /health's
// `roles`, /metrics and the dashboard.
//
// The rules, in one place:
// - heard within HEARTBEAT_STALE_MS: the worker's own state and reason;
// - silent longer: `stalled`, "no heartbeat for N s" (frozen, killed, its machine gone);
// - a worker that stopped cleanly (SIGTERM) records so and is no longer listed: it was stopped on
//   purpose, and a deployment without that role is fine;
// - a worker that failed records `failed` with why before it exits 1 (role-watch.ts settles first);
// - a silent or failed worker is superseded by a newer one of the same role that started after it
//   was last heard (its restart by a supervisor, here or on another machine): no longer listed.
// Roles that never recorded a heartbeat are not invented.
//
// Stored under the store's meta names ('heartbeat <role> <host> <pid>'), last writer wins: no
// layout change to either store.
import { hostname } from 'node:os'
import type { RoleReport, RoleReporter, RoleState } from '../core/role-health.ts'
import { describe } from '../core/role-health.ts'
import type { Store } from '../store/store.ts'
import type { Logger } from './logger.ts'

export const HEARTBEAT_EVERY_MS = 5_000
/** Six beats missed: a worker this long silent is frozen or gone. */
export const HEARTBEAT_STALE_MS = 30_000
const PREFIX = 'heartbeat '

export interface Heartbeat {
  role: string
  host: string
  pid: number
  /** ms since the epoch. */
  startedAt: number
  heardAt: number
  state: RoleState
  reason?: string
  failures?: number
  /** The role's totals and progress (the archiver's segments and records; the batch runs). */
  progress?: Record<string, number | string | null>
  /** Set when it stopped cleanly (a signal): not listed any more. */
  stoppedAt?: number
}

export type HeartbeatStore = Pick<Store, 'writeMeta' | 'listMeta' | 'deleteMeta'>

/** The progress a report carries: its totals and, per partition, the lag. */
function progressOf(report: RoleReport): Record<string, number | string | null> {
  const out: Record<string, number | string | null> = { ...(report.totals ?? {}), ...(report.progress ?? {}) }
  for (const p of report.partitions ?? []) out[`lag.p${p.partition}`] = p.lag ?? null
  return out
}

/**
 * Records this worker's heartbeat every `everyMs` from its reporter; `close()` records a last one:
 * `failed` with why when the role failed (before role-watch.ts's exit 1), else stopped.
 */
export function startHeartbeat(
  store: HeartbeatStore,
  role: string,
  report: RoleReporter,
  logger: Logger,
  options: { everyMs?: number; staleMs?: number; now?: () => number; host?: string; pid?: number } = {},
): { close(): Promise<void> } {
  const now = options.now ?? Date.now
  const host = options.host ?? hostname()
  const pid = options.pid ?? process.pid
  const startedAt = now()
  const name = `${PREFIX}${role} ${host} ${pid}`
  let failing = false
  let writing: Promise<void> = Promise.resolve()
  const beat = async (last: boolean) => {
    const reported = await report()
    const stopped = last && reported.state !== 'failed'
    const heartbeat: Heartbeat = {
      role,
      host,
      pid,
      startedAt,
      heardAt: now(),
      state: reported.state,
      ...(reported.reason ? { reason: reported.reason } : {}),
      ...(reported.failures !== undefined ? { failures: reported.failures } : {}),
      progress: progressOf(reported),
      ...(stopped ? { stoppedAt: now() } : {}),
    }
    await store.writeMeta(name, heartbeat)
  }
  const tick = () => {
    writing = writing
      .then(() => beat(false))
      .then(
        () => {
          if (failing) logger.info(`${role}: heartbeat recorded again`)
          failing = false
        },
        (error) => {
          // The store down: the serving process then reads no heartbeat either, and says so.
          if (!failing)
            logger.warn(`${role}: could not record its heartbeat in the store: ${describe(error)}`)
          failing = true
        },
      )
  }
  // One row per worker process ever started would pile up: a worker starting removes the rows its
  // start makes obsolete (judgeHeartbeats lists them no more: stopped, or silent or failed before
  // it started), once, best effort.
  writing = prune(store, role, startedAt, options.staleMs ?? HEARTBEAT_STALE_MS, now).catch(() => undefined)
  tick()
  const timer = setInterval(tick, options.everyMs ?? HEARTBEAT_EVERY_MS)
  timer.unref()
  return {
    async close() {
      clearInterval(timer)
      await writing
      await beat(true).catch((error) =>
        logger.warn(`${role}: could not record its last heartbeat: ${describe(error)}`),
      )
    },
  }
}

async function prune(
  store: HeartbeatStore,
  role: string,
  startedAt: number,
  staleMs: number,
  now: () => number,
): Promise<void> {
  for (const [name, value] of await store.listMeta(PREFIX)) {
    const b = value as Heartbeat
    if (b.role !== role || b.heardAt >= startedAt) continue
    const gone = b.stoppedAt !== undefined || b.state === 'failed' || now() - b.heardAt > staleMs
    if (gone) await store.deleteMeta(name)
  }
}

/** A worker's row in /health's `roles`: its report plus who and when (RoleReport.instance). */
export type HeartbeatReport = RoleReport & Required<Pick<RoleReport, 'instance' | 'heardAt' | 'heardAgoMs'>>

/** What the serving process lists: every worker that recorded a heartbeat, by the rules above. */
export function judgeHeartbeats(
  beats: readonly Heartbeat[],
  at: number,
  staleMs = HEARTBEAT_STALE_MS,
): HeartbeatReport[] {
  const out: HeartbeatReport[] = []
  for (const b of beats) {
    if (b.stoppedAt !== undefined) continue
    const ago = Math.max(0, at - b.heardAt)
    const silent = ago > staleMs
    if (silent || b.state === 'failed') {
      const superseded = beats.some((o) => o !== b && o.role === b.role && o.startedAt > b.heardAt)
      if (superseded) continue
    }
    const where = `${b.role} (pid ${b.pid} on ${b.host})`
    const report: HeartbeatReport = {
      role: b.role,
      state: silent ? 'stalled' : b.state,
      ...(silent
        ? {
            reason: `no heartbeat from ${where} for ${Math.round(ago / 1000)} s (more than ${staleMs / 1000} s; last said: ${b.state}${b.reason ? `, ${b.reason}` : ''}): the process is frozen or gone`,
          }
        : b.reason
          ? { reason: `${where}: ${b.reason}` }
          : {}),
      ...(b.failures !== undefined ? { failures: b.failures } : {}),
      instance: { host: b.host, pid: b.pid, startedAt: new Date(b.startedAt).toISOString() },
      heardAt: new Date(b.heardAt).toISOString(),
      heardAgoMs: ago,
      ...(b.progress ? { progress: b.progress } : {}),
    }
    out.push(report)
  }
  return out
}

/** The serving process's reporter of every worker's heartbeat. */
export function heartbeatReporter(
  store: HeartbeatStore,
  now: () => number = Date.now,
  staleMs = HEARTBEAT_STALE_MS,
): () => Promise<HeartbeatReport[]> {
  return async () => {
    const rows = await store.listMeta(PREFIX)
    return judgeHeartbeats(
      rows.map(([, value]) => value as Heartbeat),
      now(),
      staleMs,
    )
  }
}
