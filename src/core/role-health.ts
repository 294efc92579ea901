// What each role of this process is doing, for /health, /metrics and the dashboard. A role that
// has failed or stalled must never look healthy: the states, worst first,
//
//   failed       it stopped and will not go on by itself (a partition stopped, a batch that
//                failed BATCH_FAILED_AFTER runs in a row, a log partition whose write failed)
//   stalled      it runs but makes no progress while there is work (a speed partition whose
//                commits have failed for STALLED_AFTER_MS while records wait in the log)
//   degraded     it makes progress with trouble (commits failing but recent, a failed batch
//                run, a log out of room answering 507)
//   catching-up  it is behind the log by more than CATCHING_UP_RECORDS
//   starting     not up yet
//   running      all well
//
// Each role registers a reporter; health asks them all on every request (cheap: in-memory stats
// and the cached end offsets). `/health` is 503 while any role is failed or stalled.
import { isStrataError } from './errors.ts'
import type { ViewStop } from './view-errors.ts'

export type RoleState = 'running' | 'starting' | 'catching-up' | 'degraded' | 'stalled' | 'failed'

export const ROLE_STATES: readonly RoleState[] = [
  'running',
  'starting',
  'catching-up',
  'degraded',
  'stalled',
  'failed',
]

export interface PartitionReport {
  partition: number
  state: RoleState
  /** Records in the log this role has not taken in yet, when known. */
  lag?: number | null
  reason?: string
}

export interface RoleReport {
  role: string
  state: RoleState
  /** One line on why, with the error code, when not running. */
  reason?: string
  /** Failures in a row now (speed: failed commits over its partitions; batch: failed runs). */
  failures?: number
  partitions?: PartitionReport[]
  /** What the role has done since it started (the archiver: segments, records, rejected; batch: damagedSegments, segmentsChecked, segmentsListed). */
  totals?: Record<string, number>
  /** Where views defined with onError('stop') threw and stopped this role or a partition of it. */
  viewStops?: ViewStop[]
  /**
   * Set while the role holds its batches because POST /events bursts (runtime/ingest-burst.ts):
   * why its lag rises meanwhile. Not a trouble: the state stays what the lag makes it.
   */
  held?: string
  /**
   * Set on a worker of another process seen through its heartbeat (runtime/role-heartbeat.ts, a
   * `strata worker serve`): who it is, when it was last heard, and its progress then.
   */
  instance?: { host: string; pid: number; startedAt: string }
  heardAt?: string
  heardAgoMs?: number
  progress?: Record<string, number | string | null>
}

export type RoleReporter = () => RoleReport | Promise<RoleReport>

export const STALLED_AFTER_MS = 10_000
export const CATCHING_UP_RECORDS = 10_000
export const BATCH_FAILED_AFTER = 3

/** The worse of two states (ROLE_STATES order). */
export function worse(a: RoleState, b: RoleState): RoleState {
  return ROLE_STATES.indexOf(a) >= ROLE_STATES.indexOf(b) ? a : b
}

export function worst(states: Iterable<RoleState>): RoleState {
  let out: RoleState = 'running'
  for (const s of states) out = worse(out, s)
  return out
}

/** True for the states that make /health answer 503. */
export function isUnhealthy(state: RoleState): boolean {
  return state === 'failed' || state === 'stalled'
}

/** The roles of this process. */
export class RoleHealth {
  readonly #reporters: Array<() => RoleReport | RoleReport[] | Promise<RoleReport | RoleReport[]>> = []

  add(reporter: RoleReporter): void {
    this.#reporters.push(reporter)
  }

  /** A reporter of several roles at once (a serving process's view of every worker's heartbeat). */
  addMany(reporter: () => Promise<RoleReport[]>): void {
    this.#reporters.push(reporter)
  }

  async reports(): Promise<RoleReport[]> {
    const out: RoleReport[] = []
    for (const reporter of this.#reporters) {
      try {
        const reported = await reporter()
        if (Array.isArray(reported)) out.push(...reported)
        else out.push(reported)
      } catch (error) {
        out.push({ role: 'unknown', state: 'degraded', reason: describe(error) })
      }
    }
    return out
  }
}

export function describe(error: unknown): string {
  if (isStrataError(error)) return `${error.message} [${error.code}]`
  return error instanceof Error ? error.message : String(error)
}

/** A role made of partitions: its state is the worst of theirs, its reason the worst one's. */
export function fromPartitions(role: string, partitions: PartitionReport[]): RoleReport {
  const state = worst(partitions.map((p) => p.state))
  const reason = partitions.find((p) => p.state === state && p.reason)?.reason
  return { role, state, ...(reason ? { reason } : {}), partitions }
}

/** Every view stop the roles of this process know (RoleReport.viewStops); none without roles. */
export async function viewStops(roles: RoleHealth | undefined): Promise<ViewStop[]> {
  if (roles === undefined) return []
  return (await roles.reports()).flatMap((r) => r.viewStops ?? [])
}
