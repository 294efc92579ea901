// CPU time of a process, for the "CPU per event / per request" column every rate carries
// (issue 15): user + system time so far, from /proc/<pid>/stat (clock ticks of 10 ms), or this
// process's own from process.cpuUsage() (µs).

import { readdirSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'

/** CPU time (user + system) of process `pid` so far, in µs; NaN when it cannot be read. */
export async function cpuOf(pid: number | undefined): Promise<number> {
  if (pid === undefined) return Number.NaN
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100
  } catch {
    return Number.NaN
  }
}

/** This process's CPU time so far, in µs. */
export function ownCpu(): number {
  const { user, system } = process.cpuUsage()
  return user + system
}

/** µs of CPU per unit (event, request) formatted for a table: "4.1 µs" or "180 µs". */
export function perUnit(cpuUs: number, units: number): string {
  const x = cpuUs / units
  return Number.isFinite(x) ? `${x >= 100 ? x.toFixed(0) : x.toFixed(1)} µs` : 'n/a'
}

/**
 * Each thread's CPU time so far (µs, 10 ms ticks), by kernel thread id with its name
 * (/proc/self/task/<tid>/stat: the name between the parentheses, utime and stime after it).
 * Threads that end between the listing and the read are left out.
 */
export function threadCpu(pid: number | 'self' = 'self'): Map<number, { name: string; us: number }> {
  const out = new Map<number, { name: string; us: number }>()
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return out
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ')
      out.set(Number(tid), { name, us: ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100 })
    } catch {}
  }
  return out
}

/**
 * The CPU each kind of thread spent between two threadCpu() readings, µs per unit, by thread
 * name (the main thread is the one whose id is the process id: "main"), largest first. A thread
 * that ended between the readings is missing (its CPU after `before` cannot be read), so the
 * split sums to less than the process's CPU when threads come and go; the catch-up's threads
 * live through its round (checked: the split summed to the round's CPU within the ticks).
 */
export function threadSplit(
  before: Map<number, { name: string; us: number }>,
  after: Map<number, { name: string; us: number }>,
  units: number,
  mainPid: number = process.pid,
): string {
  const byName = new Map<string, number>()
  for (const [tid, { name, us }] of after) {
    const label = tid === mainPid ? 'main' : name
    byName.set(label, (byName.get(label) ?? 0) + us - (before.get(tid)?.us ?? 0))
  }
  return [...byName]
    .filter(([, us]) => us > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => `${name} ${(us / units).toFixed(2)}`)
    .join(', ')
}
