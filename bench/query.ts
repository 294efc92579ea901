// Query latency under load at a fixed request rate: GET /views/pageviews_by_url/:key over many
// keys, beside the peer a user would build instead — a small Node HTTP service answering from
// Redis (bench/lib/redis-http.ts) — and, under it, a bare Redis GET of the same answers and Node's
// bare HTTP server answering them from memory (the floor), at the same rate, in one run,
// alternating, several rounds.
//
// Both servers get the same open-loop load generator (bench/lib/paced.ts): requests due at a
// fixed rate over C keep-alive connections, a key drawn at random for each from every url the
// view has counts for, each latency measured from the time the request was due (coordinated-
// omission-correct, as wrk2 does). Strata is asked in two deployment shapes at once, on one store:
// - `strata start`: every role in one process (speed layer, archiver, batch scheduler, HTTP);
// - `strata worker serve` on the same data folder: the HTTP API in a process of its own, the
//   store written by the `strata start` process beside it.
// autocannon (npm) asks the serve process at the same rate as a cross-check: its pacing is a
// budget of requests per connection per second (sent as fast as answers come, then a pause
// until the next second) and its histogram has 1 ms resolution, so its p50 reads 0–1 ms.
//
// Redis holds, under one key per url, the exact JSON body Strata answered for it; so does the
// floor (--floor), Node's own HTTP server answering from memory (bench/lib/static-http.ts): what
// HTTP on Node costs here before any of Strata's work. The targets (docs/architecture.md): p99
// ≤ 1.5× the HTTP-in-front-of-Redis peer's at the same rate; server CPU per request ≤ 2× the
// floor's. The peer's CPU per request is its Node process's plus Redis's.
//
//   npm run bench:query -- [--events=200000] [--urls=10000] [--rates=2000,5000] [--seconds=5]
//     [--rounds=3] [--connections=16] [--modes=start,serve] [--autocannon=1] [--floor=1]
//     [--ingest=0] [--profile=<dir>] [--profile-start=<dir>] [--baseline=<checkout>]
//     [--baseline-start=0] [--loop=1] [--warm-every=1] [--slices=4] [--settle=250]
//     [--scraped=0] [--prime=250] [--warm-rounds=1] [--threads=0]
//   STRATA_BENCH_PORTS=FIRST-LAST keeps every server's port in that range (default: any free port).
//
// --urls and --rates take lists: `--urls=1000,10000,100000 --rates=2000 --modes=serve` is the
// growth table over keys. --profile writes a CPU profile of the serve process (--cpu-prof).
// --baseline=<checkout> adds a serve process of another build (e.g. `git archive` of a commit,
// with node_modules linked) on the same store: before/after in one run; with --baseline-start=1
// also the baseline build's `strata start`, on a data folder of its own (the same topic, caught
// up the same way), so both builds' `strata start` are asked alternately in one run.
// --profile-start writes a CPU profile of the `strata start` process.
// Before anything is asked, the benchmark waits for each `strata start`'s first batch version to
// be served (--batch-first=1, the default): `strata start` runs the batch layer 15 s after it
// starts whatever --batch-interval says, and its flip renews every kept answer (decision 0016), so
// a flip during the rounds measured the first asks after it rather than the steady state (each
// round's line says when the served batch version moved during it). --batch-first=0: as before.
// --warm-every=1 (default) asks every key once of each Strata process before the warm-up (a
// random warm-up leaves keys unasked: their first asks fell in the first measured round).
// --slices=4 (default): each round gives every contender its --seconds as 4 slices, interleaved
// (slice 1 of each, then slice 2 of each, the order rotated a place each slice), and pools a
// round's latencies over its slices; so a stall of the 2-core machine falls on every contender
// alike. With --slices=1 each contender's round is one run, the order reversed every other round
// (before session 18: a round's p99 was whoever ran when the machine stalled).
// --settle=250 (default): every contender waits 250 ms between the reads before its slice (the
// /metrics of --loop, the served batch version) and its slice, so a scrape's after-effects in a
// Strata process are not charged to its queries (a scrape is not the workload measured here).
// --prime=250 (default): right before each slice (after the settle), an unmeasured burst of
// that many ms at the slice's rate, for every contender alike, its CPU not counted: a slice
// starts from a server that is serving, not one that idled through the other contenders' slices.
// --warm-rounds=1 (default): one whole round first, not recorded, so what the first asks of every
// key leave for the first major GC is collected there and not in round 1. Session 19 (BENCHMARKS.md,
// Query): without them the floor read 2.7–8.4 ms at 2,000 req/s, above the peer in 4 of 6 rounds;
// with the burst 1.4–4.7 ms, under it in 13 of 18 rounds. --prime=0 --warm-rounds=0: as before.
// --threads=1: each Strata process's CPU per request split by thread (main, V8's helpers, roles).
// --loop=1 (default) reads each Strata process's /metrics before its first slice of a round and
// after its last (so with slices the reading spans the whole round, the other contenders' slices
// too, and includes the closing scrape's own work on the loop): the main
// event loop's delay (prom-client's monitorEventLoopDelay, 10 ms resolution: the largest stall
// and the p99 of the round) and the main thread's GC pauses (count ≥ 10 ms, their sum), printed
// per round and as a table.
import './lib/help.ts' // --help: the comment above, then exit
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { createAdmin, createProducer } from '../src/log/kafka/index.ts'
import { cpuOf, threadCpu } from './lib/cpu.ts'
import { brokers, preloadTopic, sleep } from './lib/kafka-bench.ts'
import { type PacedResult, pacedLoad, pooled, resp, roundPlan, sliceOrder } from './lib/paced.ts'
import { list, ms, printResult, type ResultRow, words } from './lib/result.ts'
import { runText } from './lib/run-text.ts'
import { arg, median, spread, table } from './lib/stats.ts'
import { freePort, type StrataServer, startStrata, waitCaughtUp } from './lib/strata-server.ts'

const events = arg('events', 200_000)
const urlCounts = list('urls', [10_000])
const rates = list('rates', [2000, 5000])
const seconds = arg('seconds', 5)
const rounds = arg('rounds', 3)
const connections = arg('connections', 16)
const modes = words('modes', ['start', 'serve'])
const withAutocannon = arg('autocannon', 1) === 1
const profileDir = process.argv.find((a) => a.startsWith('--profile='))?.slice(10)
const baselineDir = process.argv.find((a) => a.startsWith('--baseline='))?.slice(11)
const withFloor = arg('floor', 1) === 1
const profileStartDir = process.argv.find((a) => a.startsWith('--profile-start='))?.slice(16)
const withBaselineStart = arg('baseline-start', 0) === 1 && baselineDir !== undefined
const withLoop = arg('loop', 1) === 1
const batchFirst = arg('batch-first', 1) === 1
const warmEvery = arg('warm-every', 1) === 1
const slices = Math.max(1, arg('slices', 4))
const settleMs = arg('settle', 250)
const scrapedMs = arg('scraped', 0)
const primeMs = arg('prime', 250)
const withThreads = arg('threads', 0) === 1
const warmRounds = arg('warm-rounds', 1)

/** The served batch version of every view of a Strata process (GET /views), '-' before the first. */
async function batchVersions(url: string): Promise<string> {
  const body = (await (await fetch(`${url}/views`)).json()) as {
    views: Array<{ batch: { version: number } | null }>
  }
  return body.views.map((v) => v.batch?.version ?? '-').join(',')
}

/** Waits until every view of the process serves a batch version (the first batch run has flipped). */
async function waitFirstBatch(url: string, timeoutMs = 120_000): Promise<number> {
  const started = performance.now()
  while (performance.now() - started < timeoutMs) {
    if (!(await batchVersions(url)).split(',').includes('-')) return (performance.now() - started) / 1000
    await sleep(250)
  }
  throw new Error(`${url}: no batch version served after ${timeoutMs / 1000} s`)
}

/** The main event loop and GC of a Strata process over one round, from its /metrics. */
interface LoopStats {
  /** Largest event-loop delay, ms. */
  maxMs: number
  p99Ms: number
  /** GC pauses of 10 ms or more, and the total of all pauses, ms. */
  gcOver10: number
  gcMs: number
  /** Of gcMs, the major (mark-compact) pauses; the V8 heap in use at the round's end, MB. */
  majorGcMs: number
  heapMB: number
}

/** The process's /metrics: prom-client resets the loop-delay histogram at each read. */
async function readLoop(url: string): Promise<{ text: string }> {
  return { text: await (await fetch(`${url}/metrics`)).text() }
}

function gcTotals(text: string): { over10: number; sum: number; major: number } {
  let le10 = 0
  let count = 0
  let sum = 0
  let major = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith('nodejs_gc_duration_seconds')) continue
    const value = Number(line.slice(line.lastIndexOf(' ') + 1))
    if (line.startsWith('nodejs_gc_duration_seconds_bucket') && line.includes('le="0.01"')) le10 += value
    else if (line.startsWith('nodejs_gc_duration_seconds_count')) count += value
    else if (line.startsWith('nodejs_gc_duration_seconds_sum')) {
      sum += value
      if (line.includes('kind="major"')) major += value
    }
  }
  return { over10: count - le10, sum: sum * 1000, major: major * 1000 }
}

function loopOf(before: string, after: string): LoopStats {
  const gauge = (name: string) =>
    Number(new RegExp(`^${name} (\\S+)`, 'm').exec(after)?.[1] ?? Number.NaN) * 1000
  const g0 = gcTotals(before)
  const g1 = gcTotals(after)
  return {
    maxMs: gauge('nodejs_eventloop_lag_max_seconds'),
    p99Ms: gauge('nodejs_eventloop_lag_p99_seconds'),
    gcOver10: g1.over10 - g0.over10,
    gcMs: g1.sum - g0.sum,
    majorGcMs: g1.major - g0.major,
    heapMB: gauge('nodejs_heap_size_used_bytes') / 1000 / 1_000_000,
  }
}
const ingestRate = arg('ingest', 0)

/**
 * Page views of the queried urls at `rate` events/s (a batch every 10 ms) until stopped, so the
 * speed layer folds and commits while the queries run, as in a live deployment.
 */
function backgroundIngest(topic: string, urls: number, rate: number): () => Promise<void> {
  const producer = createProducer({ brokers, clientId: 'bench-query-ingest' })
  let running = true
  const perTick = Math.max(1, Math.round(rate / 100))
  const loop = (async () => {
    let next = performance.now()
    while (running) {
      const records = Array.from({ length: perTick }, () => {
        const url = `/p/${Math.floor(Math.random() * urls)}`
        const user = `u${Math.floor(Math.random() * 100_000)}`
        return { key: user, value: JSON.stringify({ type: 'page_view', url, user, ts: Date.now() }) }
      })
      producer.send(topic, records).catch(() => {})
      next += 10
      await sleep(Math.max(0, next - performance.now()))
    }
  })()
  return async () => {
    running = false
    await loop
    await producer.close()
  }
}
const floors: Array<{ child: ChildProcess; port: number }> = []

/** A helper server of the benchmark's (bench/lib/*.ts) in a process of its own; it prints its port. */
async function startHelper(script: string, args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'lib', script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, STRATA_BENCH_LISTEN: String(await freePort()) },
  })
  const [line] = (await once(child.stdout!, 'data')) as [Buffer]
  return { child, port: Number(line.toString().trim()) }
}
const partitions = 6

/** --threads=1: each thread's CPU over a slice, summed by thread name (its id left out). */
function addThreads(
  into: Map<string, number>,
  before: Map<number, { name: string; us: number }>,
  after: Map<number, { name: string; us: number }>,
): void {
  for (const [tid, t] of after) into.set(t.name, (into.get(t.name) ?? 0) + t.us - (before.get(tid)?.us ?? 0))
}
const REDIS_PORT = 6379
const PEER = 'Node http in front of Redis (the peer)'
const FLOOR = 'Node http, the same answers from memory (floor)'

type Contender = (rate: number, secs: number) => Promise<PacedResult>
type Sample = PacedResult & { cpuUs: number; loop?: LoopStats; flipped?: string }

/** Strata's answer for every url, in parallel; the urls whose answer has at least one window. */
async function answers(url: string, n: number): Promise<{ keys: number[]; bodies: string[] }> {
  const bodies: string[] = new Array(n)
  let next = 0
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) {
        const i = next++
        const res = await fetch(`${url}/views/pageviews_by_url/${encodeURIComponent(`/p/${i}`)}`)
        if (!res.ok) throw new Error(`GET /p/${i}: ${res.status}`)
        bodies[i] = await res.text()
      }
    }),
  )
  const keys = [...bodies.keys()].filter((i) => !bodies[i]!.includes('"windows":[]'))
  return { keys, bodies }
}

function httpRequests(keys: number[]): Buffer[] {
  return keys.map((i) =>
    Buffer.from(`GET /views/pageviews_by_url/%2Fp%2F${i} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`),
  )
}

function portOf(server: StrataServer): number {
  return Number(new URL(server.url).port)
}

const admin = createAdmin({ brokers })
const allRows: ResultRow[] = []
const tables: string[] = []
for (const urls of urlCounts) {
  console.error(`preloading ${events} events over ${urls} urls…`)
  const { topic } = await preloadTopic(admin, events, partitions, urls)
  const servers: StrataServer[] = []
  const stops: Array<() => Promise<void>> = []
  let bodiesFile: string | undefined
  const prefix = `bench:${randomUUID()}:`
  let keys: number[] = []
  try {
    const start = await startStrata(topic, partitions, {
      extra: ['--batch-interval', '1h'],
      nodeArgs: profileStartDir ? ['--cpu-prof', `--cpu-prof-dir=${profileStartDir}`] : [],
    })
    servers.push(start)
    await waitCaughtUp(start.url)
    const baseStart = withBaselineStart
      ? await startStrata(topic, partitions, {
          extra: ['--batch-interval', '1h'],
          bin: join(baselineDir!, 'bin/strata.js'),
        })
      : undefined
    if (baseStart) {
      servers.push(baseStart)
      await waitCaughtUp(baseStart.url)
    }
    if (batchFirst)
      for (const server of [start, baseStart]) {
        if (server === undefined) continue
        const waited = await waitFirstBatch(server.url)
        console.error(`${server.url}: first batch version served ${waited.toFixed(1)} s after catching up`)
      }
    const serve = modes.includes('serve')
      ? await startStrata(topic, partitions, {
          command: ['worker', 'serve'],
          shareDir: start.dir,
          nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
        })
      : undefined
    if (serve) servers.push(serve)
    const baseline =
      baselineDir && modes.includes('serve')
        ? await startStrata(topic, partitions, {
            command: ['worker', 'serve'],
            shareDir: start.dir,
            bin: join(baselineDir, 'bin/strata.js'),
          })
        : undefined
    if (baseline) servers.push(baseline)
    const answered = await answers(start.url, urls)
    keys = answered.keys
    let sets = ''
    let bytes = 0
    for (const i of keys) {
      bytes += answered.bodies[i]!.length
      sets += resp('SET', `${prefix}/p/${i}`, answered.bodies[i]!)
    }
    await runText(
      'redis-cli',
      ['-h', '127.0.0.1', '-p', String(REDIS_PORT), '--pipe'],
      120_000,
      Buffer.from(sets),
    )
    console.error(
      `${keys.length} of ${urls} urls have counts; answers of ${Math.round(bytes / keys.length)} B on average`,
    )

    bodiesFile = join(tmpdir(), `strata-bench-bodies-${randomUUID()}.json`)
    await writeFile(bodiesFile, JSON.stringify(answered.bodies))
    const floor = withFloor ? await startHelper('static-http.ts', [bodiesFile]) : undefined
    if (floor) floors.push(floor)
    const redisHttp = await startHelper('redis-http.ts', [String(REDIS_PORT), prefix])
    floors.push(redisHttp)

    const http = httpRequests(keys)
    const redis = keys.map((i) => Buffer.from(resp('GET', `${prefix}/p/${i}`)))
    const pick = () => Math.floor(Math.random() * keys.length)
    const contenders: Record<string, Contender> = {}
    // Whose CPU time each contender's server spends per answer (the server's own process).
    const redisPid = Number(
      /process_id:(\d+)/.exec(await runText('redis-cli', ['INFO', 'server'], 10_000))?.[1],
    )
    const pids: Record<string, Array<number | undefined>> = {
      'Strata `strata start` (every role)': [start.child.pid],
      'Strata `strata start`, baseline build': [baseStart?.child.pid],
      'Strata `strata worker serve` (same store)': [serve?.child.pid],
      'Strata `worker serve`, baseline build': [baseline?.child.pid],
      [PEER]: [redisHttp.child.pid, redisPid || undefined],
      'Redis GET': [redisPid || undefined],
      [FLOOR]: [floor?.child.pid],
      'Strata `worker serve`, autocannon (cross-check)': [serve?.child.pid],
    }
    const cpuOfAll = async (name: string) =>
      (await Promise.all(pids[name]!.map((pid) => cpuOf(pid)))).reduce((a, b) => a + b, 0)
    if (modes.includes('start'))
      contenders['Strata `strata start` (every role)'] = (rate, secs) =>
        pacedLoad({
          host: '127.0.0.1',
          port: portOf(start),
          protocol: 'http',
          rate,
          seconds: secs,
          connections,
          request: () => http[pick()]!,
        })
    if (baseStart)
      contenders['Strata `strata start`, baseline build'] = (rate, secs) =>
        pacedLoad({
          host: '127.0.0.1',
          port: portOf(baseStart),
          protocol: 'http',
          rate,
          seconds: secs,
          connections,
          request: () => http[pick()]!,
        })
    const urlOf: Record<string, string | undefined> = {
      'Strata `strata start` (every role)': start.url,
      'Strata `strata start`, baseline build': baseStart?.url,
      'Strata `strata worker serve` (same store)': serve?.url,
      'Strata `worker serve`, baseline build': baseline?.url,
    }
    if (serve)
      contenders['Strata `strata worker serve` (same store)'] = (rate, secs) =>
        pacedLoad({
          host: '127.0.0.1',
          port: portOf(serve),
          protocol: 'http',
          rate,
          seconds: secs,
          connections,
          request: () => http[pick()]!,
        })
    if (baseline)
      contenders['Strata `worker serve`, baseline build'] = (rate, secs) =>
        pacedLoad({
          host: '127.0.0.1',
          port: portOf(baseline),
          protocol: 'http',
          rate,
          seconds: secs,
          connections,
          request: () => http[pick()]!,
        })
    // --scraped=MS: each Strata process once more, its /metrics read every MS ms during the slice
    // (a Prometheus scrape, faster than any), to tell what a scrape costs its queries, paired
    // slice by slice with the unscraped contender.
    if (scrapedMs > 0)
      for (const [name, server] of [
        ['Strata `strata start`, scraped', modes.includes('start') ? start : undefined],
        ['Strata `worker serve`, scraped', serve],
      ] as const) {
        if (server === undefined) continue
        pids[name] = [server.child.pid]
        contenders[name] = async (rate, secs) => {
          let running = true
          const scraping = (async () => {
            while (running) {
              await sleep(scrapedMs)
              if (running) await (await fetch(`${server.url}/metrics`)).text()
            }
          })()
          try {
            return await pacedLoad({
              host: '127.0.0.1',
              port: portOf(server),
              protocol: 'http',
              rate,
              seconds: secs,
              connections,
              request: () => http[pick()]!,
            })
          } finally {
            running = false
            await scraping
          }
        }
      }
    contenders[PEER] = (rate, secs) =>
      pacedLoad({
        host: '127.0.0.1',
        port: redisHttp.port,
        protocol: 'http',
        rate,
        seconds: secs,
        connections,
        request: () => http[pick()]!,
      })
    if (floor)
      contenders[FLOOR] = (rate, secs) =>
        pacedLoad({
          host: '127.0.0.1',
          port: floor.port,
          protocol: 'http',
          rate,
          seconds: secs,
          connections,
          request: () => http[pick()]!,
        })
    contenders['Redis GET'] = (rate, secs) =>
      pacedLoad({
        host: '127.0.0.1',
        port: REDIS_PORT,
        protocol: 'resp',
        rate,
        seconds: secs,
        connections,
        request: () => redis[pick()]!,
      })
    if (serve && withAutocannon)
      contenders['Strata `worker serve`, autocannon (cross-check)'] = async (rate, secs) => {
        const r = await autocannon({
          url: serve.url,
          connections,
          overallRate: rate,
          duration: secs,
          requests: [
            {
              setupRequest: (req) => ({ ...req, path: `/views/pageviews_by_url/%2Fp%2F${keys[pick()]}` }),
            },
          ],
        })
        if (r.non2xx > 0 || r.errors > 0)
          throw new Error(`autocannon: ${r.non2xx} non-2xx, ${r.errors} errors`)
        const l = r.latency
        return {
          rate: r.requests.total / secs,
          sent: r.requests.sent,
          answered: r.requests.total,
          errors: r.errors,
          p50: l.p50,
          p90: l.p90,
          p99: l.p99,
          p999: l.p99_9,
          max: l.max,
          sentP50: l.p50,
          sentP99: l.p99,
        }
      }

    const stopIngest = ingestRate > 0 ? backgroundIngest(topic, urls, ingestRate) : undefined
    if (stopIngest) stops.push(stopIngest)
    // Warm-up, not measured: JIT, connections, LMDB pages of every key. Every key is first asked
    // once of each Strata process (--warm-every=1, the default): the paced warm-up picks keys at
    // random and at 2,000 req/s for 4 s left ~37% of 8,000 keys unasked, so a `worker serve`'s
    // first measured round still read, decoded and kept them — GC scavenges of 10–30 ms promoting
    // that round's new answers, where `strata start` had been asked every key by `answers` above
    // (BENCHMARKS.md, Query, session 13). --warm-every=0: as before.
    if (warmEvery)
      for (const url of new Set(Object.values(urlOf))) if (url !== undefined) await answers(url, urls)
    for (const run of Object.values(contenders)) await run(Math.min(...rates), seconds)
    const samples: Record<string, Sample[]> = {}
    // Each round gives every contender `seconds` of load as --slices slices, interleaved: slice s
    // of every contender, then slice s+1, the order rotated one place each slice (and each round),
    // so a stall of the machine (other processes, the load generator's own GC) lands on all of
    // them alike and none always follows the same neighbour. A round's latencies are pooled over
    // its slices: its p99 is the round's. The autocannon cross-check runs whole, in slice 1.
    const names = Object.keys(contenders)
    const sliceSeconds = seconds / slices
    // --warm-rounds=N: N whole rounds first, every contender's slices as in a measured one, not
    // recorded: what the first asks of every key left behind — garbage that the serving thread's
    // first major GC collects, its marking on V8's helper threads — is collected there and not in
    // round 1 (session 19: `strata start`'s round 1 read 21–25 µs/request on V8's threads, the
    // rounds after it 1–8).
    for (const { round, measured } of roundPlan(rounds, warmRounds)) {
      for (const rate of rates) {
        const parts: Record<string, Array<{ r: PacedResult; cpuUs: number; loop?: LoopStats }>> = {}
        const flips: Record<string, string> = {}
        const loop0s: Record<string, { text: string }> = {}
        const threadsOf: Record<string, Map<string, number>> = {}
        for (let slice = 0; slice < slices; slice++) {
          const order = sliceOrder(names, round, slice, slices)
          for (const name of order) {
            const whole = name.includes('autocannon')
            if (whole && slice > 0) continue
            const loopUrl = withLoop ? urlOf[name] : undefined
            // /metrics is read before a contender's first slice and after its last, not around each
            // slice: a scrape of `strata start` stalls its serving thread (session 18, --scraped),
            // so reading it around every slice charged its queries 4× the scrapes of --slices=1.
            if (loopUrl && slice === 0) loop0s[name] = await readLoop(loopUrl)
            const lastSlice = whole || slice === slices - 1
            const batch0 = urlOf[name] ? await batchVersions(urlOf[name]!) : undefined
            // Every contender waits the same before its slice: what a /metrics scrape sets off in a
            // Strata process (its roles' reports, the end offsets' broker round trip) settles first.
            // The CPU is read after the wait, so a slice's CPU per request covers the slice alone
            // (read before it, `strata start`'s background work in the 250 ms was charged to its
            // requests: 140 against 108 µs/request at 2,000 req/s, session 18).
            if (settleMs > 0) await sleep(settleMs)
            // --prime=MS: an unmeasured burst at the slice's rate right before it, for every
            // contender alike, so a slice starts from a server that is serving, not one that idled
            // through the other contenders' slices (V8's idle-time GC, cold caches, roles that
            // caught up meanwhile). Its CPU is not counted either.
            if (primeMs > 0 && !whole) await contenders[name]!(rate, primeMs / 1000)
            const pid = urlOf[name] && withThreads ? pids[name]![0] : undefined
            const threads0 = pid ? threadCpu(pid) : undefined
            const cpu0 = await cpuOfAll(name)
            const r = await contenders[name]!(rate, whole ? seconds : sliceSeconds)
            const part: { r: PacedResult; cpuUs: number; loop?: LoopStats } = {
              r,
              cpuUs: (await cpuOfAll(name)) - cpu0,
            }
            if (pid && threads0) {
              threadsOf[name] ??= new Map()
              addThreads(threadsOf[name]!, threads0, threadCpu(pid))
            }
            if (loopUrl && lastSlice && loop0s[name])
              part.loop = loopOf(loop0s[name]!.text, (await readLoop(loopUrl)).text)
            const batch1 = urlOf[name] ? await batchVersions(urlOf[name]!) : undefined
            if (batch0 !== batch1) flips[name] = `${batch0} → ${batch1}`
            if (r.errors > 0) throw new Error(`${name}: ${r.errors} errors of ${r.sent}`)
            parts[name] ??= []
            parts[name]!.push(part)
          }
        }
        if (!measured) {
          console.error(`urls ${urls} warm-up round ${rate}/s: not recorded`)
          continue
        }
        for (const name of names) {
          const ps = parts[name]!
          const r =
            ps.length === 1 || ps[0]!.r.latencies === undefined
              ? ps[0]!.r
              : pooled(
                  ps.map((p) => p.r),
                  seconds,
                )
          const s: Sample = {
            ...r,
            latencies: undefined,
            fromSend: undefined,
            cpuUs: ps.reduce((n, p) => n + p.cpuUs, 0) / r.answered,
          }
          const loops = ps.map((p) => p.loop).filter((l) => l !== undefined)
          if (loops.length > 0)
            s.loop = {
              maxMs: Math.max(...loops.map((l) => l.maxMs)),
              p99Ms: Math.max(...loops.map((l) => l.p99Ms)),
              gcOver10: loops.reduce((n, l) => n + l.gcOver10, 0),
              gcMs: loops.reduce((n, l) => n + l.gcMs, 0),
              majorGcMs: loops.reduce((n, l) => n + l.majorGcMs, 0),
              heapMB: loops.at(-1)!.heapMB,
            }
          if (flips[name]) s.flipped = flips[name]
          if (threadsOf[name])
            console.error(
              `urls ${urls} round ${round} ${rate}/s ${name}: CPU per thread, µs/request: ${[
                ...threadsOf[name]!,
              ]
                .sort((a, b) => b[1] - a[1])
                .map(([thread, us]) => `${thread} ${(us / r.answered).toFixed(1)}`)
                .join(', ')}`,
            )
          samples[`${name}|${rate}`] ??= []
          samples[`${name}|${rate}`]!.push(s)
          console.error(
            `urls ${urls} round ${round} ${rate}/s ${name}: ${Math.round(s.rate)} req/s, p50 ${ms(s.p50)}, p99 ${ms(s.p99)}, p99.9 ${ms(s.p999)}, max ${ms(s.max)} ms; from send p50 ${ms(s.sentP50)}, p99 ${ms(s.sentP99)}; server CPU ${s.cpuUs.toFixed(0)} µs/request${s.loop ? `; event loop max ${s.loop.maxMs.toFixed(1)} ms, p99 ${s.loop.p99Ms.toFixed(1)} ms, GC ≥ 10 ms ${s.loop.gcOver10}, GC ${s.loop.gcMs.toFixed(0)} ms (major ${s.loop.majorGcMs.toFixed(0)}), heap ${s.loop.heapMB.toFixed(0)} MB` : ''}${s.flipped ? `; the served batch version moved during the round (${s.flipped})` : ''}`,
          )
        }
      }
    }
    const rows = []
    const loops: Array<Array<string | number>> = []
    for (const rate of rates) {
      const med = (name: string, f: (x: Sample) => number) => median(samples[`${name}|${rate}`]!.map(f))
      const peerP99 = med(PEER, (x) => x.p99)
      const redisP99 = med('Redis GET', (x) => x.p99)
      const floorCpu = floor ? med(FLOOR, (x) => x.cpuUs) : Number.NaN
      for (const name of Object.keys(contenders)) {
        const s = samples[`${name}|${rate}`]!
        const p99 = s.map((x) => x.p99)
        const ratio = median(p99) / peerP99
        const cpu = median(s.map((x) => x.cpuUs))
        rows.push([
          name,
          rate,
          Math.round(median(s.map((x) => x.rate))),
          ms(median(s.map((x) => x.p50))),
          `${ms(median(p99))} (±${spread(p99).toFixed(0)}%)`,
          ms(median(s.map((x) => x.p999))),
          `${ratio.toFixed(2)}×`,
          `${(median(p99) / redisP99).toFixed(2)}×`,
          ms(median(s.map((x) => x.sentP99))),
          `${cpu.toFixed(0)}${floor ? ` (${(cpu / floorCpu).toFixed(1)}×)` : ''}`,
        ])
        const paired = p99.map((x, i) => x / samples[`${PEER}|${rate}`]![i]!.p99)
        const perRound = `${paired.map((x) => x.toFixed(2)).join(', ')} (median ${median(paired).toFixed(2)})`
        if (name === FLOOR || name === 'Redis GET') {
          allRows.push({
            measure: `${name === FLOOR ? 'HTTP floor' : 'Redis GET (no HTTP)'} at ${rate.toLocaleString('en')} req/s`,
            strata: `${ms(median(p99))} ms`,
            value: median(p99),
            peer: `${PEER}, p99 at the same rate`,
            peerFigure: `${ms(peerP99)} ms`,
            peerValue: peerP99,
            ratio: `${ratio.toFixed(2)}×`,
            note: `no target: under the peer; server CPU ${cpu.toFixed(0)} µs/request`,
          })
          continue
        }
        if (name === PEER) {
          allRows.push({
            measure: `the peer at ${rate.toLocaleString('en')} req/s: ${PEER}`,
            strata: `${ms(peerP99)} ms`,
            value: peerP99,
            peer: 'Redis GET p99, same rate',
            peerFigure: `${ms(redisP99)} ms`,
            peerValue: redisP99,
            ratio: `${(peerP99 / redisP99).toFixed(2)}×`,
            note: `no target; CPU ${cpu.toFixed(0)} µs/request (its Node process + Redis)`,
          })
          continue
        }
        if (s.some((x) => x.loop))
          loops.push([
            name,
            rate,
            s.map((x) => x.loop?.maxMs.toFixed(0) ?? '–').join(' / '),
            s.map((x) => x.loop?.p99Ms.toFixed(1) ?? '–').join(' / '),
            s.map((x) => x.loop?.gcOver10 ?? '–').join(' / '),
            s.map((x) => x.loop?.gcMs.toFixed(0) ?? '–').join(' / '),
            s.map((x) => ms(x.p99)).join(' / '),
          ])
        if (name.includes('autocannon') || name.includes('baseline') || name.includes('scraped')) continue
        const label = `${rate.toLocaleString('en')} req/s, ${urls.toLocaleString('en')} keys${ingestRate > 0 ? `, ${ingestRate.toLocaleString('en')} events/s ingested meanwhile` : ''}, ${name.replace('Strata ', '')}`
        allRows.push({
          measure: `query p99 at ${label}`,
          strata: `${ms(median(p99))} ms`,
          value: median(p99),
          peer: `${PEER}, p99 at the same rate`,
          peerFigure: `${ms(peerP99)} ms`,
          peerValue: peerP99,
          ratio: `${ratio.toFixed(2)}×`,
          target: '≤ 1.5×',
          met: ratio <= 1.5,
          note: `p50 ${ms(median(s.map((x) => x.p50)))} ms; p99 spread ±${spread(p99).toFixed(0)}%; per round ${perRound}; ${(median(p99) / redisP99).toFixed(2)}× a bare Redis GET`,
        })
        if (floor)
          allRows.push({
            measure: `server CPU per request at ${label}`,
            strata: `${cpu.toFixed(0)} µs`,
            value: cpu,
            peer: FLOOR,
            peerFigure: `${floorCpu.toFixed(0)} µs`,
            peerValue: floorCpu,
            ratio: `${(cpu / floorCpu).toFixed(2)}×`,
            target: '≤ 2×',
            met: cpu / floorCpu <= 2,
            note: `the peer: ${med(PEER, (x) => x.cpuUs).toFixed(0)} µs/request (Node + Redis)`,
          })
      }
    }
    const text = `${urls} urls (${keys.length} asked)${ingestRate > 0 ? `, ingest of ${ingestRate} events/s running` : ''}, ${seconds} s per run in ${slices} interleaved slices${primeMs > 0 ? ` (each after an unmeasured ${primeMs}-ms burst)` : ''}, ${rounds} rounds${warmRounds > 0 ? ` after ${warmRounds} unmeasured` : ''}, ${connections} connections; medians, p99 spread (max−min)/median\n\n${table(['contender', 'rate', 'req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'p99 vs the peer', 'p99 vs Redis GET', 'p99 from send ms', `server CPU µs/request${floor ? ' (vs floor)' : ''}`], rows)}`
    const loopText = loops.length
      ? `\n\nThe main event loop of each Strata process, per round (/metrics): largest delay, p99 delay, GC pauses ≥ 10 ms, GC total, and the round's query p99\n\n${table(['contender', 'rate', 'loop max ms', 'loop p99 ms', 'GC ≥ 10 ms', 'GC ms', 'query p99 ms'], loops)}`
      : ''
    const textAll = text + loopText
    tables.push(textAll)
    console.log(`\n${textAll}`)
  } finally {
    let dels = ''
    for (const i of keys) dels += resp('DEL', `${prefix}/p/${i}`)
    if (dels)
      await runText('redis-cli', ['-h', '127.0.0.1', '--pipe'], 120_000, Buffer.from(dels)).catch(() => {})
    for (const stop of stops) await stop()
    if (bodiesFile) await rm(bodiesFile, { force: true })
    for (const server of servers.reverse()) await server.stop()
    for (const floor of floors.splice(0)) floor.child.kill('SIGTERM')
    await admin.deleteTopic(topic)
  }
}
await admin.close()
printResult({
  part: 'query',
  rows: allRows,
  params: {
    events,
    urls: urlCounts,
    rates,
    seconds,
    rounds,
    connections,
    modes,
    ingest: ingestRate,
    slices,
    prime: primeMs,
    warmRounds,
  },
})
process.exit(0)
