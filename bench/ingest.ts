// Ingest: POST /events in NDJSON batches (`strata start`, acks=all; `strata worker serve` has no
// ingest route, so the same process also runs the speed layer and archiver on what it ingests),
// beside Strata's Kafka producer writing the same events directly and Kafka's own
// ProducerPerformance (kafka-tools, bench/peers/kafka-tools; acks=all, idempotent, the same
// events as its payload file). In one run, alternating, several rounds; each contender writes
// --events events into a fresh topic of --partitions partitions.
//
//   npm run bench:ingest -- [--events=300000] [--batch=1000] [--concurrency=4] [--rounds=3]
//     [--partitions=6] [--java=1] [--serve=0] [--profile=<dir>]
//
// --partitions takes a list (`--partitions=1,6,12`: the growth table), one run per count;
// --java=0 leaves out ProducerPerformance. --serve=1 adds POST /events on `strata worker serve
// --ingest` (an ingest-only process) as a contender. --profile writes a CPU profile of the `strata start`
// process (node --cpu-prof) into <dir>; read it with `node bench/lib/cpu-profile.ts FILE`.
import { randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAdmin, createProducer } from '../src/log/kafka/index.ts'
import { brokers, eventAt } from './lib/kafka-bench.ts'
import { list, printResult, type ResultRow } from './lib/result.ts'
import { runText } from './lib/run-text.ts'
import { arg, fmtRate, median, spread, table } from './lib/stats.ts'
import { startStrata, waitCaughtUp } from './lib/strata-server.ts'

const events = arg('events', 300_000)
const batch = arg('batch', 1000)
const concurrency = arg('concurrency', 4)
const rounds = arg('rounds', 3)
const partitionCounts = list('partitions', [6])
const withJava = arg('java', 1) === 1
const withServe = arg('serve', 0) === 1
const profileDir = process.argv.find((a) => a.startsWith('--profile='))?.slice(10)
const toolsLib = join(import.meta.dirname, 'peers/kafka-tools/target/lib')
const HTTP = `Strata POST /events (NDJSON × ${batch}, ${concurrency} in flight)`
const CLIENT = 'Strata’s Kafka producer (4000 × 4 in flight)'
const SERVE = `Strata POST /events, ingest only (strata worker serve --ingest; NDJSON × ${batch}, ${concurrency} in flight)`
const JAVA = 'Kafka ProducerPerformance (Java, acks=all)'

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

// POSTs every body, `concurrency` requests in flight; events per second until the last 202.
async function postAll(url: string): Promise<number> {
  let next = 0
  let accepted = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!
        const res = await fetch(`${url}/events`, {
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
}

const admin = createAdmin({ brokers })
const dir = await mkdtemp(join(tmpdir(), 'strata-bench-ingest-'))
const payloads = join(dir, 'events.ndjson')
await writeFile(payloads, bodies.join(''))
const resultRows: ResultRow[] = []
if (withJava && !existsSync(toolsLib))
  console.error(
    `(no ${toolsLib}: run mvn -q package in bench/peers/kafka-tools; skipping ProducerPerformance)`,
  )

for (const partitions of partitionCounts) {
  const httpTopic = `bench-${randomUUID()}`
  await admin.createTopic({ topic: httpTopic, partitions, replicationFactor: 1 })
  const nodeArgs = (name: string) =>
    profileDir
      ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}-${partitions}.cpuprofile`]
      : []
  const server = await startStrata(httpTopic, partitions, {
    extra: ['--batch-interval', '1h'],
    nodeArgs: nodeArgs('start'),
  })
  const servers = [server]
  const topics = [httpTopic]
  // --serve=1: the same POST /events on `strata worker serve --ingest`, an ingest-only process
  // (no speed layer or archiver folding and archiving what it ingests), on a topic of its own.
  let ingestOnly: typeof server | undefined
  if (withServe) {
    const serveTopic = `bench-${randomUUID()}`
    await admin.createTopic({ topic: serveTopic, partitions, replicationFactor: 1 })
    topics.push(serveTopic)
    ingestOnly = await startStrata(serveTopic, partitions, {
      command: ['worker', 'serve'],
      extra: ['--ingest'],
      nodeArgs: nodeArgs('serve'),
    })
    servers.push(ingestOnly)
  }
  const freshTopic = async (): Promise<string> => {
    const topic = `bench-${randomUUID()}`
    await admin.createTopic({ topic, partitions, replicationFactor: 1 })
    topics.push(topic)
    return topic
  }

  const contenders: Record<string, () => Promise<number>> = {
    // The rate is taken at the last 202; then the speed layer of `strata start` is let catch up,
    // so its folding of these events does not run during (and slow) the next contender.
    [HTTP]: async () => {
      const rate = await postAll(server.url)
      await waitCaughtUp(server.url)
      return rate
    },
    [CLIENT]: async () => {
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
  if (ingestOnly) contenders[SERVE] = () => postAll(ingestOnly.url)
  if (withJava && existsSync(toolsLib)) {
    contenders[JAVA] = async () => {
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
  }

  const rates: Record<string, number[]> = {}
  try {
    for (let round = 1; round <= rounds; round++) {
      const names = Object.keys(contenders)
      if (round % 2 === 0) names.reverse()
      for (const name of names) {
        const rate = await contenders[name]!()
        rates[name] = [...(rates[name] ?? []), rate]
        console.error(`${partitions} partitions, round ${round}: ${name}: ${fmtRate(rate)}`)
      }
    }
  } finally {
    for (const s of servers) await s.stop()
    for (const topic of topics) await admin.deleteTopic(topic)
  }
  const client = median(rates[CLIENT]!)
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
  const http = median(rates[HTTP]!)
  resultRows.push({
    measure: `ingest, POST /events, ${partitions} partition${partitions === 1 ? '' : 's'}`,
    strata: fmtRate(http),
    value: http,
    peer: 'Strata’s Kafka producer directly',
    peerFigure: fmtRate(client),
    peerValue: client,
    ratio: `${(http / client).toFixed(2)}×`,
    target: '≥ 0.5×',
    met: http / client >= 0.5,
    note: `spread ±${spread(rates[HTTP]!).toFixed(0)}% vs ±${spread(rates[CLIENT]!).toFixed(0)}%`,
  })
  if (rates[SERVE]) {
    const serve = median(rates[SERVE])
    resultRows.push({
      measure: `ingest, POST /events on an ingest-only process (strata worker serve --ingest), ${partitions} partition${partitions === 1 ? '' : 's'}`,
      strata: fmtRate(serve),
      value: serve,
      peer: 'Strata’s Kafka producer directly',
      peerFigure: fmtRate(client),
      peerValue: client,
      ratio: `${(serve / client).toFixed(2)}×`,
      target: '≥ 0.5×',
      met: serve / client >= 0.5,
      note: `spread ±${spread(rates[SERVE]).toFixed(0)}%; no speed layer or archiver in the process`,
    })
  }
  if (rates[JAVA]) {
    const java = median(rates[JAVA])
    resultRows.push({
      measure: `ingest, Strata’s producer vs ProducerPerformance, ${partitions} partitions`,
      strata: fmtRate(client),
      value: client,
      peer: 'Kafka ProducerPerformance (Java, acks=all)',
      peerFigure: fmtRate(java),
      peerValue: java,
      ratio: `${(client / java).toFixed(2)}×`,
      note: 'no target: the client against the JVM producer',
    })
  }
}
await admin.close()
await rm(dir, { recursive: true, force: true })
printResult({
  part: 'ingest',
  rows: resultRows,
  params: { events, batch, concurrency, rounds, partitions: partitionCounts },
})
process.exit(0)
