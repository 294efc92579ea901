// The Kafka client decision (docs/decisions/0001-kafka-client.md): raw produce and consume rates on
// the local broker, same workload for every client, alternating clients round by round, median.
//
//   node bench/kafka-clients.ts [--records 200000] [--size 200] [--partitions 6] [--rounds 3]
//   (npm run bench:clients) — env STRATA_BROKERS (default 127.0.0.1:9092), CKJS_DIR (default /tmp/ckjs)
//
// Produce: keyed records (murmur2), acks=all, idempotent, no compression; each client used the
// way its docs recommend for throughput. Consume: a fresh group reads the topic from the earliest
// offset to the end; the rate counts from the moment partitions are assigned to the last record
// (group join excluded: it depends on group timers, not on the client's speed).
// @confluentinc/kafka-javascript is loaded from a scratch install outside the repo, if present.
import './lib/help.ts' // --help: the comment above, then exit
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'
import { Consumer, Producer } from '@platformatic/kafka'
import { createAdmin, createConsumer, createProducer, partitionForKey } from '../src/log/kafka/index.ts'

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    size: { type: 'string', default: '200' },
    partitions: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '3' },
  },
})
const N = Number(args.records)
const SIZE = Number(args.size)
const PARTITIONS = Number(args.partitions)
const ROUNDS = Number(args.rounds)
const brokers = process.env.STRATA_BROKERS ?? '127.0.0.1:9092'
const ckjsDir = process.env.CKJS_DIR ?? '/tmp/ckjs'

// ~SIZE-byte JSON events keyed by user, as the ingest path produces them.
const keys = Array.from({ length: N }, (_, i) => Buffer.from(`user-${(i * 7919) % 10_000}`))
const values = Array.from({ length: N }, (_, i) => {
  const base = `{"type":"page_view","url":"/page/${i % 500}","user":"user-${(i * 7919) % 10_000}","ts":${1_700_000_000_000 + i},"pad":""}`
  return Buffer.from(base.replace('"pad":""', `"pad":"${'x'.repeat(Math.max(0, SIZE - base.length))}"`))
})

let ck: any
try {
  ck = createRequire(`${ckjsDir}/package.json`)('@confluentinc/kafka-javascript')
} catch {
  console.log(`(no @confluentinc/kafka-javascript in ${ckjsDir}: measuring platformatic only)`)
}

type Run = (topic: string) => Promise<number> // returns records/s
const admin = createAdmin({ brokers })

const produceRuns: Record<string, Run> = {
  // platformatic: batches of 4000 (~0.8 MB, under message.max.bytes), up to 4 sends pending
  // (they queue on the connection: an idempotent producer allows one request in flight).
  async 'platformatic raw'(topic) {
    const producer = new Producer({ clientId: 'bench', bootstrapBrokers: [brokers], idempotent: true })
    await producer.metadata({ topics: [topic] })
    const start = performance.now()
    const pending = []
    for (let i = 0; i < N; i += 4000) {
      const messages = []
      for (let j = i; j < Math.min(N, i + 4000); j++) messages.push({ topic, key: keys[j], value: values[j] })
      pending.push(producer.send({ messages, partitioner: murmur2Partitioner }))
      if (pending.length >= 4) await pending.shift()
    }
    await Promise.all(pending)
    const rate = N / ((performance.now() - start) / 1000)
    await producer.close()
    return rate
  },
  // Strata's producer (platformatic underneath): the same batches through send(), which adds
  // our partitioner, per-record offsets and request coalescing.
  async 'strata producer'(topic) {
    const producer = createProducer({ brokers, clientId: 'bench' })
    await producer.partitionsFor(topic)
    const start = performance.now()
    const pending = []
    for (let i = 0; i < N; i += 4000) {
      const records = []
      for (let j = i; j < Math.min(N, i + 4000); j++) records.push({ key: keys[j]!, value: values[j]! })
      pending.push(producer.send(topic, records))
      if (pending.length >= 4) await pending.shift()
    }
    await Promise.all(pending)
    const rate = N / ((performance.now() - start) / 1000)
    await producer.close()
    return rate
  },
}

const consumeRuns: Record<string, Run> = {
  async 'platformatic raw'(topic) {
    const consumer = new Consumer({
      clientId: 'bench',
      groupId: `bench-${randomUUID()}`,
      bootstrapBrokers: [brokers],
    })
    const stream = await consumer.consume({
      topics: [topic],
      mode: 'earliest',
      autocommit: false,
      maxWaitTime: 200,
    })
    const assigned = performance.now()
    let count = 0
    let first = 0
    await new Promise<void>((resolve) => {
      stream.on('data', () => {
        if (count++ === 0) first = performance.now()
        if (count === N) resolve()
      })
    })
    const rate = consumeRate(assigned, first)
    await stream.close()
    await consumer.close(true)
    return rate
  },
  async 'strata consumer'(topic) {
    let count = 0
    let first = 0
    let done: () => void
    const finished = new Promise<void>((resolve) => {
      done = resolve
    })
    const consumer = createConsumer({
      brokers,
      groupId: `bench-${randomUUID()}`,
      topics: [topic],
      maxWaitMs: 200,
      onBatch: (batch) => {
        if (count === 0) first = performance.now()
        count += batch.records.length
        if (count >= N) done()
      },
    })
    await consumer.start()
    const assigned = performance.now()
    await finished
    const rate = consumeRate(assigned, first)
    await consumer.close()
    return rate
  },
}

// Records/s from the moment partitions are assigned to the last record; also notes how long the
// first record took (offset lookup and the first fetch), which a short run cannot hide.
const firstRecordMs: Record<string, number[]> = {}
let currentRun = ''
function consumeRate(assigned: number, first: number): number {
  const now = performance.now()
  firstRecordMs[currentRun] = [...(firstRecordMs[currentRun] ?? []), first - assigned]
  return N / ((now - assigned) / 1000)
}

if (ck) {
  const rdVersion = ck.librdkafkaVersion
  produceRuns[`confluent (librdkafka ${rdVersion})`] = async (topic) => {
    const producer = new ck.Producer({
      'metadata.broker.list': brokers,
      'enable.idempotence': true,
      acks: 'all',
      'linger.ms': 5,
      partitioner: 'murmur2_random',
      dr_cb: true,
    })
    await new Promise((resolve, reject) =>
      producer.connect({}, (e: Error) => (e ? reject(e) : resolve(null))),
    )
    producer.setPollInterval(5)
    let delivered = 0
    let failed: Error | undefined
    const allDelivered = new Promise<void>((resolve) => {
      producer.on('delivery-report', (error: Error | null) => {
        if (error) failed = error
        if (++delivered === N) resolve()
      })
    })
    const start = performance.now()
    for (let i = 0; i < N; ) {
      try {
        producer.produce(topic, null, values[i], keys[i])
        i++
      } catch (error) {
        if ((error as { code?: number }).code !== ck.CODES.ERRORS.ERR__QUEUE_FULL) throw error
        await new Promise((resolve) => setTimeout(resolve, 1))
      }
    }
    await allDelivered
    const rate = N / ((performance.now() - start) / 1000)
    if (failed) throw failed
    await new Promise((resolve) => producer.disconnect(resolve))
    return rate
  }
  consumeRuns[`confluent (librdkafka ${rdVersion})`] = async (topic) => {
    let assigned = 0
    const consumer = new ck.KafkaConsumer(
      {
        'group.id': `bench-${randomUUID()}`,
        'metadata.broker.list': brokers,
        'enable.auto.commit': false,
        // Bigger fetches and a deeper prefetch queue than librdkafka's defaults (1 MiB per
        // partition): measured about 1.6x the default rate here, so the comparison is fair.
        'max.partition.fetch.bytes': 8 * 1024 * 1024,
        'queued.min.messages': 1_000_000,
        // Our own rebalance callback only to note when the partitions are assigned.
        rebalance_cb(this: any, error: { code: number }, assignment: unknown) {
          if (error.code === ck.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
            assigned = performance.now()
            this.assign(assignment)
          } else {
            this.unassign()
          }
        },
      },
      { 'auto.offset.reset': 'earliest' },
    )
    await new Promise((resolve, reject) =>
      consumer.connect({}, (e: Error) => (e ? reject(e) : resolve(null))),
    )
    consumer.subscribe([topic])
    let count = 0
    let first = 0
    while (count < N) {
      const messages: unknown[] = await new Promise((resolve, reject) =>
        consumer.consume(10_000, (e: Error, m: unknown[]) => (e ? reject(e) : resolve(m))),
      )
      if (messages.length > 0 && count === 0) first = performance.now()
      count += messages.length
    }
    const rate = consumeRate(assigned, first)
    await new Promise((resolve) => consumer.disconnect(resolve))
    return rate
  }
}

// Kafka's murmur2 placement for the raw client too, so every client writes the same partitions.
function murmur2Partitioner(_message: unknown, key: Buffer | undefined): number {
  return partitionForKey(key!, PARTITIONS)
}

const record = (into: Record<string, number[]>, name: string, rate: number) => {
  into[name] = [...(into[name] ?? []), rate]
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const fmt = (x: number) => `${Math.round(x / 1000)} k/s`

const results = { produce: {} as Record<string, number[]>, consume: {} as Record<string, number[]> }
const platformaticVersion = JSON.parse(
  readFileSync(new URL('../node_modules/@platformatic/kafka/package.json', import.meta.url), 'utf8'),
).version
console.log(
  `Node ${process.version}; @platformatic/kafka ${platformaticVersion}` +
    (ck ? `; @confluentinc/kafka-javascript with librdkafka ${ck.librdkafkaVersion}` : '') +
    `\n${N} records of ${values[0]!.length} B, ${PARTITIONS} partitions, ${ROUNDS} rounds, broker ${brokers}`,
)
try {
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate the order each round so neither client always runs on a warmer broker.
    const names = Object.keys(produceRuns)
    if (round % 2 === 0) names.reverse()
    for (const name of names) {
      const topic = `bench-${randomUUID()}`
      await admin.createTopic({ topic, partitions: PARTITIONS, replicationFactor: 1 })
      try {
        const produced = await produceRuns[name]!(topic)
        record(results.produce, name, produced)
        const consumers = Object.keys(consumeRuns)
        if (round % 2 === 0) consumers.reverse()
        for (const consumerName of consumers) {
          currentRun = consumerName
          const consumed = await consumeRuns[consumerName]!(topic)
          record(results.consume, consumerName, consumed)
        }
        console.log(
          `round ${round} ${name}: produce ${fmt(produced)}; consume ` +
            consumers.map((c) => `${c} ${fmt(results.consume[c]!.at(-1)!)}`).join(', '),
        )
      } finally {
        await admin.deleteTopic(topic)
      }
    }
  }
} finally {
  await admin.close()
}
for (const kind of ['produce', 'consume'] as const) {
  console.log(`\n| ${kind} | median | runs |\n|---|---|---|`)
  for (const [name, runs] of Object.entries(results[kind])) {
    const firsts = firstRecordMs[name]
    const note = kind === 'consume' && firsts ? ` (first record after ${Math.round(median(firsts))} ms)` : ''
    console.log(`| ${name} | ${fmt(median(runs))}${note} | ${runs.map(fmt).join(', ')} |`)
  }
}
process.exit(0)
