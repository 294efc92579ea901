// The background roles of `strata start` (the speed layer, the archiver and the threads they
// start) run at a lower CPU priority than the main thread, which answers HTTP: on a machine with
// fewer cores than busy threads, POST /events and GET /views are served first and the roles
// catch up on what is left — they are never starved (a nice value weighs, it does not exclude),
// and their lag is reported as always. Linux gives each thread its own nice value (and a thread
// inherits its creator's); elsewhere the call does nothing.
import { readlinkSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'

/** The nice value background role threads take in a process that also serves HTTP. */
export const BACKGROUND_NICE = 10

/** Lowers the calling thread's priority to `nice` (never raises it). False where it cannot. */
export function lowerThreadPriority(nice: number): boolean {
  if (process.platform !== 'linux') return false
  try {
    // "/proc/thread-self" links to "<pid>/task/<tid>": the kernel id of this very thread.
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
    if (!Number.isInteger(tid)) return false
    if (getPriority(tid) < nice) setPriority(tid, nice)
    return true
  } catch {
    return false
  }
}
