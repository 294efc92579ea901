// A diagnostic trace of where a fresh event's time goes (BENCHMARKS.md, Freshness, session 19),
// off unless the environment names a file: STRATA_FRESH_TRACE=<file>. Then every thread that
// loads this module appends JSON lines to it: the stages the speed layer calls trace() at (a
// batch taken, its fold started, a commit sent, its deltas back, its LMDB transaction, its
// landing), one line naming the thread, and each GC pause of 1 ms or more. One clock for every
// process and thread on the machine (performance.timeOrigin + performance.now(), ms), so the
// bench's probes line up with them; bench/freshness-trace.ts reads the file.
//
// Off, a call site costs one test of a constant (`if (tracing) trace(…)`): nothing is built.
// On, each line is one synchronous append (small writes of one call each, so lines of several
// threads do not interleave): a diagnostic, never for production.
import { openSync, writeSync } from 'node:fs'
import { PerformanceObserver } from 'node:perf_hooks'
import { threadId, workerData } from 'node:worker_threads'

const file = process.env.STRATA_FRESH_TRACE
const fd = file ? openSync(file, 'a') : -1

/** Whether STRATA_FRESH_TRACE is set (test it before building a line). */
export const tracing = fd >= 0

/** Appends the line, stamped with the shared clock (`t`) and this thread (`th`). */
export function trace(line: Record<string, unknown>): void {
  if (fd < 0) return
  line.t = performance.timeOrigin + performance.now()
  line.th = threadId
  writeSync(fd, `${JSON.stringify(line)}\n`)
}

if (tracing) {
  const data = workerData as { role?: unknown } | null | undefined
  trace({ e: 'thread', role: typeof data?.role === 'string' ? data.role : threadId === 0 ? 'main' : null })
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.duration < 1) continue
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind
      writeSync(
        fd,
        `${JSON.stringify({ e: 'gc', th: threadId, kind, ms: entry.duration, t: performance.timeOrigin + entry.startTime })}\n`,
      )
    }
  }).observe({ entryTypes: ['gc'] })
}
