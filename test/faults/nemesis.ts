// The nemesis: applies one schedule's faults to the environment, each on its own timeline
// (wait atMs, kill, stay down downMs, restart), and records what really happened: the pid it
// killed and whether that pid was gone afterwards, so a fault is counted only when it was real.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { Environment } from './environment.ts'
import { bin } from './fleet.ts'
import type { Fault, FaultKind, Schedule } from './schedule.ts'

export interface Injected {
  kind: FaultKind
  /** The pid killed (for a broker, its JVM; for PostgreSQL, the postmaster). */
  pid: number | undefined
  /** The pid no longer existed right after the kill. */
  dead: boolean
  /** What the fault hit or why it did not take place. */
  note: string
  /** When the victim was killed and when it was back (started again), epoch ms. */
  from?: number
  to?: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The pid no longer runs: no such process, or a zombie (here PID 1 may not reap orphans). */
export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return true
  }
}

/** Waits up to 10 s for the pid to be gone (a postmaster removes its pid file just before it exits). */
async function goneSoon(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && !isGone(pid); i++) await sleep(100)
  return isGone(pid)
}

/** Waits up to 30 s for the URL to answer 200. */
async function readySoon(url: string): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      (res) => res.ok,
      () => false,
    )
    if (ok) return
    await sleep(100)
  }
}

const roleOf: Partial<Record<FaultKind, (f: Fault) => string>> = {
  speed: (f) => `speed-${f.target}`,
  archiver: () => 'archiver',
  'batch-worker': () => 'batch-worker',
  serve: () => 'serve',
}

export async function applySchedule(env: Environment, schedule: Schedule): Promise<Injected[]> {
  return Promise.all(
    schedule.faults.map(async (fault) => {
      await sleep(fault.atMs)
      return applyFault(env, fault)
    }),
  )
}

async function applyFault(env: Environment, fault: Fault): Promise<Injected> {
  const role = roleOf[fault.kind]?.(fault)
  if (role) {
    const from = Date.now()
    const pid = await env.fleet.kill(role)
    if (pid === undefined) return { kind: fault.kind, pid, dead: false, note: `${role} was not running` }
    const dead = await goneSoon(pid)
    await sleep(fault.downMs)
    env.fleet.start(role)
    // The serving process is down until it answers again (it binds its port first and says
    // "starting" meanwhile): its window runs to then, not to the restart command, or its own
    // start-up would be counted against whatever other fault happens to overlap it.
    if (fault.kind === 'serve') await readySoon(`${env.serveUrl}/health/ready`)
    return { kind: fault.kind, pid, dead, note: role, from, to: Date.now() }
  }
  switch (fault.kind) {
    case 'batch-run':
      return killBatchRun(env, fault.downMs)
    case 'broker':
      return killLeader(env, fault)
    case 'postgres': {
      const pid = await env.postgres.pid()
      const from = Date.now()
      await env.postgres.crash()
      const dead = pid !== undefined && (await goneSoon(pid))
      await sleep(fault.downMs)
      await env.postgres.start()
      return { kind: fault.kind, pid, dead, note: 'immediate stop', from, to: Date.now() }
    }
    default:
      throw new Error(`unknown fault kind ${fault.kind}`)
  }
}

/** A one-off `strata batch`, killed after `afterMs` if it still runs then. */
async function killBatchRun(env: Environment, afterMs: number): Promise<Injected> {
  const child = spawn(process.execPath, [bin, ...env.batchArgs], { stdio: 'ignore' })
  let exitCode: number | null | undefined
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code) => {
      exitCode = code
      resolve()
    }),
  )
  await Promise.race([sleep(afterMs), exited])
  if (exitCode !== undefined) {
    return { kind: 'batch-run', pid: undefined, dead: false, note: `finished first (exit ${exitCode})` }
  }
  child.kill('SIGKILL')
  await exited
  return {
    kind: 'batch-run',
    pid: child.pid,
    dead: await goneSoon(child.pid!),
    note: `killed after ${afterMs} ms`,
  }
}

async function killLeader(env: Environment, fault: Fault): Promise<Injected> {
  const described = await env.askKafka((admin) => admin.describeTopic(env.topic))
  const leader = described.partitions[fault.target]?.leader ?? -1
  if (leader < 1)
    return { kind: 'broker', pid: undefined, dead: false, note: `partition ${fault.target} had no leader` }
  const from = Date.now()
  const pid = await env.killBroker(leader)
  const dead = await goneSoon(pid)
  await sleep(fault.downMs)
  await env.restartBroker(leader)
  const note = `node ${leader}, leader of partition ${fault.target}`
  return { kind: 'broker', pid, dead, note, from, to: Date.now() }
}
