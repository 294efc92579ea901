// The speed layer's commit pipeline alone (no Kafka, no HTTP): one partition folded in a fold
// thread, batches of 50 records every 5 ms (10,000 events/s), each reaching the partition's end
// as a live stream's fetches do. The store is LMDB, but each commit's promise resolves `delay` ms
// after its transaction is visible, as lmdb-js's overlappingSync resolves after the flush (session
// 13: most of a commit on this machine's disk). Per batch: its take -> its end visible in the
// store (p50, p99, max), and how many commits the folder made. This isolates the freshness
// bench's "queue" stage from Kafka and the machine's load, which on a shared machine moves the
// freshness bench's p99 by hundreds of ms between rounds (BENCHMARKS.md, Freshness, session 15).
// Give several checkouts (each imports its own src/ and test/speed/helpers.ts) to compare them,
// run alternately, e.g. main in a second worktree against this one:
//
//   node bench/commit-pipeline-micro.ts [--delays=5,20,40] [--seconds=3] [--rounds=3] [checkout …]
import './lib/help.ts' // --help: the comment above, then exit
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

const option = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback
const delays = option('delays', '5,20,40').split(',').map(Number)
const seconds = Number(option('seconds', '3'))
const rounds = Number(option('rounds', '3'))
const roots = process.argv.slice(2).filter((a) => !a.startsWith('--'))
if (roots.length === 0) roots.push(join(import.meta.dirname, '..'))

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!
}

async function run(root: string, delay: number): Promise<string> {
  const { speedFixture, MemoryPartition, pageView } = await import(join(root, 'test/speed/helpers.ts'))
  const { FoldThreads } = await import(join(root, 'src/speed/fold-threads.ts'))
  const { claimSpeedPartition } = await import(join(root, 'src/speed/claim.ts'))
  const cleanups: Array<() => Promise<void>> = []
  const fixture = await speedFixture({ after: (fn: () => Promise<void>) => cleanups.push(fn) }, 1)
  try {
    await fixture.store.registerSpeedViews(
      fixture.views.map((v: { name: string; codeHash: string }) => ({ view: v.name, codeHash: v.codeHash })),
      1,
    )
    const threads = new FoldThreads(fixture.configPath, fixture.views, 1)
    await threads.ready()
    let visible = 0
    let commits = 0
    const waiting: Array<{ end: number; at: number; seen: (ms: number) => void }> = []
    const store = Object.create(fixture.store)
    store.commitSpeed = async (commit: { offset: number }, combine: unknown) => {
      await fixture.store.commitSpeed(commit, combine)
      commits++
      visible = Math.max(visible, commit.offset)
      const now = performance.now()
      for (let i = waiting.length - 1; i >= 0; i--) {
        if (waiting[i]!.end > visible) continue
        waiting[i]!.seen(now - waiting[i]!.at)
        waiting.splice(i, 1)
      }
      await sleep(delay)
    }
    const folder = await claimSpeedPartition({
      store,
      views: fixture.views,
      partition: 0,
      partitions: 1,
      timeField: 'ts',
      thread: threads.of(0),
    })
    const batches = Math.round((seconds * 1000) / 5)
    const log = new MemoryPartition()
    log.append(Array.from({ length: batches * 50 }, (_, i) => pageView(i)))
    const latencies: Promise<number>[] = []
    let next = performance.now()
    for (let b = 0; b < batches; b++) {
      const from = b * 50
      const at = performance.now()
      latencies.push(new Promise((seen) => waiting.push({ end: from + 50, at, seen })))
      await folder.take({ ...log.read(from, 50), highWatermark: from + 50 })
      next += 5
      await sleep(Math.max(0, next - performance.now()))
    }
    const l = await Promise.all(latencies)
    await folder.flush()
    folder.stop('done')
    await threads.close()
    return `${l.length} batches, ${commits} commits, p50 ${pct(l, 50).toFixed(1)} ms, p99 ${pct(l, 99).toFixed(1)} ms, max ${Math.max(...l).toFixed(1)} ms`
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup()
  }
}

for (let round = 1; round <= rounds; round++) {
  for (const root of roots) {
    for (const delay of delays)
      console.log(`round ${round} ${root} delay ${delay} ms: ${await run(root, delay)}`)
  }
}
