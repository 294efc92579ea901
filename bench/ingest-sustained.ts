// Sustained ingest in `strata start`: POST /events for many seconds (not one burst of < 1 s, as
// bench/ingest.ts's rounds are), so the roles' hold while ingest bursts (src/runtime/
// ingest-burst.ts: at most 2 s held, then 2 s free) runs through several of its cycles. Per
// contender (this checkout, and each --baseline build, alternating round by round, each on a
// topic and a `strata start` of its own):
//
//   rate         events / s over the whole run (first request to last 202)
//   folded       ms from the last 202 until the speed layer's lag is 0 on every view (GET /views)
//   archived     ms from the last 202 until the archiver's lag is 0 too (GET /health)
//   max lag      the largest speed-layer lag (records, all partitions) sampled during the run
//   health       the /health statuses and speed role states seen while sampling (every 250 ms)
//
//   node bench/ingest-sustained.ts [--events=3000000] [--rate=0] [--batch=1000]
//     [--concurrency=16] [--partitions=6] [--rounds=2] [--baseline=<checkout>]
//
// --rate=N paces the POSTs at N events a second (0: as fast as the client goes): e.g. --rate=60000
// is a careless client just above the burst rate, for long. The bodies are 300 distinct ones of
// --batch events, cycled (the same events again: the rate and the fold's work are what is
// measured, not the views' answers).
import './lib/help.ts'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { createAdmin } from '../src/log/kafka/index.ts'
import { cpuOf } from './lib/cpu.ts'
import { brokers, eventAt, sleep } from './lib/kafka-bench.ts'
import { arg, median } from './lib/stats.ts'
import { type StrataServer, startStrata } from './lib/strata-server.ts'

const events = arg('events', 3_000_000)
const rate = arg('rate', 0)
const batch = arg('batch', 1000)
const concurrency = arg('concurrency', 16)
const partitions = arg('partitions', 6)
const rounds = arg('rounds', 2)
const baselineDirs = (process.argv.find((a) => a.startsWith('--baseline='))?.slice(11) ?? '')
  .split(',')
  .filter((d) => d !== '')

const POOL = 300
const base = Date.now()
const pool = Array.from({ length: POOL }, (_, b) =>
  Buffer.from(
    `${Array.from({ length: batch }, (_, i) => eventAt(b * batch + i, POOL * batch, base).value).join('\n')}\n`,
  ),
)
const requests = Math.ceil(events / batch)

interface Sample {
  at: number
  /** Exact: the topic's end offsets now (admin) minus the speed layer's consumed offsets (GET /views). */
  speedLag: number
  /** Exact: records in the topic minus the archiver's records counter (GET /metrics). */
  archLag: number
  /** What /health says meanwhile: its status, the speed role's state, and the lag it reports. */
  status: string
  speed: string
  healthLag: number
}

const admin = createAdmin({ brokers })

async function sample(
  server: StrataServer & { topic: string; archived0: number },
  at: number,
): Promise<Sample> {
  const ends = await admin.listOffsets(server.topic)
  const end = ends.reduce((s, p) => s + p.latest, 0)
  const views = (await (await fetch(`${server.url}/views`)).json()) as {
    views: Array<{ speed: Array<number | null> }>
  }
  const health = (await (await fetch(`${server.url}/health`)).json()) as {
    status: string
    roles?: Array<{
      role: string
      state: string
      reason?: string
      held?: string
      partitions?: Array<{ lag?: number | null }>
    }>
  }
  const consumed = Math.min(...views.views.map((v) => v.speed.reduce<number>((s, o) => s + (o ?? 0), 0)))
  const speed = health.roles?.find((r) => r.role.startsWith('speed'))
  return {
    at,
    speedLag: end - consumed,
    archLag: end - ((await archived(server.url)) - server.archived0),
    status: health.status,
    speed: `${speed?.state ?? '?'}${speed?.held ? ' held' : ''}${speed?.reason ? ` (${speed.reason.slice(0, 60)})` : ''}`,
    healthLag: (speed?.partitions ?? []).reduce((s, p) => s + (p.lag ?? 0), 0),
  }
}

async function archived(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const line = text
    .split('\n')
    .find((l) => /^strata_role_progress_total\{[^}]*role="archiver"[^}]*what="records"/.test(l))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
}

interface Result {
  rate: number
  foldedMs: number
  archivedMs: number
  maxLag: number
  cpuUs: number
  seen: string[]
  lagAt: string
}

async function round(server: StrataServer & { topic: string; archived0: number }): Promise<Result> {
  const cpu0 = await cpuOf(server.child.pid)
  // The topic and the archiver's counter carry earlier rounds: lag is counted from here.
  const before = (await admin.listOffsets(server.topic)).reduce((s, p) => s + p.latest, 0)
  server.archived0 = (await archived(server.url)) - before
  const samples: Sample[] = []
  let next = 0
  let done = false
  const started = performance.now()
  const sampler = (async () => {
    while (!done) {
      samples.push(await sample(server, performance.now() - started))
      await sleep(250)
    }
  })()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        const i = next++
        if (rate > 0) {
          const due = (i * batch * 1000) / rate - (performance.now() - started)
          if (due > 0) await sleep(due)
        }
        const res = await fetch(`${server.url}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson' },
          body: pool[i % POOL]!,
        })
        if (res.status !== 202) throw new Error(`POST /events ${res.status}: ${await res.text()}`)
        await res.arrayBuffer()
      }
    }),
  )
  const ingestMs = performance.now() - started
  let foldedMs = Number.NaN
  let archivedMs = Number.NaN
  const deadline = Date.now() + 180_000
  while (Date.now() < deadline) {
    const s = await sample(server, performance.now() - started)
    samples.push(s)
    if (s.speedLag === 0 && Number.isNaN(foldedMs)) foldedMs = s.at - ingestMs
    if (s.speedLag === 0 && s.archLag === 0) {
      archivedMs = s.at - ingestMs
      break
    }
    await sleep(100)
  }
  done = true
  await sampler
  const seen = [...new Set(samples.map((s) => `${s.status}/${s.speed}`))]
  // The lag over time, every ~2 s: whether it rises without bound during the run.
  const lagAt = samples
    .filter((_, i) => i % 8 === 0)
    .map(
      (s) =>
        `${(s.at / 1000).toFixed(1)}s:${Math.round(s.speedLag / 1000)}k(health ${Math.round(s.healthLag / 1000)}k)`,
    )
    .join(' ')
  return {
    rate: (requests * batch) / (ingestMs / 1000),
    foldedMs,
    archivedMs,
    maxLag: Math.max(...samples.filter((s) => s.at <= ingestMs).map((s) => s.speedLag)),
    cpuUs: ((await cpuOf(server.child.pid)) - cpu0) / (requests * batch),
    seen,
    lagAt,
  }
}

const builds: Array<[name: string, bin?: string]> = [
  ['this', undefined],
  ...baselineDirs.map((d): [string, string] => [
    d.split('/').filter(Boolean).at(-1)!,
    join(d, 'bin/strata.js'),
  ]),
]
const results: Record<string, Result[]> = {}
const servers: Array<StrataServer & { topic: string; archived0: number }> = []
const topics: string[] = []
try {
  const started: Array<[string, StrataServer & { topic: string; archived0: number }]> = []
  for (const [name, bin] of builds) {
    const topic = `bench-${randomUUID()}`
    await admin.createTopic({ topic, partitions, replicationFactor: 1 })
    topics.push(topic)
    const server = {
      ...(await startStrata(topic, partitions, {
        extra: ['--batch-interval', '1h'],
        ...(bin ? { bin } : {}),
      })),
      topic,
      archived0: 0,
    }
    servers.push(server)
    started.push([name, server])
  }
  for (let r = 1; r <= rounds; r++) {
    const order = r % 2 === 1 ? started : [...started].reverse()
    for (const [name, server] of order) {
      const res = await round(server)
      results[name] = [...(results[name] ?? []), res]
      console.log(
        `round ${r} ${name}: ${Math.round(res.rate / 1000)}k/s over ${events} events, folded +${Math.round(res.foldedMs)} ms, archived +${Math.round(res.archivedMs)} ms, max speed lag ${res.maxLag}, CPU ${res.cpuUs.toFixed(2)} µs/event until caught up`,
      )
      console.log(`  lag: ${res.lagAt}`)
      console.log(`  seen: ${res.seen.join(' | ')}`)
    }
  }
} finally {
  for (const s of servers) await s.stop()
  for (const t of topics) await admin.deleteTopic(t).catch(() => undefined)
  await admin.close()
}
for (const [name, rs] of Object.entries(results))
  console.log(
    `${name}: rate median ${Math.round(median(rs.map((r) => r.rate)) / 1000)}k/s (${rs.map((r) => Math.round(r.rate / 1000)).join(', ')}), folded median +${Math.round(median(rs.map((r) => r.foldedMs)))} ms (${rs.map((r) => Math.round(r.foldedMs)).join(', ')}), ingest+fold ${rs.map((r) => ((requests * batch) / r.rate + r.foldedMs / 1000).toFixed(1)).join(', ')} s`,
  )
