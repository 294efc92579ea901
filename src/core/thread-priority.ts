// The background work of `strata start` that nobody waits for (the archiver's thread, the batch
// layer's threads) runs at a lower CPU priority than the main thread, which answers HTTP: on a
// machine with fewer cores than busy threads, POST /events and GET /views are served first and
// that work catches up on what is left — never starved (a nice value weighs, it does not
// exclude), its lag reported as always. Not the speed layer's threads: a nice value weighs a
// thread against every thread of the machine, and what the speed layer folds is what a fresh query
// waits for (decision 0013, "Priorities" and its session-10 addendum). Linux gives each thread its own nice value (and a thread
// inherits its creator's); elsewhere the call does nothing.
import { readdirSync, readlinkSync } from 'node:fs'
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

/**
 * Lowers every thread of this process to `nice` (never raises one), for a child process of
 * background work (the segment scrub's hasher): the main thread first, so that the threads it
 * starts later (libuv's file-system pool) inherit the value, then those Node started before.
 */
export function lowerProcessPriority(nice: number): boolean {
  if (!lowerThreadPriority(nice)) return false
  try {
    for (const tid of readdirSync('/proc/self/task').map(Number)) {
      try {
        if (getPriority(tid) < nice) setPriority(tid, nice)
      } catch {} // the thread ended meanwhile
    }
  } catch {}
  return true
}
