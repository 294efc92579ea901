// The producer's encoding of one produce request (prepareRecords, then encodeProduceRequest: what
// sender.ts does per request on the main thread), two checkouts side by side in one process: the
// bench's page-view events (bench/lib/kafka-bench.ts eventAt, string keys and values of ~6 and
// ~64 ASCII characters), --call records a request over 6 partitions, as Strata's producer peer
// sends them. Rounds alternate between the checkouts; the first two are dropped. CPU per record,
// min and median.
//
//   node bench/producer-encode-micro.ts <checkout A> <checkout B> [--call=4000] [--rounds=12] [--reps=50]
import './lib/help.ts' // --help: the comment above, then exit
import { eventAt } from './lib/kafka-bench.ts'
import { arg, median } from './lib/stats.ts'

const checkouts = process.argv.slice(2).filter((x) => !x.startsWith('--'))
if (checkouts.length !== 2) throw new Error('two checkouts: node bench/producer-encode-micro.ts <A> <B>')
const call = arg('call', 4000)
const rounds = arg('rounds', 12)
const reps = arg('reps', 50)

const events = Array.from({ length: call }, (_, i) => eventAt(i, call, Date.now() - 86_400_000))
const contenders = await Promise.all(
  checkouts.map(async (dir) => {
    const { prepareRecords } = await import(`${dir}/src/log/kafka/produce-batch.ts`)
    const { encodeProduceRequest } = await import(`${dir}/src/log/kafka/produce-request.ts`)
    return { dir, prepareRecords, encodeProduceRequest, times: [] as number[], bytes: 0 }
  }),
)

for (let r = 0; r < rounds; r++) {
  for (const c of contenders) {
    const cpu0 = process.cpuUsage()
    for (let k = 0; k < reps; k++) {
      const prepared = c.prepareRecords(
        'events',
        events.map((e) => ({ key: e.key, value: e.value })),
        6,
        0,
      ) as { partition: number }[]
      const byPartition: (typeof prepared)[] = Array.from({ length: 6 }, () => [])
      for (const record of prepared) byPartition[record.partition]!.push(record)
      const body = c.encodeProduceRequest(
        byPartition.map((records, partition) => ({
          topic: 'events',
          partition,
          records,
          producerId: 1n,
          producerEpoch: 0,
          sequence: 0,
        })),
        5000,
      ) as Buffer
      c.bytes = body.length
    }
    const cpu = process.cpuUsage(cpu0)
    if (r >= 2) c.times.push(((cpu.user + cpu.system) * 1000) / (reps * call))
  }
}
for (const c of contenders)
  console.log(
    `${c.dir}: ${Math.min(...c.times).toFixed(0)} ns a record (min), ${median(c.times).toFixed(0)} (median), ${c.bytes} B a request`,
  )
