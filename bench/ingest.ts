// Ingest: POST /events in NDJSON batches (`strata start`, acks=all; `strata worker serve` has no
// ingest route, so the same process also runs the speed layer and archiver on what it ingests),
// beside Strata's Kafka producer writing the same events directly and Kafka's own
// ProducerPerformance (kafka-tools, bench/peers/kafka-tools; acks=all, idempotent, the same
// events as its payload file). In one run, alternating, several rounds; each contender writes
// --events events into a fresh topic of 6 partitions.
//
//   npm run bench:ingest -- [--events=300000] [--batch=1000] [--concurrency=4] [--rounds=3]
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAdmin, createProducer } from '../src/log/kafka/index.ts'
import { brokers, eventAt } from './lib/kafka-bench.ts'
import { runText } from './lib/run-text.ts'
import { arg, fmtRate, median, spread, table } from './lib/stats.ts'
import { startStrata } from './lib/strata-server.ts'

const events = arg('events', 300_000)
const batch = arg('batch', 1000)
const concurrency = arg('concurrency', 4)
const rounds = arg('rounds', 3)
const partitions = 6
const toolsLib = join(import.meta.dirname, 'peers/kafka-tools/target/lib')

const base = Date.now()
const lines = Array.from({ length: events }, (_, i) => eventAt(i, events, base))
const bodies: string[] = []
for (let i = 0; i < events; i += batch)
  bodies.push(
    `${lines
      .slice(i, i + batch)
      .map((e) => e.value)
      .join('\n')}\n`,
  )

const admin = createAdmin({ brokers })
const dir = await mkdtemp(join(tmpdir(), 'strata-bench-ingest-'))
const payloads = join(dir, 'events.ndjson')
await writeFile(payloads, bodies.join(''))
const httpTopic = `bench-${randomUUID()}`
await admin.createTopic({ topic: httpTopic, partitions, replicationFactor: 1 })
const server = await startStrata(httpTopic, partitions, ['--batch-interval', '1h'])
const topics = [httpTopic]
async function freshTopic(): Promise<string> {
  const topic = `bench-${randomUUID()}`
  await admin.createTopic({ topic, partitions, replicationFactor: 1 })
  topics.push(topic)
  return topic
}

const contenders: Record<string, () => Promise<number>> = {
  [`Strata POST /events (NDJSON × ${batch}, ${concurrency} in flight)`]: async () => {
    let next = 0
    let accepted = 0
    const started = performance.now()
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < bodies.length) {
          const body = bodies[next++]!
          const res = await fetch(`${server.url}/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-ndjson' },
            body,
          })
          if (res.status !== 202) throw new Error(`POST /events ${res.status}: ${await res.text()}`)
          await res.arrayBuffer()
          accepted += body.split('\n').length - 1
        }
      }),
    )
    if (accepted !== events) throw new Error(`accepted ${accepted} of ${events}`)
    return events / ((performance.now() - started) / 1000)
  },
  'Strata’s Kafka producer (4000 × 4 in flight)': async () => {
    const topic = await freshTopic()
    const producer = createProducer({ brokers, clientId: 'bench-ingest' })
    await producer.partitionsFor(topic)
    const started = performance.now()
    const pending: Promise<unknown>[] = []
    for (let i = 0; i < events; i += 4000) {
      pending.push(
        producer.send(
          topic,
          lines.slice(i, i + 4000).map((e) => ({ key: e.key, value: e.value })),
        ),
      )
      if (pending.length >= 4) await pending.shift()
    }
    await Promise.all(pending)
    const rate = events / ((performance.now() - started) / 1000)
    await producer.close()
    return rate
  },
}
if (existsSync(toolsLib)) {
  contenders['Kafka ProducerPerformance (Java, acks=all)'] = async () => {
    const topic = await freshTopic()
    const out = await runText(
      'java',
      [
        '-cp',
        `${toolsLib}/*`,
        'org.apache.kafka.tools.ProducerPerformance',
        '--topic',
        topic,
        '--num-records',
        String(events),
        '--throughput',
        '-1',
        '--payload-file',
        payloads,
        '--payload-delimiter',
        '\n',
        '--producer-props',
        `bootstrap.servers=${brokers}`,
        'acks=all',
        'enable.idempotence=true',
      ],
      300_000,
    )
    const m = out.match(/(\d+) records sent, ([\d.]+) records\/sec/)
    if (!m) throw new Error(`no rate in ProducerPerformance output: ${out.slice(-1000)}`)
    return Number(m[2])
  }
} else
  console.error(
    `(no ${toolsLib}: run mvn -q package in bench/peers/kafka-tools; skipping ProducerPerformance)`,
  )

const rates: Record<string, number[]> = {}
try {
  for (let round = 1; round <= rounds; round++) {
    const names = Object.keys(contenders)
    if (round % 2 === 0) names.reverse()
    for (const name of names) {
      const rate = await contenders[name]!()
      rates[name] = [...(rates[name] ?? []), rate]
      console.error(`round ${round}: ${name}: ${fmtRate(rate)}`)
    }
  }
} finally {
  await server.stop()
  for (const topic of topics) await admin.deleteTopic(topic)
  await admin.close()
  await rm(dir, { recursive: true, force: true })
}
const client = median(rates['Strata’s Kafka producer (4000 × 4 in flight)']!)
const rows = Object.entries(rates).map(([name, r]) => [
  name,
  fmtRate(median(r)),
  `±${spread(r).toFixed(0)}%`,
  `${(median(r) / client).toFixed(2)}×`,
])
console.log(
  `\n${events} events of ~${Math.round(lines[0]!.value.length)} B, ${partitions} partitions, ${rounds} rounds; median and spread\n`,
)
console.log(table(['contender', 'events/s', 'spread', 'vs the client'], rows))
process.exit(0)
