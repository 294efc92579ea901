// The main thread's work per Kafka fetch before a batch goes to a fold thread, two checkouts side
// by side in one process (session 17, decision 0011): parse the Fetch answer out of the
// connection's chunks, decode each partition's record set as spans, and make the batch the thread
// is sent (a checkout with `takeSpans` takes the record set's own copy; one without copies the
// spans into a pool buffer with `packSpans`). Rounds alternate between the checkouts; the first
// two are dropped. CPU per record, min and median.
//
//   node bench/fetch-copy-micro.ts <checkout A> <checkout B> [--partitions=6] [--records=20000] [--rounds=12] [--chunk=65536]
import './lib/help.ts' // --help: the comment above, then exit
import { chunksOf, fetchAnswer, readerOf } from '../test/log/kafka/fetch-answer.ts'
import { arg } from './lib/stats.ts'

const [a, b] = process.argv.slice(2).filter((x) => !x.startsWith('--'))
if (!a || !b) throw new Error('two checkouts: node bench/fetch-copy-micro.ts <A> <B>')
const partitions = arg('partitions', 6)
const perPartition = arg('records', 20_000)
const rounds = arg('rounds', 12)
const chunk = arg('chunk', 65_536)

const { batchBytes } = await import(`${a}/test/log/kafka/record-batches.ts`)

// One Fetch v17 answer (test/log/kafka/fetch-answer.ts): one topic, `partitions` record sets of
// page views (batches of 500), in chunks as a connection holds them, read again each run.
const recordSets = Array.from({ length: partitions }, () => {
  const sets: Buffer[] = []
  for (let base = 0; base < perPartition; base += 500)
    sets.push(
      batchBytes({
        base,
        values: Array.from({ length: 500 }, (_, i) =>
          JSON.stringify({
            type: 'page_view',
            user: `u${(base + i) % 997}`,
            url: `/p/${(base + i) % 10_000}`,
            ts: 1_700_000_000_000 + base + i,
          }),
        ),
      }),
    )
  return Buffer.concat(sets)
})
const chunks = chunksOf(fetchAnswer(recordSets), chunk)
const reader = () => readerOf(chunks)

async function checkout(dir: string) {
  const fetcher = await import(`${dir}/src/log/kafka/fetcher.ts`)
  const buffers = await import(`${dir}/src/speed/batch-buffers.ts`)
  const pool = new buffers.BatchBuffers()
  // The record sets copied into the pool's buffers where the checkout can (ownedParser), as the
  // speed worker does; into new ones with parseFetchResponseOwned alone; else platformatic's slice.
  const parse = fetcher.ownedParser
    ? fetcher.ownedParser((_p: number, bytes: number) => pool.take(bytes))
    : (fetcher.parseFetchResponseOwned ?? fetcher.parseFetchResponse)
  const make = buffers.takeSpans ?? buffers.packSpans
  return {
    dir,
    kind: fetcher.ownedParser
      ? 'pooled record sets, takeSpans'
      : buffers.takeSpans
        ? 'takeSpans'
        : 'packSpans',
    run(): number {
      const response = parse(0, 1, 17, reader())
      let n = 0
      for (const p of response.responses[0].partitions) {
        const batch = fetcher.spannedBatch ? fetcher.spannedBatch('t', p, 0) : undefined
        // A checkout that does not export spannedBatch: the same decode (record-spans.ts).
        const spans = batch?.spans ?? decodeSpans(p)
        const packed = make(spans, pool)
        n += packed.offsets.length
        // The batch's buffer comes back for reuse (after its window's drop, in the catch-up).
        pool.give(packed.buffer)
      }
      return n
    },
  }
}

const { decodeRecordSpans } = await import(`${a}/src/log/kafka/record-spans.ts`)
function decodeSpans(p: { partitionIndex: number; records: Buffer }) {
  return decodeRecordSpans('t', p.partitionIndex, p.records, 0, null).spans
}

const sides = [await checkout(a), await checkout(b)]
const times: number[][] = [[], []]
for (let round = 0; round < rounds; round++) {
  for (const s of round % 2 === 0 ? [0, 1] : [1, 0]) {
    const cpu = process.cpuUsage()
    let n = 0
    for (let i = 0; i < 5; i++) n += sides[s]!.run()
    const used = process.cpuUsage(cpu)
    if (round >= 2) times[s]!.push((used.user + used.system) / n)
  }
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!
for (let s = 0; s < 2; s++)
  console.log(
    `${sides[s]!.dir} (${sides[s]!.kind}): min ${Math.min(...times[s]!).toFixed(3)} / median ${median(times[s]!).toFixed(3)} µs CPU per record`,
  )
