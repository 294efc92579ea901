// CPU time of a process, for the "CPU per event / per request" column every rate carries
// (issue 15): user + system time so far, from /proc/<pid>/stat (clock ticks of 10 ms), or this
// process's own from process.cpuUsage() (µs).

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
