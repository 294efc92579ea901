// Speed-layer catch-up: events preloaded into a topic, then the time for Strata's speed layer
// (from a fresh store) to fold them all into pageviews_by_url, beside the same topic read by
//   - Strata's Kafka consumer doing nothing (the limit),
//   - a Kafka Streams application computing the same view (bench/peers/kafka-streams), in
//     at_least_once and exactly_once_v2,
//   - kafka-python consuming and counting in a dict (bench/peers/kafka-python; the baseline).
// Every contender reads the same topic with a fresh consumer group, one after the other, the
// order alternating round by round; each is timed from the moment its partitions are assigned
// (Strata: claimed in the store; Kafka Streams: state RUNNING) to done, so the group join
// (timers, not speed) is left out. Strata is done when the consumed offsets committed in
// its store, with the states, reach the end of every partition; Kafka Streams when its
// aggregator has folded every page view into its window store.
//
//   npm run bench:speed-catchup -- [--events=1000000] [--rounds=3] [--partitions=6] [--workers=1]
//                                   [--only=raw,strata,python,streams]
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
import { createSpeedWorker } from '../src/speed/index.ts'
import { openLmdbStore } from '../src/store/lmdb-store.ts'
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
const STREAMS = (g: string) => `Kafka Streams ${g} (Java, 1 thread)`

interface Case {
  events: number
  partitions: number
  workers: number
}
const cases: Case[] = []
for (const events of eventSizes)
  for (const partitions of partitionSizes)
    for (const workers of workerSizes) cases.push({ events, partitions, workers })

/** ms from the first record to done; CPU ms of this process meanwhile (in-process contenders). */
interface Timing {
  ms: number
  cpuMs?: number
  /** Strata: folding what its store's log still held once caught up (wall and CPU ms). */
  foldMs?: number
  foldCpuMs?: number
}
type Contender = () => Promise<Timing>

const cpuNow = () => {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

function contendersFor(
  c: Case,
  topic: string,
  pageViews: number,
  end: number[],
  config: StrataConfig,
  configPath: string,
  dir: string,
): Record<string, Contender> {
  const { events, partitions, workers } = c
  const all: Record<string, Contender> = {
    [RAW]: async () => {
      let count = 0
      let first = 0
      let done = 0
      let cpu0 = 0
      let cpu1 = 0
      const consumer = createConsumer({
        brokers,
        groupId: `bench-${randomUUID()}`,
        topics: [topic],
        maxWaitMs: 200,
        onAssign: () => {
          if (first === 0) {
            first = performance.now()
            cpu0 = cpuNow()
          }
          return undefined
        },
        onBatch: (batch) => {
          count += batch.records.length
          if (count >= events && done === 0) {
            done = performance.now()
            cpu1 = cpuNow()
          }
        },
      })
      await consumer.start()
      const deadline = Date.now() + LIMIT_MS
      while (done === 0 && Date.now() < deadline) await sleep(5)
      await consumer.close()
      if (done === 0) throw new Error(`consumer saw ${count} of ${events}`)
      return { ms: done - first, cpuMs: cpu1 - cpu0 }
    },
    [STRATA]: async () => {
      const storeDir = join(dir, `store-${randomUUID()}`)
      const store = await openLmdbStore(storeDir)
      const groupId = `bench-${randomUUID()}`
      const children: ChildProcess[] = []
      const worker = workers === 0 ? createSpeedWorker({ store, config, brokers, groupId }) : undefined
      if (worker) await worker.start()
      for (let i = 0; i < workers; i++) {
        const child = spawn(
          process.execPath,
          [join(import.meta.dirname, 'lib/speed-worker-child.ts'), brokers, groupId, configPath, storeDir],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        )
        children.push(child)
      }
      let first = 0
      let done = 0
      let cpu0 = 0
      let cpu1 = 0
      let fold: Pick<Timing, 'foldMs' | 'foldCpuMs'> = {}
      const deadline = Date.now() + LIMIT_MS
      try {
        while (Date.now() < deadline) {
          // In-process: the worker's stats; processes: the partitions' state in the shared store.
          const stats = worker
            ? worker.stats().partitions.map((p) => ({ partition: p.partition, offset: p.consumed }))
            : await store.speedPartitions()
          if (first === 0 && stats.length > 0) {
            first = performance.now()
            cpu0 = cpuNow()
          }
          const caughtUp = stats.length === partitions && stats.every((p) => p.offset >= end[p.partition]!)
          if (caughtUp) {
            done = performance.now()
            cpu1 = cpuNow()
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
          const cpuFold = cpuNow()
          await store.compactSpeed(combine)
          fold = { foldMs: performance.now() - started, foldCpuMs: cpuNow() - cpuFold }
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
      return { ms: done - first, ...(worker ? { cpuMs: cpu1 - cpu0, ...fold } : {}) }
    },
    [PYTHON]: async () => {
      const r = await runJson<{ ok: boolean; ms: number; seen: number }>(
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
      return { ms: r.ms }
    },
  }
  for (const guarantee of ['at_least_once', 'exactly_once_v2']) {
    all[STREAMS(guarantee)] = async () => {
      const stateDir = join(dir, `streams-${randomUUID()}`)
      const r = await runJson<{ ok: boolean; ms: number; folded: number }>(
        'java',
        ['-jar', streamsJar, brokers, topic, `bench-${randomUUID()}`, guarantee, String(pageViews), stateDir],
        LIMIT_MS,
      )
      if (!r.ok) throw new Error(`Kafka Streams folded ${r.folded} of ${pageViews}`)
      return { ms: r.ms }
    }
  }
  const kind = (name: string) =>
    name === RAW ? 'raw' : name === STRATA ? 'strata' : name === PYTHON ? 'python' : 'streams'
  const chosen: Record<string, Contender> = {}
  for (const [name, run] of Object.entries(all)) {
    if (only && !only.includes(kind(name))) continue
    if (kind(name) === 'streams' && !existsSync(streamsJar)) continue
    chosen[name] = run
  }
  return chosen
}

if (!existsSync(streamsJar)) {
  console.error(`(no ${streamsJar}: run mvn -q package in bench/peers/kafka-streams; skipping Kafka Streams)`)
}

const admin = createAdmin({ brokers })
const dir = await mkdtemp(join(tmpdir(), 'strata-bench-catchup-'))
const results: Array<{
  c: Case
  pageViews: number
  rates: Record<string, number[]>
  /** µs of process CPU per event, per round (in-process contenders). */
  cpu: Record<string, number[]>
  /** Strata: µs of CPU per event including the fold after; ms of the fold after. */
  cpuWithFold: number[]
  foldMs: number[]
}> = []
try {
  for (const c of cases) {
    console.error(`preloading ${c.events} events into ${c.partitions} partitions…`)
    const { topic, pageViews, end } = await preloadTopic(admin, c.events, c.partitions)
    try {
      // A file per case: import() caches a config by its path, and each case has its own topic.
      const configPath = await writeViewConfig(await mkdtemp(join(dir, 'case-')), topic, c.partitions)
      const config = await loadConfig(configPath)
      const contenders = contendersFor(c, topic, pageViews, end, config, configPath, dir)
      const rates: Record<string, number[]> = {}
      const cpu: Record<string, number[]> = {}
      const cpuWithFold: number[] = []
      const foldMs: number[] = []
      for (let round = 1; round <= rounds; round++) {
        const names = Object.keys(contenders)
        if (round % 2 === 0) names.reverse()
        for (const name of names) {
          const t = await contenders[name]!()
          const rate = c.events / (t.ms / 1000)
          rates[name] = [...(rates[name] ?? []), rate]
          let note = ''
          if (t.cpuMs !== undefined) {
            cpu[name] = [...(cpu[name] ?? []), (t.cpuMs * 1000) / c.events]
            note = `, CPU ${((t.cpuMs * 1000) / c.events).toFixed(2)} µs/event`
          }
          if (t.foldMs !== undefined && t.foldCpuMs !== undefined && t.cpuMs !== undefined) {
            cpuWithFold.push(((t.cpuMs + t.foldCpuMs) * 1000) / c.events)
            foldMs.push(t.foldMs)
            note += `; fold after ${Math.round(t.foldMs)} ms, CPU with it ${(((t.cpuMs + t.foldCpuMs) * 1000) / c.events).toFixed(2)} µs/event`
          }
          console.error(`round ${round}: ${name}: ${fmtRate(rate)} (${Math.round(t.ms)} ms${note})`)
        }
      }
      results.push({ c, pageViews, rates, cpu, cpuWithFold, foldMs })
    } finally {
      await admin.deleteTopic(topic)
    }
  }
} finally {
  await admin.close()
  await rm(dir, { recursive: true, force: true })
}

const workersLabel = (w: number) => (w === 0 ? '1 (in process)' : `${w} (processes)`)
for (const { c, pageViews, rates, cpu, cpuWithFold, foldMs } of results) {
  const strata = rates[STRATA] ? median(rates[STRATA]) : Number.NaN
  const strataCpu = cpu[STRATA] ? median(cpu[STRATA]) : Number.NaN
  const rows = Object.entries(rates).map(([name, r]) => [
    name,
    fmtRate(median(r)),
    `±${spread(r).toFixed(0)}%`,
    `${(strata / median(r)).toFixed(2)}×`,
    cpu[name] ? `${median(cpu[name]).toFixed(2)} µs` : '',
    cpu[name] ? `${(median(cpu[name]) / strataCpu).toFixed(2)}×` : '',
  ])
  console.log(
    `\n${c.events} events (${pageViews} page views), ${c.partitions} partitions, Strata workers ${workersLabel(c.workers)}, ${rounds} rounds; median and spread (max−min)/median\n`,
  )
  console.log(
    table(
      ['contender', 'events/s', 'spread', 'Strata ÷ contender', 'CPU/event', 'contender ÷ Strata, CPU'],
      rows,
    ),
  )
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
      ['events', 'partitions', 'Strata workers', 'Strata', 'raw consumer', 'Strata ÷ raw'],
      results.map(({ c, rates }) => {
        const s = rates[STRATA] ? median(rates[STRATA]) : Number.NaN
        const r = rates[RAW] ? median(rates[RAW]) : Number.NaN
        return [
          c.events.toLocaleString('en'),
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
// Kafka Streams (target ≥ 1.0×); growth rows carry no target.
const rows: Array<Record<string, unknown>> = []
for (const { c, rates } of results) {
  const size = `${c.events.toLocaleString('en')} events, ${c.partitions} partitions, ${workersLabel(c.workers)} worker(s)`
  const s = rates[STRATA] ? median(rates[STRATA]) : undefined
  if (s === undefined) continue
  const peerRow = (name: string, target: number | undefined) => {
    const r = rates[name]
    if (r === undefined) return
    const p = median(r)
    rows.push({
      measure: `speed catch-up, ${size}`,
      strata: fmtRate(s),
      value: Math.round(s),
      peer: name,
      peerFigure: fmtRate(p),
      peerValue: Math.round(p),
      ratio: `${(s / p).toFixed(2)}×`,
      ...(target === undefined ? {} : { target: `≥ ${target.toFixed(1)}×`, met: s / p >= target }),
      note: `spread Strata ±${spread(rates[STRATA]!).toFixed(0)}%, peer ±${spread(r).toFixed(0)}%; ${rounds} rounds`,
    })
  }
  const growth = results.length > 1
  peerRow(RAW, growth ? undefined : 0.8)
  for (const g of ['at_least_once', 'exactly_once_v2']) peerRow(STREAMS(g), growth ? undefined : 1.0)
  if (!rates[RAW] && !rates[STREAMS('at_least_once')])
    rows.push({ measure: `speed catch-up, ${size}`, strata: fmtRate(s), value: Math.round(s) })
}
console.log(
  `BENCH_RESULT ${JSON.stringify({
    part: 'speed-catchup',
    params: { events: eventSizes, partitions: partitionSizes, workers: workerSizes, rounds },
    rows,
  })}`,
)
process.exit(0)
