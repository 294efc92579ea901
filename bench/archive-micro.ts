// The archiver thread's work per event alone (no Kafka, no store, no threads): 600,000 of the
// ingest benchmark's events (bench/lib/kafka-bench.ts eventAt; no record key, as POST /events
// without a key field writes them, or with --keyed=1 keyed by user, as the preloads write) fed to one PartitionArchiver in batches of 2,000 as a fetch brings
// them, segments cut every 100,000 records, each segment's NDJSON bytes and packed encoding made
// as writeSegment makes them (the store's write itself left out). Prints the process CPU per event
// and a sha256 of every segment's bytes: checkouts that write the same bytes print the same digest.
// Give several checkouts to compare them in one process, run alternately (8 rounds each, the
// first 2 dropped), e.g. main in a second worktree against this one.
//
//   node bench/archive-micro.ts [--keyed=1] [checkout …]   (default: this checkout)
import './lib/help.ts' // --help: the comment above, then exit
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { eventAt } from './lib/kafka-bench.ts'

const roots = process.argv.slice(2).filter((a) => !a.startsWith('--'))
if (roots.length === 0) roots.push(join(import.meta.dirname, '..'))
const N = 600_000
const BATCH = 2_000
const SEGMENT = 100_000
const ROUNDS = 8
const keyed = process.argv.includes('--keyed=1')
const base = Date.now() - 86_400_000
const records = Array.from({ length: N }, (_, i) => {
  const e = eventAt(i, N, base)
  return { offset: i, timestamp: e.ts, key: keyed ? Buffer.from(e.key) : null, value: Buffer.from(e.value) }
})
const SOURCE = '0'.repeat(64)

interface Packer {
  finish(source: string): Buffer
}
type ArchiverClass = new (
  options: Record<string, unknown>,
) => {
  add(batch: { partition: number; records: unknown[]; nextOffset: number }): Promise<void>
  flush(): Promise<void>
}

interface Checkout {
  Archiver: ArchiverClass
  eventCheck: (timeField: string) => unknown
  eventScanner: (timeField: string) => unknown
}

async function load(root: string): Promise<Checkout> {
  const { PartitionArchiver } = await import(join(root, 'src/archive/partition-archiver.ts'))
  const { eventCheck } = await import(join(root, 'src/core/event.ts'))
  const { eventScanner } = await import(join(root, 'src/core/event-scan.ts'))
  return { Archiver: PartitionArchiver, eventCheck, eventScanner }
}

async function once(checkout: Checkout, digest: boolean): Promise<{ us: number; sha: string }> {
  const { Archiver, eventCheck, eventScanner } = checkout
  const hash = createHash('sha256')
  const store = {
    writeSegment: async (_p: number, _r: unknown, data: Buffer, packer: Packer) => {
      const packed = packer.finish(SOURCE)
      if (digest) hash.update(data).update(packed)
    },
  }
  const archiver = new Archiver({
    store,
    partition: 0,
    start: 0,
    policy: { maxSegmentBytes: 1 << 30, maxSegmentRecords: SEGMENT, maxSegmentAgeMs: 1e9 },
    check: eventCheck('ts'),
    scanner: eventScanner('ts'),
    onReject: () => {},
    onSegment: async () => {},
  })
  const cpu = process.cpuUsage()
  for (let i = 0; i < N; i += BATCH)
    await archiver.add({ partition: 0, records: records.slice(i, i + BATCH), nextOffset: i + BATCH })
  await archiver.flush()
  const used = process.cpuUsage(cpu)
  return { us: (used.user + used.system) / N, sha: digest ? hash.digest('hex').slice(0, 16) : '' }
}

const checkouts = await Promise.all(roots.map(load))
const cpu: number[][] = roots.map(() => [])
const shas = roots.map(() => '')
for (let round = 0; round < ROUNDS; round++)
  for (let k = 0; k < roots.length; k++) {
    const r = await once(checkouts[k]!, round === 0)
    if (round === 0) shas[k] = r.sha
    if (round >= 2) cpu[k]!.push(r.us)
  }
for (let k = 0; k < roots.length; k++) {
  const sorted = [...cpu[k]!].sort((a, b) => a - b)
  const median = sorted[Math.floor(sorted.length / 2)]!
  console.log(
    `${roots[k]}: ${median.toFixed(3)} µs CPU/event (min ${sorted[0]!.toFixed(3)}, max ${sorted.at(-1)!.toFixed(3)}), sha256 ${shas[k]}`,
  )
}
