// Freshness: at a steady produce rate, the time from the produce call to the event being visible
// in a GET /views/pageviews_by_url/:key answer (p50, p99), beside Kafka's own end-to-end latency
// on the same broker: the produce call to the record arriving at a consumer (Strata's Kafka
// consumer, in this process). In one run, alternating, several rounds.
//
// The workload is the same for both: background page views at --rate events/s (batches every
// 10 ms) and a probe every 100 ms, a page view of a url of its own, sent alone. Strata: each
// probe's key is polled every 2 ms from the produce call until its count shows (the probes are
// sequential, so at most one poller runs). Kafka: the consumer notes when each probe arrives.
//
//   npm run bench:freshness -- [--rate=2000] [--seconds=20] [--rounds=3] [--slices=4]
//     [--baseline=<checkout>[,…]] [--variant-node-args="<node flags>"]
//
// --slices=4 (default): each round gives every contender its --seconds as 4 slices, interleaved
// (slice 1 of each, then slice 2 of each, the order rotated a place each slice), each slice's
// background traffic running 500 ms before its first probe; a round's probes are pooled over its
// slices. So a stall of the 2-core machine falls on every contender alike. The Kafka consumer is
// started once, before the rounds. --slices=1: each contender's round is one run, the order
// reversed every other round (before session 18).
//
// --baseline adds `strata start` of another build (e.g. `git archive` of a commit, with
// node_modules linked) on a topic of its own, a contender in every round: before/after in one run.
import './lib/help.ts' // --help: the comment above, then exit
import { randomUUID } from 'node:crypto'
import { openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { createAdmin, createConsumer, createProducer, type KafkaProducer } from '../src/log/kafka/index.ts'
import { brokers, sleep } from './lib/kafka-bench.ts'
import { sliceOrder } from './lib/paced.ts'
import { ms, printResult } from './lib/result.ts'
import { arg, median, table } from './lib/stats.ts'
import { startStrata } from './lib/strata-server.ts'

// TEMPORARY (session 19): probes traced beside the speed layer's STRATA_FRESH_TRACE.
let lastAsked = 0
let prevAnswered = 0
const traceFd = process.env.STRATA_FRESH_TRACE ? openSync(process.env.STRATA_FRESH_TRACE, 'a') : -1
const rate = arg('rate', 2000)
const seconds = arg('seconds', 20)
const rounds = arg('rounds', 3)
const slices = Math.max(1, arg('slices', 4))
const LEAD_IN_MS = 500
const partitions = 6
const PROBE_EVERY_MS = 100

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!
}
const event = (url: string) =>
  JSON.stringify({ type: 'page_view', url, user: `u${Math.floor(Math.random() * 1e5)}`, ts: Date.now() })

/** Background traffic at `rate` until stopped; returns the stop function. */
function background(producer: KafkaProducer, topic: string): () => Promise<void> {
  let running = true
  const perTick = Math.max(1, Math.round(rate / 100))
  const loop = (async () => {
    let next = performance.now()
    while (running) {
      const records = Array.from({ length: perTick }, () => {
        const url = `/p/${Math.floor(Math.random() * 10_000)}`
        return { key: url, value: event(url) }
      })
      producer.send(topic, records).catch(() => {})
      next += 10
      await sleep(Math.max(0, next - performance.now()))
    }
  })()
  return async () => {
    running = false
    await loop
  }
}

/** Sends probes every 100 ms for `seconds`; `visible(url, sentAt)` resolves when it is seen. */
async function probes(
  producer: KafkaProducer,
  topic: string,
  visible: (url: string) => Promise<number>,
  secs: number,
): Promise<number[]> {
  const latencies: number[] = []
  const end = performance.now() + secs * 1000
  while (performance.now() < end) {
    const started = performance.now()
    const url = `/probe/${randomUUID()}`
    const seen = visible(url)
    const sentAt = performance.now()
    const [pos] = await producer.send(topic, [{ key: url, value: event(url) }])
    const ackAt = performance.now()
    const seenAt = await seen
    latencies.push(seenAt - sentAt)
    if (traceFd >= 0) {
      const o = performance.timeOrigin
      writeSync(
        traceFd,
        `${JSON.stringify({ e: 'probe', topic, p: pos?.partition, off: pos?.offset, sent: o + sentAt, ack: o + ackAt, seen: o + seenAt, asked: o + lastAsked, prev: o + prevAnswered })}\n`,
      )
    }
    await sleep(Math.max(0, PROBE_EVERY_MS - (performance.now() - started)))
  }
  return latencies
}

const admin = createAdmin({ brokers })
const strataTopic = `bench-${randomUUID()}`
const kafkaTopic = `bench-${randomUUID()}`
await admin.createTopic({ topic: strataTopic, partitions, replicationFactor: 1 })
await admin.createTopic({ topic: kafkaTopic, partitions, replicationFactor: 1 })
const producer = createProducer({ brokers, clientId: 'bench-freshness' })
const STRATA = 'Strata: produce → visible in GET /views/:view/:key'
const baselineDirs = (process.argv.find((a) => a.startsWith('--baseline='))?.slice(11) ?? '')
  .split(',')
  .filter((d) => d !== '')
const server = await startStrata(strataTopic, partitions)
const servers = [{ name: STRATA, topic: strataTopic, server }]
// --variant-node-args="<flags>": this build again, its process started with these node flags (e.g.
// `--max-semi-space-size=4`), a contender of its own: a V8 setting A/B'd in one run.
const variantArgs = (process.argv.find((a) => a.startsWith('--variant-node-args='))?.slice(20) ?? '')
  .split(' ')
  .filter((a) => a !== '')
if (variantArgs.length > 0) {
  const topic = `bench-${randomUUID()}`
  await admin.createTopic({ topic, partitions, replicationFactor: 1 })
  servers.push({
    name: `${STRATA}, node ${variantArgs.join(' ')}`,
    topic,
    server: await startStrata(topic, partitions, { nodeArgs: variantArgs }),
  })
}
for (const dir of baselineDirs) {
  const topic = `bench-${randomUUID()}`
  await admin.createTopic({ topic, partitions, replicationFactor: 1 })
  const name = `${STRATA}, build ${dir.replace(/\/+$/, '').split('/').at(-1)}`
  servers.push({
    name,
    topic,
    server: await startStrata(topic, partitions, { bin: join(dir, 'bin/strata.js') }),
  })
}
const results: Record<string, { p50: number[]; p99: number[]; n: number; all: number[] }> = {}
// Warm-up, not measured: the speed layer owns its partitions once a first event shows.
for (const { topic, server } of servers) {
  await producer.send(topic, [{ key: '/warm-up', value: event('/warm-up') }])
  for (let i = 0; i < 3000; i++) {
    const body = (await (await fetch(`${server.url}/views/pageviews_by_url/%2Fwarm-up`)).json()) as {
      windows?: unknown[]
    }
    if (body.windows && body.windows.length > 0) break
    await sleep(10)
  }
}

const strataContender = (server: { url: string }, strataTopic: string) => async (secs: number) => {
  const stop = background(producer, strataTopic)
  try {
    await sleep(LEAD_IN_MS)
    return await probes(
      producer,
      strataTopic,
      async (url) => {
        const path = `${server.url}/views/pageviews_by_url/${encodeURIComponent(url)}`
        const deadline = performance.now() + 10_000
        while (performance.now() < deadline) {
          const asked = performance.now()
          const body = (await (await fetch(path)).json()) as { windows?: unknown[] }
          if (body.windows && body.windows.length > 0) {
            lastAsked = asked
            return performance.now()
          }
          prevAnswered = performance.now()
          await sleep(2)
        }
        throw new Error(`probe ${url} not visible after 10 s`)
      },
      secs,
    )
  } finally {
    await stop()
  }
}

// The Kafka contender's consumer, started once: its fetch loop runs before the first probe.
const waiting = new Map<string, (at: number) => void>()
const consumer = createConsumer({
  brokers,
  groupId: `bench-${randomUUID()}`,
  topics: [kafkaTopic],
  maxWaitMs: 100,
  onBatch: (batch) => {
    const at = performance.now()
    for (const r of batch.records) {
      const key = r.key?.toString()
      if (key?.startsWith('/probe/')) waiting.get(key)?.(at)
    }
  },
})
await consumer.start()
await sleep(1000)

const contenders: Record<string, (secs: number) => Promise<number[]>> = {
  ...Object.fromEntries(servers.map(({ name, topic, server }) => [name, strataContender(server, topic)])),
  'Kafka: produce → consumed (Strata’s consumer)': async (secs) => {
    const stop = background(producer, kafkaTopic)
    try {
      await sleep(LEAD_IN_MS)
      return await probes(
        producer,
        kafkaTopic,
        (url) =>
          Promise.race([
            new Promise<number>((resolve) => waiting.set(url, resolve)),
            sleep(10_000).then(() => Promise.reject(new Error(`probe ${url} not consumed after 10 s`))),
          ]),
        secs,
      )
    } finally {
      await stop()
    }
  },
}

try {
  const names = Object.keys(contenders)
  for (let round = 1; round <= rounds; round++) {
    const got: Record<string, number[]> = {}
    for (let slice = 0; slice < slices; slice++) {
      const order = sliceOrder(names, round, slice, slices)
      for (const name of order) {
        got[name] ??= []
        got[name]!.push(...(await contenders[name]!(seconds / slices)))
      }
    }
    for (const name of names) {
      const l = got[name]!
      const r = results[name] ?? { p50: [], p99: [], n: 0, all: [] }
      results[name] = r
      r.all.push(...l)
      r.p50.push(pct(l, 50))
      r.p99.push(pct(l, 99))
      r.n += l.length
      console.error(
        `round ${round} ${name}: ${l.length} probes, p50 ${pct(l, 50).toFixed(1)} ms, p99 ${pct(l, 99).toFixed(1)} ms`,
      )
    }
  }
} finally {
  await consumer.close()
  await producer.close()
  for (const { server, topic } of servers) {
    await server.stop()
    await admin.deleteTopic(topic)
  }
  await admin.deleteTopic(kafkaTopic)
  await admin.close()
}
const kafkaP99 = median(results['Kafka: produce → consumed (Strata’s consumer)']!.p99)
const rows = Object.entries(results).map(([name, r]) => [
  name,
  r.n,
  `${median(r.p50).toFixed(1)} (${Math.min(...r.p50).toFixed(1)}–${Math.max(...r.p50).toFixed(1)})`,
  `${median(r.p99).toFixed(1)} (${Math.min(...r.p99).toFixed(1)}–${Math.max(...r.p99).toFixed(1)})`,
  `${(median(r.p99) - kafkaP99).toFixed(1)} ms`,
])
console.log(
  `\n${rate} events/s background, a probe every ${PROBE_EVERY_MS} ms, ${seconds} s × ${rounds} rounds in ${slices} interleaved slices; median of rounds (min–max)\n`,
)
console.log(table(['path', 'probes', 'p50 ms', 'p99 ms', 'p99 − Kafka p99'], rows))
// Every round's probes together: with ~100–200 probes a round, a round's p99 is its second or
// third largest sample, and one stall moves it; the pooled tail says more in before/after runs.
console.log(
  `\n${table(
    ['path (all rounds pooled)', 'p90 ms', 'p95 ms', 'p99 ms', 'probes > 50 ms'],
    Object.entries(results).map(([name, r]) => [
      name,
      pct(r.all, 90).toFixed(1),
      pct(r.all, 95).toFixed(1),
      pct(r.all, 99).toFixed(1),
      r.all.filter((l) => l > 50).length,
    ]),
  )}`,
)
const strata = results[STRATA]!
const over = median(strata.p99) - kafkaP99
printResult({
  part: 'freshness',
  rows: [
    {
      measure: `freshness p99, produce → visible in GET /views, ${rate.toLocaleString('en')} events/s background`,
      strata: `${ms(median(strata.p99))} ms`,
      value: median(strata.p99),
      peer: 'Kafka produce → consume p99',
      peerFigure: `${ms(kafkaP99)} ms`,
      peerValue: kafkaP99,
      ratio: `+${ms(over)} ms`,
      target: '≤ Kafka p99 + 50 ms',
      met: over <= 50,
      note: `p50 ${ms(median(strata.p50))} ms vs ${ms(median(results['Kafka: produce → consumed (Strata’s consumer)']!.p50))} ms; ${strata.n} probes`,
    },
  ],
  params: { rate, seconds, rounds },
})
process.exit(0)
