// Speed-layer catch-up: events preloaded into a topic, then the time for Strata's speed layer
// (from a fresh store) to fold them all into pageviews_by_url, beside the same topic read by
//   - Strata's Kafka consumer doing nothing (the limit),
//   - a Kafka Streams application computing the same view (bench/peers/kafka-streams), in
//     at_least_once and exactly_once_v2, at its best configuration (issue 15): 2 stream threads
//     (the cores), each guarantee's default commit interval, a 256 MiB record cache, and one JVM
//     for the whole run, warmed by an unmeasured catch-up of the topic before the rounds,
//   - kafka-python consuming and counting in a dict (bench/peers/kafka-python; the baseline).
// Every contender reads the same topic with a fresh consumer group, one after the other, the
// order alternating round by round; each is timed from the moment its partitions are assigned
// (Strata: claimed in the store; Kafka Streams: state RUNNING) to done, so the group join
// (timers, not speed) is left out. Strata is done when the consumed offsets committed in
// its store, with the states, reach the end of every partition; Kafka Streams when its
// aggregator has folded every page view into its window store.
//
//   npm run bench:speed-catchup -- [--events=1000000] [--rounds=3] [--partitions=6] [--workers=1]
//                                   [--only=raw,strata,python,streams] [--keys=user,url]
//                                   [--streams-threads=2] [--fold-threads=1]
//
// --keys: how the preloaded topic is keyed, one topic each: by user (grouping by url is then a
// re-key, a repartition round trip for Kafka Streams) and by url (already keyed by the grouping
// key: no repartition). Strata keeps partials per partition either way. Every rate carries the
// CPU time per event of the process that did the work (in process: this one; Java and Python:
// their own, reported by them), over the same span as the rate.
//
// --workers=N runs Strata as N speed-worker processes in one consumer group on one LMDB store
// (bench/lib/speed-worker-child.ts), timed from the first partition claimed in the store; without
// it, one worker runs in this process. Growth: give several values to one of --events,
// --partitions, --workers (e.g. --partitions=1,6,12 --only=raw,strata): each size is a fresh
// topic, and a growth table follows the per-size tables. The last stdout line is
// `BENCH_RESULT {json}` (the shape of bench/lib/result.ts) for `npm run bench`.
//
// CPU: for the contenders that run in this process (the raw consumer, Strata with one worker) the
// process CPU (user + system, every thread: LMDB's writer too) over the same interval, per event:
// a ratio that a loaded machine disturbs less than the rates. Strata's LMDB store logs each
// commit's deltas and folds the log into its state rows in the background
// (src/store/lmdb-compactor.ts); what is left to fold when it has caught up is folded then, and
// timed apart ("fold after"): the CPU per event with it is Strata's whole cost.
import './lib/help.ts' // --help: the comment above, then exit
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { StrataConfig } from '../src/core/config.ts'
import { compileViews } from '../src/core/config.ts'
import { loadConfig } from '../src/core/config-loader.ts'
import { createAdmin, createConsumer } from '../src/log/kafka/index.ts'
import { createSpeedWorker, SPEED_FOLD_THREADS } from '../src/speed/index.ts'
import { openLmdbStore } from '../src/store/lmdb-store.ts'
import { cpuOf, ownCpu, threadCpu, threadSplit } from './lib/cpu.ts'
import { type JvmPeer, startJvmPeer } from './lib/jvm-peer.ts'
import { brokers, preloadTopic, runJson, sleep, writeViewConfig } from './lib/kafka-bench.ts'
import { fmtRate, median, spread, table } from './lib/stats.ts'

const list = (name: string, fallback: number[]): number[] => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`))
  return hit
    ? hit
        .slice(name.length + 3)
        .split(',')
        .map(Number)
    : fallback
}
const eventSizes = list('events', [1_000_000])
const rounds = list('rounds', [3])[0]!
const partitionSizes = list('partitions', [6])
const workerSizes = list('workers', [0]) // 0: one worker in this process
const streamsThreads = list('streams-threads', [2])[0]!
// --fold-threads=N: the in-process speed worker parses, checks and folds in N fold threads
// (src/speed/fold-threads.ts); 0: on the thread that reads Kafka. The default is what `strata
// start` and `strata worker speed` run on Kafka (SPEED_FOLD_THREADS, one), so the figure is the
// product's; it was 0 until 2026-12-06 (the full run of that morning measured no fold thread).
const foldThreads = list('fold-threads', [SPEED_FOLD_THREADS])[0]!
const keyings = (process.argv
  .find((a) => a.startsWith('--keys='))
  ?.slice(7)
  .split(',') ?? ['user', 'url']) as Array<'user' | 'url'>
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',')
const peers = join(import.meta.dirname, 'peers')
const streamsJar = join(peers, 'kafka-streams/target/strata-streams-peer.jar')
const LIMIT_MS = 600_000
const RAW = 'Kafka consumer alone (Strata’s, no work)'
const STRATA = 'Strata speed layer (exactly once)'
const PYTHON = 'kafka-python, dict (baseline)'
const STREAMS = (g: string) => `Kafka Streams ${g} (Java, ${streamsThreads} threads, 256 MiB cache, warm JVM)`
const GUARANTEES = ['at_least_once', 'exactly_once_v2']

interface Case {
  events: number
  partitions: number
  workers: number
  keyBy: 'user' | 'url'
}
const cases: Case[] = []
for (const keyBy of keyings)
  for (const events of eventSizes)
    for (const partitions of partitionSizes)
      for (const workers of workerSizes) cases.push({ events, partitions, workers, keyBy })

/** ms from the partitions' assignment to done, and the CPU time (ms) the work took meanwhile. */
interface Run {
  ms: number
  cpuMs: number
  /** Strata in process: folding what its store's log still held once caught up (wall and CPU ms). */
  foldMs?: number
  foldCpuMs?: number
  /** In process: CPU of this process's main thread alone (the thread that reads Kafka), ms. */
  mainCpuMs?: number
}

/** This thread's CPU time so far, in µs (the main thread: fold threads and LMDB's writer excluded). */
function mainCpu(): number {
  const { user, system } = process.threadCpuUsage()
  return user + system
}
type Contender = () => Promise<Run>

function contendersFor(
  c: Case,
  topic: string,
  pageViews: number,
  end: number[],
  config: StrataConfig,
  configPath: string,
  dir: string,
  streams: JvmPeer | undefined,
): Record<string, Contender> {
  const { events, partitions, workers } = c
  const all: Record<string, Contender> = {
    [RAW]: async () => {
      let count = 0
      let first = 0
      let cpu0 = 0
      let done = 0
      let cpu1 = 0
      let main0 = 0
      let main1 = 0
      const consumer = createConsumer({
        brokers,
        groupId: `bench-${randomUUID()}`,
        topics: [topic],
        maxWaitMs: 200,
        onAssign: () => {
          if (first === 0) {
            first = performance.now()
            cpu0 = ownCpu()
            main0 = mainCpu()
          }
          return undefined
        },
        onBatch: (batch) => {
          count += batch.records.length
          if (count >= events && done === 0) {
            done = performance.now()
            cpu1 = ownCpu()
            main1 = mainCpu()
          }
        },
      })
      await consumer.start()
      const deadline = Date.now() + LIMIT_MS
      while (done === 0 && Date.now() < deadline) await sleep(5)
      await consumer.close()
      if (done === 0) throw new Error(`consumer saw ${count} of ${events}`)
      return { ms: done - first, cpuMs: (cpu1 - cpu0) / 1000, mainCpuMs: (main1 - main0) / 1000 }
    },
    [STRATA]: async () => {
      const storeDir = join(dir, `store-${randomUUID()}`)
      const store = await openLmdbStore(storeDir)
      const groupId = `bench-${randomUUID()}`
      const children: ChildProcess[] = []
      const worker =
        workers === 0
          ? createSpeedWorker({ store, config, configPath, foldThreads, brokers, groupId })
          : undefined
      if (worker) await worker.start()
      for (let i = 0; i < workers; i++) {
        const child = spawn(
          process.execPath,
          [join(import.meta.dirname, 'lib/speed-worker-child.ts'), brokers, groupId, configPath, storeDir],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        )
        children.push(child)
      }
      // In process: this process's CPU; processes: the workers' (read from /proc).
      const cpuNow = async () =>
        worker
          ? ownCpu()
          : (await Promise.all(children.map((ch) => cpuOf(ch.pid)))).reduce((a, b) => a + b, 0)
      let first = 0
      let cpu0 = 0
      let done = 0
      let cpu1 = 0
      let main0 = 0
      let main1 = 0
      // In process: each thread's CPU over the catch-up (main, fold thread, LMDB's writer, V8's helpers).
      let threads0 = threadCpu()
      let fold: Pick<Run, 'foldMs' | 'foldCpuMs'> = {}
      const deadline = Date.now() + LIMIT_MS
      try {
        while (Date.now() < deadline) {
          // In-process: the worker's stats; processes: the partitions' state in the shared store.
          const stats = worker
            ? worker.stats().partitions.map((p) => ({ partition: p.partition, offset: p.consumed }))
            : await store.speedPartitions()
          if (first === 0 && stats.length > 0) {
            first = performance.now()
            cpu0 = await cpuNow()
            main0 = mainCpu()
            threads0 = threadCpu()
          }
          const caughtUp = stats.length === partitions && stats.every((p) => p.offset >= end[p.partition]!)
          if (caughtUp) {
            done = performance.now()
            cpu1 = await cpuNow()
            main1 = mainCpu()
            if (worker)
              console.error(`  Strata CPU µs/event by thread: ${threadSplit(threads0, threadCpu(), events)}`)
            break
          }
          await sleep(5)
        }
        if (worker && done > 0) {
          // What the background compactor has not folded yet, folded now.
          const views = compileViews(config)
          const combine = (view: string, a: unknown, b: unknown) => {
            const { monoid } = views.find((v) => v.name === view)!
            return monoid.encode(monoid.combine(monoid.decode(a as never), monoid.decode(b as never)))
          }
          const started = performance.now()
          const cpuFold = ownCpu()
          await store.compactSpeed(combine)
          fold = { foldMs: performance.now() - started, foldCpuMs: (ownCpu() - cpuFold) / 1000 }
        }
      } finally {
        if (worker) await worker.close()
        await Promise.all(
          children.map(
            (child) =>
              new Promise((resolve) => {
                child.once('exit', resolve)
                child.kill('SIGTERM')
              }),
          ),
        )
        await store.close()
        await rm(storeDir, { recursive: true, force: true })
      }
      if (done === 0) throw new Error('speed layer did not catch up')
      return {
        ms: done - first,
        cpuMs: (cpu1 - cpu0) / 1000,
        ...(worker ? { mainCpuMs: (main1 - main0) / 1000 } : {}),
        ...fold,
      }
    },
    [PYTHON]: async () => {
      const r = await runJson<{ ok: boolean; ms: number; cpuMs: number; seen: number }>(
        '/usr/bin/python3',
        [
          join(peers, 'kafka-python/count_pageviews.py'),
          brokers,
          topic,
          `bench-${randomUUID()}`,
          String(events),
        ],
        LIMIT_MS,
      )
      if (!r.ok) throw new Error(`kafka-python saw ${r.seen} of ${events}`)
      return { ms: r.ms, cpuMs: r.cpuMs }
    },
  }
  if (streams)
    for (const guarantee of GUARANTEES)
      all[STREAMS(guarantee)] = () => runStreams(streams, c, topic, pageViews, guarantee, dir)
  const kind = (name: string) =>
    name === RAW ? 'raw' : name === STRATA ? 'strata' : name === PYTHON ? 'python' : 'streams'
  const chosen: Record<string, Contender> = {}
  for (const [name, run] of Object.entries(all)) {
    if (only && !only.includes(kind(name))) continue
    chosen[name] = run
  }
  return chosen
}

/** One Kafka Streams application run in the long-lived JVM, from RUNNING to every page view folded. */
async function runStreams(
  streams: JvmPeer,
  c: Case,
  topic: string,
  pageViews: number,
  guarantee: string,
  dir: string,
): Promise<Run> {
  const stateDir = join(dir, `streams-${randomUUID()}`)
  const out = await streams.run(
    [topic, `bench-${randomUUID()}`, guarantee, pageViews, stateDir, c.keyBy, streamsThreads].join(' '),
    LIMIT_MS,
  )
  const r = JSON.parse(out.at(-1)!) as { ok: boolean; ms: number; cpuMs: number; folded: number }
  await rm(stateDir, { recursive: true, force: true })
  if (!r.ok) throw new Error(`Kafka Streams folded ${r.folded} of ${pageViews}`)
  return r
}

const wantStreams = !only || only.includes('streams')
if (wantStreams && !existsSync(streamsJar)) {
  console.error(`(no ${streamsJar}: run mvn -q package in bench/peers/kafka-streams; skipping Kafka Streams)`)
}
const streams =
  wantStreams && existsSync(streamsJar) ? await startJvmPeer(['-jar', streamsJar, brokers]) : undefined

const admin = createAdmin({ brokers })
const dir = await mkdtemp(join(tmpdir(), 'strata-bench-catchup-'))
const results: Array<{
  c: Case
  pageViews: number
  rates: Record<string, number[]>
  cpu: Record<string, number[]>
  /** In-process contenders: µs of the main thread's CPU per event. */
  mainCpuUs: Record<string, number[]>
  /** Strata: µs of CPU per event including the fold after; ms of the fold after. */
  cpuWithFold: number[]
  foldMs: number[]
}> = []
try {
  for (const c of cases) {
    console.error(`preloading ${c.events} events keyed by ${c.keyBy} into ${c.partitions} partitions…`)
    const { topic, pageViews, end } = await preloadTopic(admin, c.events, c.partitions, 10_000, c.keyBy)
    try {
      // A file per case: import() caches a config by its path, and each case has its own topic.
      const configPath = await writeViewConfig(await mkdtemp(join(dir, 'case-')), topic, c.partitions)
      const config = await loadConfig(configPath)
      const contenders = contendersFor(c, topic, pageViews, end, config, configPath, dir, streams)
      // Warm-up, not measured: one catch-up by every contender that keeps its process across
      // rounds (this one, and the Streams JVM, once per guarantee): JIT, class loading, RocksDB's
      // and LMDB's first files, as a long-running service would have them. kafka-python is a
      // process per run (CPython has no JIT to warm).
      for (const [name, run] of Object.entries(contenders)) {
        if (name === PYTHON) continue
        const w = await run()
        console.error(`warm-up: ${name}: ${fmtRate(c.events / (w.ms / 1000))} (not measured)`)
      }
      const rates: Record<string, number[]> = {}
      const cpu: Record<string, number[]> = {}
      const mainCpuUs: Record<string, number[]> = {}
      const cpuWithFold: number[] = []
      const foldMs: number[] = []
      for (let round = 1; round <= rounds; round++) {
        const names = Object.keys(contenders)
        if (round % 2 === 0) names.reverse()
        for (const name of names) {
          const r = await contenders[name]!()
          const rate = c.events / (r.ms / 1000)
          const us = (r.cpuMs * 1000) / c.events
          rates[name] = [...(rates[name] ?? []), rate]
          cpu[name] = [...(cpu[name] ?? []), us]
          if (r.mainCpuMs !== undefined)
            mainCpuUs[name] = [...(mainCpuUs[name] ?? []), (r.mainCpuMs * 1000) / c.events]
          let note = ''
          if (r.foldMs !== undefined && r.foldCpuMs !== undefined) {
            cpuWithFold.push(((r.cpuMs + r.foldCpuMs) * 1000) / c.events)
            foldMs.push(r.foldMs)
            note = `; fold after ${Math.round(r.foldMs)} ms, CPU with it ${(((r.cpuMs + r.foldCpuMs) * 1000) / c.events).toFixed(2)} µs/event`
          }
          console.error(
            `round ${round}: ${name}: ${fmtRate(rate)} (${Math.round(r.ms)} ms), CPU ${us.toFixed(2)} µs/event${note}`,
          )
        }
      }
      results.push({ c, pageViews, rates, cpu, mainCpuUs, cpuWithFold, foldMs })
    } finally {
      await admin.deleteTopic(topic)
    }
  }
} finally {
  await streams?.close()
  await admin.close()
  await rm(dir, { recursive: true, force: true })
}

const workersLabel = (w: number) => (w === 0 ? '1 (in process)' : `${w} (processes)`)
for (const { c, pageViews, rates, cpu, mainCpuUs, cpuWithFold, foldMs } of results) {
  const strata = rates[STRATA] ? median(rates[STRATA]) : Number.NaN
  const rows = Object.entries(rates).map(([name, r]) => [
    name,
    fmtRate(median(r)),
    `±${spread(r).toFixed(0)}%`,
    `${(strata / median(r)).toFixed(2)}×`,
    median(cpu[name]!).toFixed(2),
  ])
  console.log(
    `\n${c.events} events (${pageViews} page views) keyed by ${c.keyBy}, ${c.partitions} partitions, Strata workers ${workersLabel(c.workers)}, ${rounds} rounds; median and spread (max−min)/median\n`,
  )
  console.log(table(['contender', 'events/s', 'spread', 'Strata ÷ contender', 'CPU µs/event'], rows))
  const mains = Object.entries(mainCpuUs)
  if (mains.length > 0) {
    // The thread that reads Kafka: what bounds the rate once other threads have cores to run on.
    console.log(
      `\nMain thread CPU per event (median): ${mains.map(([name, us]) => `${name} ${median(us).toFixed(2)} µs`).join('; ')}`,
    )
  }
  if (foldMs.length > 0) {
    console.log(
      `\nStrata's log left to fold once caught up: ${Math.round(median(foldMs))} ms (median); CPU per event with that fold ${median(cpuWithFold).toFixed(2)} µs`,
    )
  }
}
if (results.length > 1) {
  console.log('\nGrowth (Strata and the raw consumer, medians):\n')
  console.log(
    table(
      ['events', 'keyed by', 'partitions', 'Strata workers', 'Strata', 'raw consumer', 'Strata ÷ raw'],
      results.map(({ c, rates }) => {
        const s = rates[STRATA] ? median(rates[STRATA]) : Number.NaN
        const r = rates[RAW] ? median(rates[RAW]) : Number.NaN
        return [
          c.events.toLocaleString('en'),
          c.keyBy,
          c.partitions,
          workersLabel(c.workers),
          fmtRate(s),
          Number.isNaN(r) ? '' : fmtRate(r),
          Number.isNaN(r) ? '' : `${(s / r).toFixed(2)}×`,
        ]
      }),
    ),
  )
}

// One row per contender and size: Strata against the raw consumer (target ≥ 0.8×) and against
// tuned Kafka Streams (targets ≥ 1.5× at_least_once, ≥ 2.5× exactly_once_v2); growth rows carry no target.
const targets: Record<string, number> = {
  [RAW]: 0.8,
  [STREAMS('at_least_once')]: 1.5,
  [STREAMS('exactly_once_v2')]: 2.5,
}
const rows: Array<Record<string, unknown>> = []
const growth = new Set(results.map((r) => `${r.c.events}/${r.c.partitions}/${r.c.workers}`)).size > 1
for (const { c, rates, cpu } of results) {
  const size = `${c.events.toLocaleString('en')} events keyed by ${c.keyBy}, ${c.partitions} partitions, ${workersLabel(c.workers)} worker(s)`
  const s = rates[STRATA] ? median(rates[STRATA]) : undefined
  if (s === undefined) continue
  const strataCpu = median(cpu[STRATA]!)
  const peerRow = (name: string) => {
    const r = rates[name]
    if (r === undefined) return
    const p = median(r)
    const target = growth ? undefined : targets[name]
    rows.push({
      measure: `speed catch-up, ${size}`,
      strata: `${fmtRate(s)} (${strataCpu.toFixed(1)} µs CPU/event)`,
      value: Math.round(s),
      peer: name,
      peerFigure: `${fmtRate(p)} (${median(cpu[name]!).toFixed(1)} µs CPU/event)`,
      peerValue: Math.round(p),
      ratio: `${(s / p).toFixed(2)}×`,
      ...(target === undefined ? {} : { target: `≥ ${target.toFixed(1)}×`, met: s / p >= target }),
      note: `spread Strata ±${spread(rates[STRATA]!).toFixed(0)}%, peer ±${spread(r).toFixed(0)}%; ${rounds} rounds; per round ${r.map((x, i) => `${(rates[STRATA]![i]! / x).toFixed(2)}×`).join(', ')}`,
    })
  }
  peerRow(RAW)
  for (const g of GUARANTEES) peerRow(STREAMS(g))
  if (!rates[RAW] && !rates[STREAMS('at_least_once')])
    rows.push({ measure: `speed catch-up, ${size}`, strata: fmtRate(s), value: Math.round(s) })
}
console.log(
  `BENCH_RESULT ${JSON.stringify({
    part: 'speed-catchup',
    params: {
      events: eventSizes,
      partitions: partitionSizes,
      workers: workerSizes,
      rounds,
      keys: keyings,
      streamsThreads,
    },
    rows,
  })}`,
)
process.exit(0)
