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
//   npm run bench:speed-catchup -- [--events=1000000] [--rounds=3] [--partitions=6]
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../src/core/config-loader.ts'
import { createAdmin, createConsumer } from '../src/log/kafka/index.ts'
import { createSpeedWorker } from '../src/speed/index.ts'
import { openLmdbStore } from '../src/store/lmdb-store.ts'
import { brokers, preloadTopic, runJson, sleep, writeViewConfig } from './lib/kafka-bench.ts'
import { arg, fmtRate, median, spread, table } from './lib/stats.ts'

const events = arg('events', 1_000_000)
const rounds = arg('rounds', 3)
const partitions = arg('partitions', 6)
const peers = join(import.meta.dirname, 'peers')
const streamsJar = join(peers, 'kafka-streams/target/strata-streams-peer.jar')
const LIMIT_MS = 600_000

const admin = createAdmin({ brokers })
const dir = await mkdtemp(join(tmpdir(), 'strata-bench-catchup-'))
console.error(`preloading ${events} events into ${partitions} partitions…`)
const { topic, pageViews, end } = await preloadTopic(admin, events, partitions)
const configPath = await writeViewConfig(dir, topic, partitions)
const config = await loadConfig(configPath)

type Contender = () => Promise<number> // ms from the first record to done
const contenders: Record<string, Contender> = {
  'Kafka consumer alone (Strata’s, no work)': async () => {
    let count = 0
    let first = 0
    let done = 0
    const consumer = createConsumer({
      brokers,
      groupId: `bench-${randomUUID()}`,
      topics: [topic],
      maxWaitMs: 200,
      onAssign: () => {
        if (first === 0) first = performance.now()
        return undefined
      },
      onBatch: (batch) => {
        count += batch.records.length
        if (count >= events && done === 0) done = performance.now()
      },
    })
    await consumer.start()
    const deadline = Date.now() + LIMIT_MS
    while (done === 0 && Date.now() < deadline) await sleep(5)
    await consumer.close()
    if (done === 0) throw new Error(`consumer saw ${count} of ${events}`)
    return done - first
  },
  'Strata speed layer (exactly once)': async () => {
    const storeDir = join(dir, `store-${randomUUID()}`)
    const store = await openLmdbStore(storeDir)
    const worker = createSpeedWorker({ store, config, brokers, groupId: `bench-${randomUUID()}` })
    await worker.start()
    let first = 0
    let done = 0
    const deadline = Date.now() + LIMIT_MS
    while (Date.now() < deadline) {
      const stats = worker.stats().partitions
      if (first === 0 && stats.length > 0) first = performance.now()
      const caughtUp = stats.length === partitions && stats.every((p) => p.consumed >= end[p.partition]!)
      if (caughtUp) {
        done = performance.now()
        break
      }
      await sleep(5)
    }
    const folded = worker.stats().partitions.reduce((s, p) => s + p.folded, 0)
    await worker.close()
    await store.close()
    await rm(storeDir, { recursive: true, force: true })
    if (done === 0) throw new Error(`speed layer did not catch up (folded ${folded})`)
    return done - first
  },
  'kafka-python, dict (baseline)': async () => {
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
    return r.ms
  },
}
for (const guarantee of ['at_least_once', 'exactly_once_v2']) {
  contenders[`Kafka Streams ${guarantee} (Java, 1 thread)`] = async () => {
    const stateDir = join(dir, `streams-${randomUUID()}`)
    const r = await runJson<{ ok: boolean; ms: number; folded: number }>(
      'java',
      ['-jar', streamsJar, brokers, topic, `bench-${randomUUID()}`, guarantee, String(pageViews), stateDir],
      LIMIT_MS,
    )
    if (!r.ok) throw new Error(`Kafka Streams folded ${r.folded} of ${pageViews}`)
    return r.ms
  }
}
if (!existsSync(streamsJar)) {
  console.error(`(no ${streamsJar}: run mvn -q package in bench/peers/kafka-streams; skipping Kafka Streams)`)
  for (const name of Object.keys(contenders)) if (name.startsWith('Kafka Streams')) delete contenders[name]
}

const rates: Record<string, number[]> = {}
try {
  for (let round = 1; round <= rounds; round++) {
    const names = Object.keys(contenders)
    if (round % 2 === 0) names.reverse()
    for (const name of names) {
      const ms = await contenders[name]!()
      rates[name] = [...(rates[name] ?? []), events / (ms / 1000)]
      console.error(`round ${round}: ${name}: ${fmtRate(events / (ms / 1000))} (${Math.round(ms)} ms)`)
    }
  }
} finally {
  await admin.deleteTopic(topic)
  await admin.close()
  await rm(dir, { recursive: true, force: true })
}

const strata = median(rates['Strata speed layer (exactly once)']!)
const rows = Object.entries(rates).map(([name, r]) => [
  name,
  fmtRate(median(r)),
  `±${spread(r).toFixed(0)}%`,
  `${(strata / median(r)).toFixed(2)}×`,
])
console.log(
  `\n${events} events (${pageViews} page views), ${partitions} partitions, ${rounds} rounds; median and spread (max−min)/median\n`,
)
console.log(table(['contender', 'events/s', 'spread', 'Strata ÷ contender'], rows))
process.exit(0)
