// The reporters of role-health.ts for the roles a process runs: the speed layer (from its
// partitions' stats and the log's end offsets), the batch schedule, the embedded log, and — for a
// serving process with no speed layer of its own — the speed layer as the store shows it.
import type { ArchiverStats } from '../archive/index.ts'
import type { BatchSchedule } from '../batch/schedule.ts'
import { ErrorCodes } from '../core/errors.ts'
import {
  BATCH_FAILED_AFTER,
  CATCHING_UP_RECORDS,
  describe,
  fromPartitions,
  type PartitionReport,
  type RoleReport,
  type RoleReporter,
  STALLED_AFTER_MS,
  worse,
} from '../core/role-health.ts'
import { failureOf, type ViewStop } from '../core/view-errors.ts'
import type { EmbeddedLog } from '../log/embedded/index.ts'
import type { ReadTrouble } from '../log/partition-source.ts'
import { describeDamage, type SegmentScrub } from '../master-dataset/index.ts'
import type { SpeedWorkerStats } from '../speed/index.ts'
import type { Store } from '../store/store.ts'
import { speedHangMs } from './role.ts'

type EndOffsets = () => Promise<number[] | null | undefined>

/**
 * One reading of the log's end offsets shared by every reader of a process: the serving layer's
 * cache (/metrics, /health, the lag on answers) and the roles' reporters (speed, archiver), each of
 * which keeps its own for a second. Without it a scrape of `strata start`'s /metrics asked Kafka
 * three times (a metadata request and two listOffsets each, answered and parsed on the serving
 * thread: session 18); with it the readers that go stale together — one scrape's, one /health's —
 * share one. A reading, or its failure, is reused for `reuseMs` after it ends (at most that much
 * older than a reader's own cache says: 250 ms on top of their second), and one is in flight at a
 * time. Failures are passed on as they are (RetentionOutranError carries the lost records).
 */
export function sharedEndOffsets(
  read: () => Promise<number[]>,
  reuseMs = 250,
): (() => Promise<number[]>) & { readings(): number } {
  let last: { at: number; result: Promise<number[]> } | undefined
  let inflight: Promise<number[]> | undefined
  let readings = 0
  const shared = (): Promise<number[]> => {
    if (inflight) return inflight
    if (last && performance.now() - last.at <= reuseMs) return last.result
    readings++
    let result: Promise<number[]>
    try {
      result = read()
    } catch (error) {
      result = Promise.reject(error)
    }
    inflight = result
    const settle = () => {
      last = { at: performance.now(), result }
      inflight = undefined
    }
    result.then(settle, settle)
    return result
  }
  return Object.assign(shared, { readings: () => readings })
}

/**
 * The end offsets for health, at most a second old and never waited on for more than two (a
 * broker round trip in Kafka mode; a broker that is down must not make /health hang): null when
 * unknown.
 */
export function healthEndOffsets(endOffsets: EndOffsets, maxAgeMs = 1000, timeoutMs = 2000) {
  // `at` on the monotonic clock: a wall clock stepped back (NTP, a resumed VM) must not keep a
  // reading fresh, the lag on /health frozen, for as long as the step.
  let last: { at: number; value: number[] | null } | undefined
  let inflight: Promise<number[] | null> | undefined
  const read = async (): Promise<number[] | null> => {
    let timer: NodeJS.Timeout | undefined
    try {
      const value = await Promise.race([
        endOffsets(),
        new Promise<null>((resolve) => {
          timer = setTimeout(() => resolve(null), timeoutMs)
        }),
      ])
      return value ?? null
    } catch {
      return null
    } finally {
      clearTimeout(timer)
    }
  }
  return async (): Promise<number[] | null> => {
    if (last && performance.now() - last.at <= maxAgeMs) return last.value
    inflight ??= read().then((value) => {
      last = { at: performance.now(), value }
      inflight = undefined
      return value
    })
    return inflight
  }
}

/** The speed layer of this process: a partition is failed once stopped (fencing aside: the
 * partition then belongs to another worker), stalled when its commits have failed for a while
 * with records waiting, or when its offset has not moved for half the hang timeout (30 s) while
 * records wait (as storeSpeedReporter judges it from the store), degraded while commits fail, catching up
 * when far behind. */
export function speedReporter(
  stats: () => SpeedWorkerStats,
  endOffsets: EndOffsets,
  now: () => number = Date.now,
  /**
   * Set when this process's store is its own (`strata start` on Kafka with the embedded LMDB
   * store): every partition of the topic must be folded here, so one that another member of the
   * consumer group holds for heldElsewhereAfterMs is stalled — its events never reach this
   * store. Unset for speed workers that share a PostgreSQL store, where that is the point.
   * `sessionTimeoutMs`: the group's session timeout. A member killed with its partitions keeps
   * them until its session times out (a restart after kill -9 can be given half the partitions
   * first), so "held elsewhere" is judged only past that plus STALLED_AFTER_MS for the rebalance.
   */
  ownsEveryPartition?: { id: string; sessionTimeoutMs?: number },
  /** A fold not returned, or an offset standing with records waiting, this long is stalled (role.ts speedHangMs). */
  hangAfterMs: number = speedHangMs(),
): RoleReporter {
  const readEnd = healthEndOffsets(endOffsets)
  // No commit failing and no read trouble is not progress: a view's code that never returns
  // stops the fold with neither (in `strata start` on Kafka the speed layer's thread hangs while
  // the main thread answers /health), and only the offset standing still shows it.
  const still = new StandingOffsets(hangAfterMs)
  const elsewhere = new StandingOffsets(heldElsewhereAfterMs(ownsEveryPartition?.sessionTimeoutMs))
  return async () => {
    const end = await readEnd()
    // One snapshot (and one clock reading) for the whole report, so its partitions, read trouble
    // and failure count describe the same moment.
    const snapshot = stats()
    const at = now()
    const partitions: PartitionReport[] = []
    const trouble = byPartition(snapshot.readTrouble)
    // A fold thread stuck in a view's code (speed-worker.ts, stuckFolds): the partition and event
    // it holds are named, and every partition waiting behind it says why.
    const stuck = (snapshot.stuckFolds ?? []).filter((s) => s.forMs >= hangAfterMs)
    const stuckNote = stuck
      .map(
        (s) =>
          `view '${s.view}' has not returned on partition ${s.partition} offset ${s.offset} for ${Math.round(s.forMs / 1000)} s`,
      )
      .join('; ')
    for (const p of snapshot.partitions) {
      const lag = end?.[p.partition] === undefined ? null : Math.max(0, end[p.partition]! - p.consumed)
      let report: PartitionReport = { partition: p.partition, state: 'running', lag }
      // Fenced: the partition is another worker's now; released or revoked: not a failure.
      const stuckHere = stuck.find((s) => s.partition === p.partition)
      if (p.stoppedCode !== null && p.stoppedCode !== ErrorCodes.FENCED) {
        report = { ...report, state: 'failed', reason: p.stopped ?? p.stoppedCode }
      } else if (stuckHere && p.stopped === null) {
        // No offset clock needed: the thread itself has not answered for that long.
        report = {
          ...report,
          state: 'stalled',
          reason: `partition ${p.partition}: view '${stuckHere.view}' has not returned on the event at offset ${stuckHere.offset} for ${Math.round(stuckHere.forMs / 1000)} s (its code never returns?): the speed layer waits on it; events are still accepted and kept in the log. Fix the view and restart`,
        }
      } else if (p.commitFailures > 0) {
        const failingFor = at - (p.failingSince ?? at)
        const waiting = lag === null || lag > 0
        report = {
          ...report,
          state: failingFor >= STALLED_AFTER_MS && waiting ? 'stalled' : 'degraded',
          reason: `${p.commitFailures} commits failed in a row over ${Math.round(failingFor / 1000)} s: ${p.lastCommitError}`,
        }
      } else if (
        p.stopped === null &&
        lag !== null &&
        lag > 0 &&
        still.stalled(p.partition, p.consumed, at)
      ) {
        report = {
          ...report,
          state: 'stalled',
          reason: `partition ${p.partition}: the speed layer's offset has stayed at ${p.consumed} for ${Math.round(still.for(p.partition, at) / 1000)} s with ${lag} records waiting${stuckNote ? ` (its fold thread waits: ${stuckNote})` : ''}`,
        }
      } else if (lag !== null && lag > CATCHING_UP_RECORDS) {
        report = { ...report, state: 'catching-up' }
      }
      if (lag === 0 || p.stopped !== null) still.clear(p.partition)
      partitions.push(withReadTrouble(report, trouble.get(p.partition), at))
    }
    const here = new Set(snapshot.partitions.filter((p) => p.stopped === null).map((p) => p.partition))
    still.keep(here)
    if (ownsEveryPartition !== undefined && end) {
      for (let partition = 0; partition < end.length; partition++) {
        // -1 stands for "held elsewhere": the clock runs while that lasts and stops once here.
        // A partition reported failed above is not also "held elsewhere": one row, its own reason.
        if (
          here.has(partition) ||
          partitions.some((p) => p.partition === partition && p.state === 'failed')
        ) {
          elsewhere.clear(partition)
          continue
        }
        if (!elsewhere.stalled(partition, -1, at)) continue
        partitions.push({
          partition,
          state: 'stalled',
          lag: null,
          // Not always another process: a speed layer stuck in a view's code loses its membership
          // after the session timeout and shows the same.
          reason: `partition ${partition} has not been this process's for ${Math.round(elsewhere.for(partition, at) / 1000)} s (another member of consumer group ${ownsEveryPartition.id} holds it, or this speed layer lost its membership): its events never reach this process's store (its own LMDB). Another strata start on this topic? Give each its own --group-prefix, or share a PostgreSQL --store`,
        })
      }
    }
    const failures = snapshot.partitions.reduce((n, p) => n + p.commitFailures, 0)
    // Partitions a view defined with onError('stop') stopped: the view's answers say so (viewState).
    const viewStops: ViewStop[] = snapshot.partitions.flatMap((p) =>
      p.viewFailure ? [{ ...p.viewFailure, layer: 'speed' as const }] : [],
    )
    return { ...fromPartitions('speed', partitions), failures, ...(viewStops.length ? { viewStops } : {}) }
  }
}

/** How long a partition may be another member's before a store of this process's own calls it stalled. */
export function heldElsewhereAfterMs(sessionTimeoutMs = 0): number {
  return Math.max(STALLED_AFTER_MS * 3, sessionTimeoutMs + STALLED_AFTER_MS)
}

/**
 * Since when each partition has stood at its offset with something waiting: the clock starts at
 * the first report that sees it so, not at the last one before. /health may be asked rarely (a
 * probe each minute, a person now and then): an idle partition seen caught up at t, and at t + 60 s
 * with records that arrived a moment before, has not stood still for 60 s with records waiting —
 * that was a false `stalled` (found by r13-user). The same for a partition first seen away.
 */
class StandingOffsets {
  readonly #since = new Map<number, { offset: number; since: number }>()
  readonly afterMs: number
  constructor(afterMs: number) {
    this.afterMs = afterMs
  }

  /** Something waits at this offset: true once that has been seen for afterMs. */
  stalled(partition: number, offset: number, at: number): boolean {
    const last = this.#since.get(partition)
    if (last === undefined || last.offset !== offset) this.#since.set(partition, { offset, since: at })
    return this.for(partition, at) >= this.afterMs
  }

  /** Nothing waits (or the partition is not running here): the clock stops until it does. */
  clear(partition: number): void {
    this.#since.delete(partition)
  }

  /** Forgets the partitions not in `kept` (gone from this report: their clock starts anew). */
  keep(kept: ReadonlySet<number>): void {
    for (const partition of this.#since.keys()) if (!kept.has(partition)) this.#since.delete(partition)
  }

  for(partition: number, at: number): number {
    return at - (this.#since.get(partition)?.since ?? at)
  }
}

function byPartition(trouble: readonly ReadTrouble[] | undefined): Map<number, ReadTrouble> {
  return new Map((trouble ?? []).map((t) => [t.partition, t]))
}

/**
 * A partition the log cannot be read from (no leader, fetches failing): degraded at once, stalled
 * once it has lasted STALLED_AFTER_MS — it runs, but nothing it should take in arrives. The end
 * offsets usually cannot be read then either, so an unknown lag does not make it look caught up.
 */
export function withReadTrouble(
  report: PartitionReport,
  trouble: ReadTrouble | undefined,
  now: number,
): PartitionReport {
  if (trouble === undefined) return report
  const failingFor = Math.max(0, now - trouble.since)
  const state = worse(report.state, failingFor >= STALLED_AFTER_MS ? 'stalled' : 'degraded')
  if (state === report.state && report.reason) return report
  const reason = `partition ${report.partition} unreadable for ${Math.round(failingFor / 1000)} s (${trouble.failures} fetches failed, retrying): ${trouble.reason}`
  return { ...report, state, reason }
}

/**
 * How long a batch run's fold thread may say nothing before the batch layer is stalled: it
 * reports progress every 100 ms or so while it folds events, however slow the view (partition-fold.ts), so a minute
 * of silence is a view's code that never returns (or a thread starved for that long).
 */
export const BATCH_SILENT_AFTER_MS = 60_000

/**
 * The batch schedule: degraded after a failed run, failed after BATCH_FAILED_AFTER in a row;
 * stalled while a run's fold thread has said nothing for BATCH_SILENT_AFTER_MS (or `--hang-timeout`).
 */
export function batchReporter(
  schedule: Pick<BatchSchedule, 'failures' | 'lastError'> &
    Partial<Pick<BatchSchedule, 'silent' | 'lastRunAt' | 'lastFailedAt' | 'nextRunAt'>> & {
      scrub?: Pick<SegmentScrub, 'damaged' | 'found' | 'progress' | 'failure'> | undefined
    },
  /** `--hang-timeout` (strata-options.ts). */
  silentAfterMs: number = BATCH_SILENT_AFTER_MS,
): RoleReporter {
  const runs = batchRunReporter(schedule, silentAfterMs)
  const scrub = schedule.scrub
  if (scrub === undefined) return runs
  // A sealed segment whose NDJSON fails its checksum (master-dataset/segment-scrub.ts): at least
  // degraded while it stays so, even when the runs succeed from its packed copy. The scrub's
  // progress (segments hashed of those listed) says whether its pass is still under way: until
  // it is done, "no damaged segment" means "none found yet". A check its hashing process ended
  // (scrub.failure) is degraded too: no segment is being verified, so damage would go unsaid.
  return () => {
    const report = runs() as RoleReport
    const damaged = scrub.damaged
    const { checked, listed } = scrub.progress
    const totals = { damagedSegments: scrub.found, segmentsChecked: checked, segmentsListed: listed }
    const lines: string[] = []
    if (damaged.length > 0) {
      const more = damaged.length > 1 ? ` (and ${damaged.length - 1} more damaged segments)` : ''
      lines.push(`${describeDamage(damaged[0]!)}${more} [${ErrorCodes.SEGMENT_CORRUPT}]`)
    }
    if (scrub.failure !== undefined) {
      lines.push(
        `segment check failed: ${scrub.failure}; ${listed - checked} sealed segments not verified (tried again each minute)`,
      )
    }
    if (lines.length === 0) return { ...report, totals }
    const line = lines.join('; ')
    return {
      ...report,
      state: worse(report.state, 'degraded'),
      reason: report.reason ? `${report.reason}; ${line}` : line,
      totals,
    }
  }
}

function batchRunReporter(
  schedule: Pick<BatchSchedule, 'failures' | 'lastError'> &
    Partial<Pick<BatchSchedule, 'silent' | 'lastRunAt' | 'lastFailedAt' | 'nextRunAt'>>,
  silentAfterMs: number,
): () => RoleReport {
  const report = batchRunState(schedule, silentAfterMs)
  return () => {
    const r = report()
    if (!('nextRunAt' in schedule)) return r
    // When it last ran, last failed, and runs next (a worker's heartbeat carries them to serve).
    const at = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString())
    return {
      ...r,
      progress: {
        lastRunAt: at(schedule.lastRunAt),
        lastFailedAt: at(schedule.lastFailedAt),
        nextRunAt: at(schedule.nextRunAt),
      },
    }
  }
}

function batchRunState(
  schedule: Pick<BatchSchedule, 'failures' | 'lastError'> & Partial<Pick<BatchSchedule, 'silent'>>,
  silentAfterMs: number,
): () => RoleReport {
  return () => {
    const silent = schedule.silent?.(silentAfterMs)[0]
    if (silent) {
      return {
        role: 'batch',
        state: 'stalled',
        failures: schedule.failures,
        reason: `the batch run's thread folding partition ${silent.partition} has said nothing for ${Math.round(silent.forMs / 1000)} s (a view's code that never returns?): the run waits, the served versions stay. Fix the view and restart`,
      }
    }
    if (schedule.failures === 0) return { role: 'batch', state: 'running', failures: 0 }
    // The last run failed on a view defined with onError('stop'): the view's answers say so until
    // a run completes (the served versions stay those of the last run that did).
    const failure = failureOf(schedule.lastError)
    return {
      role: 'batch',
      failures: schedule.failures,
      state: schedule.failures >= BATCH_FAILED_AFTER ? 'failed' : 'degraded',
      reason: `${schedule.failures} batch runs failed in a row: ${describe(schedule.lastError)}`,
      ...(failure ? { viewStops: [{ ...failure, layer: 'batch' as const }] } : {}),
    }
  }
}

/** The embedded log: a partition whose write failed is failed; one out of room degraded (507). */
export function embeddedLogReporter(log: Pick<EmbeddedLog, 'conditions'>): RoleReporter {
  return () =>
    fromPartitions(
      'log',
      log.conditions().map((c, partition) => ({
        partition,
        state: c.state === 'failed' ? 'failed' : c.state === 'no-room' ? 'degraded' : 'running',
        ...(c.reason ? { reason: c.reason } : {}),
      })),
    )
}

/**
 * The speed layer seen from the store, for a process that serves without running it (`strata
 * worker serve`): a partition whose consumed offset has not moved for STALLED_AFTER_MS × 3 while
 * the log holds records past it is stalled, whichever process owns it.
 */
export function storeSpeedReporter(
  store: Pick<Store, 'speedPartitions'>,
  endOffsets: EndOffsets,
  now: () => number = Date.now,
): RoleReporter {
  const standing = new StandingOffsets(STALLED_AFTER_MS * 3)
  const readEnd = healthEndOffsets(endOffsets)
  return async (): Promise<RoleReport> => {
    const [stored, end] = await Promise.all([store.speedPartitions(), readEnd()])
    const t = now()
    const partitions: PartitionReport[] = []
    const count = Math.max(end?.length ?? 0, ...stored.map((s) => s.partition + 1))
    for (let partition = 0; partition < count; partition++) {
      const offset = stored.find((s) => s.partition === partition)?.offset ?? 0
      const lag = end?.[partition] === undefined ? null : Math.max(0, end[partition]! - offset)
      let state: PartitionReport['state'] = 'running'
      let reason: string | undefined
      if (lag !== null && lag > 0 && standing.stalled(partition, offset, t)) {
        state = 'stalled'
        reason = `partition ${partition}: the speed layer's offset has stayed at ${offset} for ${Math.round(standing.for(partition, t) / 1000)} s with ${lag} records waiting`
      } else if (lag !== null && lag > CATCHING_UP_RECORDS) state = 'catching-up'
      if (lag === 0) standing.clear(partition)
      partitions.push({ partition, state, lag, ...(reason ? { reason } : {}) })
    }
    return fromPartitions('speed', partitions)
  }
}

/**
 * The archiver: each partition it owns with its lag (records in the log it has not taken in yet;
 * catching up past CATCHING_UP_RECORDS); degraded while segment writes fail with a retriable error
 * (the object store of the master dataset unreachable; it retries with backoff and consumes
 * nothing meanwhile), stalled once they have failed for STALLED_AFTER_MS. Whether it runs in this
 * thread or in a role thread of its own (role-thread.ts), the stats are the archiver's.
 */
export function archiverReporter(
  stats: () => ArchiverStats,
  endOffsets?: EndOffsets,
  now: () => number = Date.now,
): RoleReporter {
  const readEnd = endOffsets ? healthEndOffsets(endOffsets) : async () => null
  return async (): Promise<RoleReport> => {
    const end = await readEnd()
    const s = stats()
    const trouble = byPartition(s.readTrouble)
    const partitions: PartitionReport[] = s.partitions.map((p) => {
      const lag = end?.[p.partition] === undefined ? null : Math.max(0, end[p.partition]! - p.next)
      const report: PartitionReport = {
        partition: p.partition,
        state: lag !== null && lag > CATCHING_UP_RECORDS ? 'catching-up' : 'running',
        lag,
      }
      return withReadTrouble(report, trouble.get(p.partition), now())
    })
    const totals = { segments: s.segments, records: s.records, rejected: s.rejected }
    const report = { ...fromPartitions('archiver', partitions), totals }
    if (s.writeFailures === 0) return { ...report, failures: 0 }
    const failingFor = now() - (s.failingSince ?? now())
    return {
      ...report,
      state: failingFor >= STALLED_AFTER_MS ? 'stalled' : 'degraded',
      failures: s.writeFailures,
      reason: `segment writes failing for ${Math.round(failingFor / 1000)} s, retrying: ${describe(s.lastError)}`,
    }
  }
}
