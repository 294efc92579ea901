// Queries while ingesting, in one process, per ask (BENCHMARKS.md, "session 16: queries while
// ingesting"): the same store, commits, passes and asks as bench/query-ingest-micro.ts, with each
// ask's wall time and every GC pause (perf_hooks 'gc' entries: start, duration, kind) recorded, so
// that a slow ask can be set beside the GC pauses it overlapped and the first ask after a commit
// beside the others. KEEP=string keeps each body as a string, as the query fast path does;
// KEEP=buffer as its UTF-8 bytes in a buffer of its own (tried in session 16, not kept). Writes
// the slow asks (> 2 ms) and the GC pauses to $DUMP (default: none).
//   node --expose-gc bench/query-ingest-stalls.ts <checkout> [keys=8000] [ticks=200]
import { writeFileSync } from 'node:fs'
import { PerformanceObserver } from 'node:perf_hooks'
import { queryIngestStore } from './lib/query-ingest-store.ts'

const root = process.argv[2]
const keys = Number(process.argv[3] ?? 8000)
const ticks = Number(process.argv[4] ?? 200)
const { view, store, queryViewAt, randomKey, tick, close } = await queryIngestStore(root, keys, 's16qi-')
;(globalThis as any).gc?.()
const gcs: Array<[number, number, number]> = []
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push([e.startTime, e.duration, (e as any).detail?.kind])
}).observe({ entryTypes: ['gc'] })
const kept = new Map<string, unknown>()
const asBuffer = process.env.KEEP === 'buffer'
const toBuf = (body: string) => {
  const b = Buffer.allocUnsafeSlow(Buffer.byteLength(body))
  b.write(body, 0, 'utf8')
  return b
}
const asks: Array<{ t: number; d: number; first: boolean; pass: boolean; q: number; tick: number }> = []
for (let t = 0; t < ticks; t++) {
  const pass = await tick(t)
  for (let q = 0; q < 200; q++) {
    const key = randomKey()
    const s = performance.now()
    const { answer } = await queryViewAt(store, view, key, { keep: false })
    const body = JSON.stringify(answer)
    kept.set(key, asBuffer ? toBuf(body) : body)
    asks.push({ t: s, d: performance.now() - s, first: q === 0, pass, q, tick: t })
  }
}
await new Promise((r) => setTimeout(r, 50))
const pct = (a: number[], p: number) => {
  if (a.length === 0) return -1
  const s = [...a].sort((x, y) => x - y)
  return +s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(3)
}
const all = asks.map((a) => a.d)
const firsts = asks.filter((a) => a.first)
const slow = asks.filter((a) => a.d > 2)
const withGc = slow.filter((a) => gcs.some(([gs, gd]) => gs < a.t + a.d && gs + gd > a.t))
const gcIn = (a: any) =>
  gcs.filter(([gs, gd]) => gs < a.t + a.d && gs + gd > a.t).reduce((s, [, gd]) => s + gd, 0)
console.log(
  JSON.stringify({
    root: root.split('/').pop(),
    keep: asBuffer ? 'buffer' : 'string',
    asks: asks.length,
    p50: pct(all, 0.5),
    p99: pct(all, 0.99),
    p999: pct(all, 0.999),
    max: pct(all, 1),
    firstP50: pct(
      firsts.map((a) => a.d),
      0.5,
    ),
    firstPassP50: pct(
      firsts.filter((a) => a.pass).map((a) => a.d),
      0.5,
    ),
    firstMax: pct(
      firsts.map((a) => a.d),
      1,
    ),
    slowOver2: slow.length,
    slowWithGc: withGc.length,
    slowFirst: slow.filter((a) => a.first).length,
    slowMsTotal: +slow.reduce((s, a) => s + a.d, 0).toFixed(0),
    slowGcMs: +slow.reduce((s, a) => s + gcIn(a), 0).toFixed(0),
    gcCount: gcs.length,
    gcMs: +gcs.reduce((s, [, d]) => s + d, 0).toFixed(0),
    gcP90: pct(
      gcs.map((g) => g[1]),
      0.9,
    ),
    gcMax: pct(
      gcs.map((g) => g[1]),
      1,
    ),
    heapMB: Math.round(process.memoryUsage().heapUsed / 1e6),
    scav: gcs.filter((g: any) => g[2] === 1).length,
    scavMs: Math.round(gcs.filter((g: any) => g[2] === 1).reduce((s: number, g: any) => s + g[1], 0)),
    majorMs: Math.round(gcs.filter((g: any) => g[2] !== 1).reduce((s: number, g: any) => s + g[1], 0)),
    cpuS: +((process.cpuUsage().user + process.cpuUsage().system) / 1e6).toFixed(1),
  }),
)
if (process.env.DUMP)
  writeFileSync(process.env.DUMP, JSON.stringify({ slow: asks.filter((a) => a.d > 2), gcs }))
await close()
process.exit(0)
