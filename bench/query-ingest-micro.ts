// Queries while ingesting, in one process, without HTTP: a stand-in for bench/query.ts --ingest
// that runs the same work in the same order every time (BENCHMARKS.md, Query, session 14). An
// LMDB store with a batch version of KEYS keys x 25 hourly windows; then per tick (100 ms of the
// bench's time): a speed commit of 200 deltas to random keys (2,000 events/s), a compaction pass
// every 10 ticks, and 200 asks of random keys as the query fast path makes them (queryViewAt
// with keep: false, the body encoded and kept per key). Prints the CPU per ask and the GC pauses
// seen meanwhile (run with --expose-gc so the setup's garbage is collected first).
//   node --expose-gc bench/query-ingest-micro.ts <checkout> [keys=8000] [ticks=300]
// <checkout>: the root of the build to measure (this one, or a detached worktree of main: A/B).
import { createHash } from 'node:crypto'
import { PerformanceObserver } from 'node:perf_hooks'
import { queryIngestStore } from './lib/query-ingest-store.ts'

const root = process.argv[2] ?? new URL('..', import.meta.url).pathname
const keys = Number(process.argv[3] ?? 8000)
const ticks = Number(process.argv[4] ?? 300)
const { view, store, queryViewAt, randomKey, tick, close } = await queryIngestStore(root, keys, 's14q-h-')
;(globalThis as any).gc?.()
let gcMs = 0,
  gcMax = 0,
  gcBig = 0
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMs += e.duration
    gcMax = Math.max(gcMax, e.duration)
    if (e.duration >= 10) gcBig++
  }
}).observe({ entryTypes: ['gc'] })
const kept = new Map<string, string>()
// The windows and coverage of every answer, in order: equal across builds when they answer alike.
const digest = createHash('sha256')
let queryUs = 0,
  queries = 0,
  sink = 0
const t0 = performance.now()
for (let t = 0; t < ticks; t++) {
  await tick(t)
  const c = process.cpuUsage()
  for (let q = 0; q < 200; q++) {
    const key = randomKey()
    const { answer } = await queryViewAt(store, view, key, { keep: false })
    const body = JSON.stringify(answer)
    kept.set(key, body) // as the fast path keeps the body per URL
    sink += body.length
    digest.update(`${key} ${JSON.stringify(answer.windows)} ${answer.asOf}\n`)
  }
  const d = process.cpuUsage(c)
  queryUs += d.user + d.system
  queries += 200
}
console.log(
  JSON.stringify({
    root: root.split('/').pop(),
    cpuUsPerQuery: +(queryUs / queries).toFixed(1),
    gcMs: Math.round(gcMs),
    gcMax: +gcMax.toFixed(1),
    gcOver10: gcBig,
    heapMB: Math.round(process.memoryUsage().heapUsed / 1e6),
    wallS: +((performance.now() - t0) / 1000).toFixed(1),
    sink: sink > 0,
    answers: digest.digest('hex').slice(0, 16),
  }),
)
await close()
process.exit(0)
