// Freshness right after a catch-up (review r18-keys): the speed worker catches up a topic of
// distinct keys (every event a url of its own; the compactor's log is left near its 2 M
// threshold), then live traffic at 2,000 events/s with a probe every 100 ms polled in the store
// (store.snapshot, as GET /views does) until visible; per 10 s, probe p50/p99/max and the longest
// event-loop stall (a 5 ms timer's largest gap). One run per invocation, one pass size:
//   node bench/freshness-drain.ts --preload=3000000            (prints the topic's flags, keep them)
//   node bench/freshness-drain.ts --topic=T --end=a,b,… --pass-deltas=N [--drain-pass-ms=M] [--seconds=80]
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { open } from 'lmdb'
import { loadConfig } from '../src/core/config-loader.ts'
import { createAdmin, createProducer } from '../src/log/kafka/index.ts'
import { createSpeedWorker } from '../src/speed/index.ts'
import { openLmdbStore } from '../src/store/lmdb-store.ts'
import { brokers, preloadTopic, sleep, writeViewConfig } from './lib/kafka-bench.ts'
import { list } from './lib/result.ts'
import { arg } from './lib/stats.ts'

const partitions = 6
const admin = createAdmin({ brokers })
const preload = arg('preload', 0)
if (preload > 0) {
  const { topic, end } = await preloadTopic(admin, preload, partitions, preload)
  console.log(`--topic=${topic} --end=${end.join(',')}`)
  await admin.close()
  process.exit(0)
}
const topic = process.argv.find((a) => a.startsWith('--topic='))!.slice(8)
const end = list('end', [])
const passDeltas = arg('pass-deltas', 0) || undefined
const seconds = arg('seconds', 40)
const rate = 2000
const dir = await mkdtemp(join(tmpdir(), 'strata-bench-drain-'))
const config = await loadConfig(await writeViewConfig(dir, topic, partitions))
const drainPassMs = arg('drain-pass-ms', 0) || undefined
const store = await openLmdbStore(join(dir, 'store'), { compactor: { passDeltas, drainPassMs } })
const worker = createSpeedWorker({ store, config, brokers, groupId: `drain-${randomUUID()}` })
// The speed log's rows (keys only: a cursor over ['rl'], no value decoded), read beside the store.
const peek = open<unknown, Array<string | number>>({ path: join(dir, 'store'), readOnly: true })
const logRows = () => {
  let n = 0
  for (const _ of peek.getKeys({ start: ['rl'], end: ['rl', '\uffff'] })) n++
  return n
}
const t0 = performance.now()
await worker.start()
for (;;) {
  const s = worker.stats().partitions
  if (s.length === partitions && s.every((p) => p.consumed >= end[p.partition]!)) break
  await sleep(50)
}
console.error(
  `caught up ${end.reduce((a, b) => a + b, 0)} events in ${((performance.now() - t0) / 1000).toFixed(1)} s, log rows ${logRows()}`,
)
const producer = createProducer({ brokers, clientId: 'drain' })
const ev = (url: string) => JSON.stringify({ type: 'page_view', url, user: 'u1', ts: Date.now() })
let running = true
const bg = (async () => {
  let next = performance.now()
  while (running) {
    const records = Array.from({ length: rate / 100 }, () => {
      const url = `/live/${Math.floor(Math.random() * 10_000)}`
      return { key: url, value: ev(url) }
    })
    producer.send(topic, records).catch(() => {})
    next += 10
    await sleep(Math.max(0, next - performance.now()))
  }
})()
const start = performance.now()
const probes: Array<{ at: number; ms: number }> = []
const gaps: number[] = []
/** Log rows at the start of each 10 s. */
const rows: number[] = []
let last = performance.now()
const tick = setInterval(() => {
  const now = performance.now()
  const b = Math.floor((now - start) / 10_000)
  gaps[b] = Math.max(gaps[b] ?? 0, now - last)
  if (rows[b] === undefined) rows[b] = logRows()
  last = now
}, 5)
while (performance.now() - start < seconds * 1000) {
  const began = performance.now()
  const url = `/probe/${randomUUID()}`
  const sentAt = performance.now()
  await producer.send(topic, [{ key: url, value: ev(url) }])
  for (;;) {
    const snap = await store.snapshot('pageviews_by_url', url)
    if (snap.realtime.length > 0) break
    if (performance.now() - sentAt > 20_000) throw new Error('probe not visible')
    await sleep(2)
  }
  probes.push({ at: (sentAt - start) / 1000, ms: performance.now() - sentAt })
  await sleep(Math.max(0, 100 - (performance.now() - began)))
}
running = false
clearInterval(tick)
await bg
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN
}
const line = (name: string, l: number[]) =>
  `${name}: n ${l.length} p50 ${pct(l, 50).toFixed(0)} p99 ${pct(l, 99).toFixed(0)} max ${Math.max(...l).toFixed(0)} >50ms ${l.filter((x) => x > 50).length}`
for (let b = 0; b < seconds; b += 10)
  console.log(
    `${line(
      `  ${b}-${b + 10}s`,
      probes.filter((p) => p.at >= b && p.at < b + 10).map((p) => p.ms),
    )} loop-stall max ${(gaps[b / 10] ?? 0).toFixed(0)} log rows ${rows[b / 10] ?? '-'}`,
  )
console.log(
  line(
    `passDeltas ${passDeltas ?? 'default'} ALL`,
    probes.map((p) => p.ms),
  ),
)
await producer.close()
await worker.close()
await store.close()
await peek.close()
await admin.close()
await rm(dir, { recursive: true, force: true })
process.exit(0)
