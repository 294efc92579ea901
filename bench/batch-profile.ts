// CPU profile of one warm batch fold (issue 15 item 5): bench/batch.ts's events and view
// (pageviews_by_url) in packed segments, folded by foldPartitionTables inline in this thread, as
// a fold thread folds them (src/batch/worker.ts), after --warm folds (each one's time and CPU per
// event printed); the profiler
// (node:inspector) runs only during the last fold. Prints the fold's time and the top functions by
// self time (bench/lib/cpu-profile.ts); --out writes the .cpuprofile and folded stacks.
//
//   node bench/batch-profile.ts [--events=3000000] [--warm=3] [--out=PATH (no extension)]
import './lib/help.ts' // --help: the comment above, then exit
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { foldPartitionTables } from '../src/batch/partition-fold.ts'
import { count, tumbling, view } from '../src/config.ts'
import { compileView } from '../src/core/compiled-view.ts'
import { SegmentStore } from '../src/master-dataset/index.ts'
import { writeBatchSegments } from './lib/batch-events.ts'
import { type CpuProfile, foldedStacks, selfTable } from './lib/cpu-profile.ts'
import { arg } from './lib/stats.ts'

const events = arg('events', 3_000_000)
const warm = arg('warm', 3)
const out = process.argv.find((a) => a.startsWith('--out='))?.slice(6)
const partitions = 4
const perSegment = 250_000

const dir = await mkdtemp(join(tmpdir(), 'strata-bench-batch-profile-'))
try {
  const segments = await SegmentStore.open(dir)
  const perPartition = await writeBatchSegments(segments, events, { partitions, perSegment })
  const views = [
    compileView(
      view('pageviews_by_url')
        .filter((e: any) => e.type === 'page_view')
        .key((e: any) => e.url)
        .window(tumbling('1h'))
        .aggregate(count()),
    ),
  ]
  const foldAll = async () => {
    let folded = 0
    for (let p = 0; p < partitions; p++)
      folded += (await foldPartitionTables({ root: dir, partition: p, to: perPartition, views })).events
    return folded
  }
  for (let i = 0; i < warm; i++) {
    const c0 = process.cpuUsage()
    const w0 = performance.now()
    await foldAll()
    const c = process.cpuUsage(c0)
    console.log(
      `warm fold ${i + 1}: ${(performance.now() - w0).toFixed(0)} ms, ${(((c.user + c.system) * 1000) / events).toFixed(0)} ns CPU/event`,
    )
  }
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 100 })
  await session.post('Profiler.start')
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const folded = await foldAll()
  const ms = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile }
  session.disconnect()
  if (out !== undefined) {
    await writeFile(`${out}.cpuprofile`, JSON.stringify(profile))
    await writeFile(`${out}.folded`, foldedStacks(profile))
  }
  const { rows, busyMs } = selfTable(profile)
  console.log(
    `${folded} events folded in ${ms.toFixed(0)} ms (${(((cpu.user + cpu.system) * 1000) / folded).toFixed(0)} ns CPU/event, profiler on); busy ${busyMs.toFixed(0)} ms\n`,
  )
  console.log('| self ms | share of busy | function |\n| --- | --- | --- |')
  for (const r of rows.slice(0, 25))
    console.log(`| ${r.ms.toFixed(0)} | ${(r.share * 100).toFixed(1)}% | ${r.name} |`)
} finally {
  await rm(dir, { recursive: true, force: true })
}
