// One run of the fault suite: an environment, the workload, and `schedules` schedules of
// faults. Each schedule: workload and prober on, the faults applied (at least `activeMs`), then
// heal (every role running again), workload off, and two checks of every view over every event
// produced so far: (1) once the answers cover the log end (asOf), mostly from the speed layer;
// (2) once a batch run has put the served batch horizon at the log end, so the batch/speed
// hand-off is checked too. Checks are cumulative: an event lost in schedule 3 shows in every
// later check, so the per-view figures are the worst check, not a sum.

import { type CheckResult, checkViews, VIEWS, type ViewName } from './checker.ts'
import { type Environment, type Ports, startEnvironment, waitUntil } from './environment.ts'
import { applySchedule, type Injected } from './nemesis.ts'
import { Prober } from './prober.ts'
import { describeFault, FAULT_KINDS, type FaultKind, type Schedule, scheduleFor } from './schedule.ts'
import { Workload } from './workload.ts'

export interface SuiteOptions {
  schedules: number
  seed: number
  /** First schedule index (a replay of schedule I alone: --first I --schedules 1). */
  first?: number
  ports: Ports
  /** Shortest fault window per schedule (default 6 s). */
  activeMs?: number
  /** Longest wait for the answers or the batch horizon to reach the log end (default 120 s). */
  quiesceMs?: number
  keep?: boolean
  log?: (line: string) => void
  /** Aborting stops the run after the schedule in progress (the environment is still cleaned up). */
  signal?: AbortSignal
}

export interface ScheduleOutcome {
  index: number
  faults: string[]
  injected: Injected[]
  checks: CheckResult[]
  /** What did not reach the log end in time (a stall), if anything. */
  stalls: string[]
}

export interface Summary {
  seed: number
  first: number
  schedulesRun: number
  faultsInjected: Record<FaultKind, number>
  /** Faults planned that did not take place (a batch run that finished first, ...). */
  faultsNotInjected: number
  events: { attempted: number; acked: number; indeterminate: number; failedSends: number }
  perView: Record<ViewName, { lost: number; duplicated: number; failedChecks: number; examples: string[] }>
  checks: number
  stalls: string[]
  unexpectedExits: Array<{ name: string; code: number | null; signal: string | null }>
  availability: { answered: number; failed: number }
  /** Probes sent while a fault of the kind was in effect (killed, not yet restarted). */
  availabilityDuring: Record<FaultKind, { answered: number; failed: number }>
  /** The same, counting only probes sent while that fault was the only one in effect. */
  availabilityAlone: Record<FaultKind, { answered: number; failed: number }>
  failingSchedules: number[]
  durationMs: number
  error?: string
}

async function endOffsets(env: Environment): Promise<number[]> {
  return (await env.askKafka((admin) => admin.listOffsets(env.topic))).map((p) => p.latest)
}

interface ViewsStatus {
  views: Array<{ name: string; asOf: number[]; batch: { horizon: number[] } | null }>
}

async function viewsReach(env: Environment, end: number[], part: 'asOf' | 'horizon'): Promise<boolean> {
  // A role that exits while we wait is restarted, as a supervisor would (and counted as unexpected).
  env.fleet.heal()
  const res = await fetch(`${env.serveUrl}/views`, { signal: AbortSignal.timeout(5000) })
  if (!res.ok) return false
  const { views } = (await res.json()) as ViewsStatus
  return views.every((v) => {
    const at = part === 'asOf' ? v.asOf : v.batch?.horizon
    return at !== undefined && end.every((e, p) => (at[p] ?? 0) >= e)
  })
}

export async function runSuite(options: SuiteOptions): Promise<Summary> {
  const log = options.log ?? (() => {})
  const started = Date.now()
  const first = options.first ?? 0
  const quiesceMs = options.quiesceMs ?? 120_000
  const summary: Summary = {
    seed: options.seed,
    first,
    schedulesRun: 0,
    faultsInjected: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>,
    faultsNotInjected: 0,
    events: { attempted: 0, acked: 0, indeterminate: 0, failedSends: 0 },
    perView: Object.fromEntries(
      VIEWS.map((v) => [v, { lost: 0, duplicated: 0, failedChecks: 0, examples: [] as string[] }]),
    ) as Summary['perView'],
    checks: 0,
    stalls: [],
    unexpectedExits: [],
    availability: { answered: 0, failed: 0 },
    availabilityDuring: Object.fromEntries(
      FAULT_KINDS.map((k) => [k, { answered: 0, failed: 0 }]),
    ) as Summary['availabilityDuring'],
    availabilityAlone: Object.fromEntries(
      FAULT_KINDS.map((k) => [k, { answered: 0, failed: 0 }]),
    ) as Summary['availabilityAlone'],
    failingSchedules: [],
    durationMs: 0,
  }
  const env = await startEnvironment(options.ports, log, options.keep)
  const workload = new Workload({ brokers: env.brokers, topic: env.topic, partitions: env.partitions })
  const prober = new Prober(env.serveUrl)
  try {
    for (let index = first; index < first + options.schedules && !options.signal?.aborted; index++) {
      const schedule = scheduleFor(options.seed, index, env.partitions)
      const outcome = await runSchedule(
        env,
        schedule,
        workload,
        prober,
        options.activeMs ?? 6000,
        quiesceMs,
        log,
      )
      summary.schedulesRun++
      for (const injected of outcome.injected) {
        if (injected.dead) summary.faultsInjected[injected.kind]++
        else summary.faultsNotInjected++
        if (injected.from === undefined || injected.to === undefined) continue
        const during = summary.availabilityDuring[injected.kind]
        for (const probe of prober.probes) {
          if (probe.at < injected.from || probe.at > injected.to) continue
          if (probe.ok) during.answered++
          else during.failed++
        }
      }
      // Schedules overlap faults: a probe that failed while the serving process was also down
      // says nothing about the broker. These count a probe only under the one fault in effect.
      for (const probe of prober.probes) {
        const active = outcome.injected.filter(
          (f) => f.from !== undefined && f.to !== undefined && probe.at >= f.from && probe.at <= f.to,
        )
        if (active.length === 0 || !active.every((f) => f.kind === active[0]!.kind)) continue
        const alone = summary.availabilityAlone[active[0]!.kind]
        if (probe.ok) alone.answered++
        else alone.failed++
      }
      prober.probes.length = 0
      summary.stalls.push(...outcome.stalls.map((s) => `schedule ${index}: ${s}`))
      let failing = outcome.stalls.length > 0
      for (const check of outcome.checks) {
        summary.checks++
        for (const view of VIEWS) {
          const { lost, duplicated, examples } = check[view]
          const total = summary.perView[view]
          total.lost = Math.max(total.lost, lost)
          total.duplicated = Math.max(total.duplicated, duplicated)
          if (lost + duplicated > 0) {
            total.failedChecks++
            failing = true
            if (total.examples.length === 0)
              total.examples.push(...examples.map((e) => `schedule ${index}: ${e}`))
          }
        }
      }
      if (failing) {
        summary.failingSchedules.push(index)
        log(`FAILING schedule ${index}: replay with --seed ${options.seed} --first ${index} --schedules 1`)
      }
    }
  } catch (error) {
    summary.error = error instanceof Error ? (error.stack ?? error.message) : String(error)
    log(`suite aborted: ${summary.error}`)
  } finally {
    await prober.stop()
    await workload.close()
    summary.unexpectedExits = env.fleet.unexpected.map(({ name, code, signal }) => ({ name, code, signal }))
    summary.events.attempted = workload.outcomes.length
    summary.events.acked = workload.outcomes.filter((o) => o === 'acked').length
    summary.events.indeterminate = summary.events.attempted - summary.events.acked
    summary.events.failedSends = workload.failedSends
    summary.availability = { answered: prober.answered, failed: prober.failed }
    if (options.keep) log(`environment kept in ${env.dir}`)
    await env.close()
    summary.durationMs = Date.now() - started
  }
  return summary
}

async function runSchedule(
  env: Environment,
  schedule: Schedule,
  workload: Workload,
  prober: Prober,
  activeMs: number,
  quiesceMs: number,
  log: (line: string) => void,
): Promise<ScheduleOutcome> {
  const faults = schedule.faults.map(describeFault)
  log(`schedule ${schedule.index} (seed ${schedule.seed}): ${faults.join('; ')}`)
  workload.start()
  prober.start()
  const [injected] = await Promise.all([
    applySchedule(env, schedule),
    new Promise((resolve) => setTimeout(resolve, activeMs)),
  ])
  await prober.stop()
  await workload.stop()
  const restarted = env.fleet.heal()
  if (restarted.length > 0) log(`  restarted after an unexpected exit: ${restarted.join(', ')}`)
  for (const i of injected) log(`  ${i.kind}: ${i.dead ? `killed pid ${i.pid}` : 'not injected'} (${i.note})`)
  const stalls: string[] = []
  const checks: CheckResult[] = []
  const end = await endOffsets(env)
  for (const part of ['asOf', 'horizon'] as const) {
    const t0 = Date.now()
    if (!(await waitUntil(() => viewsReach(env, end, part), quiesceMs))) {
      stalls.push(`the views' ${part} did not reach the log end [${end}] within ${quiesceMs / 1000} s`)
      log(`  STALL: ${stalls.at(-1)}`)
      break
    }
    const check = await checkViews(env.serveUrl, workload.outcomes, end)
    checks.push(check)
    const figures = VIEWS.map((v) => `${v} lost ${check[v].lost} dup ${check[v].duplicated}`).join(', ')
    log(`  check at ${part} = end [${end}] after ${Date.now() - t0} ms: ${figures}`)
  }
  return { index: schedule.index, faults, injected, checks, stalls }
}
