// A warm batch run repeated in one process, for an A/B of two checkouts in alternating processes
// (issue 15 item 5): bench/batch.ts's events and view (pageviews_by_url) in packed segments, then
// `runBatch({ threads: 1, force: true })` of --checkout's own modules (default: this one) --runs
// times into one LMDB store. Prints each run's wall time, the process's CPU per event and the main
// thread's CPU, then the median of the runs after the first --skip (warm: the fold thread kept).
// No DuckDB in the process, so that what is measured is Strata's run alone.
//
// --threads adds each run's CPU per thread of the process (Linux /proc, 10 ms ticks): which of the
// fold thread, the main thread, lmdb-js's writer and V8's helpers the rest goes to.
//
//   node bench/batch-runs.ts [--checkout=PATH] [--events=3000000] [--runs=8] [--skip=3] [--threads]
import './lib/help.ts' // --help: the comment above, then exit
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import { SegmentBuilder, SegmentStore } from '../src/master-dataset/index.ts'
import { arg, median } from './lib/stats.ts'

const events = arg('events', 3_000_000)
const runs = arg('runs', 8)
const skip = arg('skip', 3)
const checkout = resolve(
  process.argv.find((a) => a.startsWith('--checkout='))?.slice(11) ?? join(import.meta.dirname, '..'),
)
const partitions = 4
const perThread = process.argv.includes('--threads')

/** CPU ms so far of each thread of this process, by "name#tid" (/proc/self/task/<tid>/stat). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>()
  for (const t of readdirSync('/proc/self/task')) {
    let stat: string
    try {
      stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8')
    } catch {
      continue // the thread ended
    }
    const close = stat.lastIndexOf(')')
    const fields = stat.slice(close + 2).split(' ')
    out.set(
      `${stat.slice(stat.indexOf('(') + 1, close)}#${t}`,
      (Number(fields[11]) + Number(fields[12])) * 10,
    )
  }
  return out
}
const perSegment = 250_000

function eventText(i: number): string {
  const type = i % 5 === 4 ? 'click' : 'page_view'
  return `{"type":"${type}","url":"/p/${(i * 7919) % 10_000}","user":"u${(i * 104729) % 100_000}","ts":${1764000000000 + i * 10}}`
}

const dir = await mkdtemp(join(tmpdir(), 'strata-bench-batch-runs-'))
try {
  const root = join(dir, 'master')
  const segments = await SegmentStore.open(root)
  const perPartition = Math.ceil(events / partitions)
  for (let p = 0; p < partitions; p++) {
    for (let start = 0; start < perPartition; start += perSegment) {
      const builder = new SegmentBuilder()
      const end = Math.min(perPartition, start + perSegment, events - p * perPartition)
      if (end <= start) break
      for (let offset = start; offset < end; offset++) {
        const i = p * perPartition + offset
        builder.add({ offset, timestamp: 1764000000000 + i, key: null, value: Buffer.from(eventText(i)) })
      }
      await segments.writeSegment(p, { start, end }, builder.data(), builder.packer())
    }
  }
  const from = (path: string) => import(pathToFileURL(join(checkout, path)).href)
  const configPath = join(dir, 'strata.config.ts')
  await writeFile(
    configPath,
    `import { count, defineConfig, tumbling, view } from '${pathToFileURL(join(checkout, 'src/config.ts')).href}'
export default defineConfig({
  source: { topic: 'events', partitions: ${partitions} },
  views: [view('pageviews_by_url').filter((e) => e.type === 'page_view').key((e) => e.url).window(tumbling('1h')).aggregate(count())],
})
`,
  )
  const config = await (await from('src/core/config-loader.ts')).loadConfig(configPath)
  const store = await (await from('src/store/lmdb-store.ts')).openLmdbStore(join(dir, 'store'))
  const { runBatch } = await from('src/batch/batch-run.ts')
  const { endIdleWorkers } = await from('src/batch/worker-pool.ts')
  const cpu: number[] = []
  const main: number[] = []
  for (let r = 1; r <= runs; r++) {
    await sleep(500) // the store drops the version the run before retired, in the background
    const t0 = perThread ? threadCpu() : undefined
    const c0 = process.cpuUsage()
    const m0 = process.threadCpuUsage()
    const w0 = performance.now()
    await runBatch({ config, configPath, root, store, threads: 1, force: true })
    const ms = performance.now() - w0
    const c = process.cpuUsage(c0)
    const t1 = perThread ? threadCpu() : undefined
    const m = process.threadCpuUsage(m0)
    const perEvent = ((c.user + c.system) * 1000) / events
    const mainMs = (m.user + m.system) / 1000
    if (r > skip) {
      cpu.push(perEvent)
      main.push(mainMs)
    }
    console.log(
      `run ${r}: ${ms.toFixed(0)} ms, ${perEvent.toFixed(0)} ns CPU/event, main thread ${mainMs.toFixed(0)} ms`,
    )
    if (t0 !== undefined && t1 !== undefined) {
      const spent = [...t1]
        .map(([name, ms]) => [name, ms - (t0.get(name) ?? 0)] as const)
        .filter(([, ms]) => ms > 0)
      console.log(`  threads: ${spent.map(([name, ms]) => `${name} ${ms}`).join(', ')}`)
    }
  }
  console.log(
    `${checkout}: median of runs ${skip + 1}-${runs}: ${median(cpu).toFixed(0)} ns CPU/event, main thread ${median(main).toFixed(0)} ms`,
  )
  await endIdleWorkers()
  await store.close()
} finally {
  await rm(dir, { recursive: true, force: true })
}
