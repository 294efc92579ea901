// Batch recompute throughput per core: Strata's batch layer beside DuckDB's read_json
// scan-and-group-by of the same events and a plain JSON.parse + Map loop, in one run,
// alternating, several rounds. The view is pageviews_by_url: page views per URL per hour.
//
//   npm run bench:batch -- [--events=3000000] [--rounds=3] [--warmup=1] [--settle-ms=500]
//
// Strata's run is the whole batch recompute (horizon, worker thread, fold, combine, a new batch
// view version written to LMDB and flipped), measured three ways, each on one fold thread:
// - warm: the packed encoding the archiver writes beside each NDJSON segment is present (the
//   normal case), and the batch thread of the previous run is still there (a process running
//   batches on a schedule keeps it; src/batch/worker-pool.ts);
// - warm, fresh thread: the same, but the kept threads are ended first, so the run also starts
//   its thread and folds in not-yet-optimized code (the first run in a process: `strata batch`);
// - cold: the packed caches are deleted first, so every segment is parsed from NDJSON and its
//   cache rebuilt and written.
// Every contender runs once untimed first (--warmup), and each timed run starts after a pause
// (--settle-ms) that lets the store finish dropping the version the previous run retired in the
// background, so no contender pays for another's deletes.
import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import { DuckDBInstance } from '@duckdb/node-api'
import { runBatch } from '../src/batch/batch-run.ts'
import { endIdleWorkers } from '../src/batch/worker-pool.ts'
import { loadConfig } from '../src/core/config-loader.ts'
import { SegmentBuilder, SegmentStore } from '../src/master-dataset/index.ts'
import { openLmdbStore } from '../src/store/lmdb-store.ts'
import { printResult, type ResultRow } from './lib/result.ts'
import { arg, fmtRate, median, spread, table } from './lib/stats.ts'

const events = arg('events', 3_000_000)
const rounds = arg('rounds', 3)
const warmup = arg('warmup', 1)
const settleMs = arg('settle-ms', 500)
const partitions = 4
const perSegment = 250_000
const HOUR = 3_600_000

function eventText(i: number): string {
  const type = i % 5 === 4 ? 'click' : 'page_view'
  return `{"type":"${type}","url":"/p/${(i * 7919) % 10_000}","user":"u${(i * 104729) % 100_000}","ts":${1764000000000 + i * 10}}`
}

const dir = await mkdtemp(join(tmpdir(), 'strata-bench-batch-'))
const root = join(dir, 'master')
const jsonFile = join(dir, 'events.ndjson')
try {
  console.error(`generating ${events} events…`)
  const segments = await SegmentStore.open(root)
  const out = createWriteStream(jsonFile)
  const perPartition = Math.ceil(events / partitions)
  for (let p = 0; p < partitions; p++) {
    for (let start = 0; start < perPartition; start += perSegment) {
      const builder = new SegmentBuilder()
      const end = Math.min(perPartition, start + perSegment)
      const lines: string[] = []
      for (let offset = start; offset < end; offset++) {
        const i = p * perPartition + offset
        if (i >= events) break
        const text = eventText(i)
        lines.push(text)
        builder.add({ offset, timestamp: 1764000000000 + i, key: null, value: Buffer.from(text) })
      }
      if (lines.length === 0) break
      await segments.writeSegment(p, { start, end: start + lines.length }, builder.data(), builder.packer())
      if (!out.write(`${lines.join('\n')}\n`)) await once(out, 'drain')
    }
  }
  out.end()
  await once(out, 'finish')

  const configPath = join(dir, 'strata.config.ts')
  const index = pathToFileURL(join(import.meta.dirname, '../src/config.ts')).href
  await writeFile(
    configPath,
    `import { count, defineConfig, tumbling, view } from '${index}'
export default defineConfig({
  source: { topic: 'events', partitions: ${partitions} },
  views: [view('pageviews_by_url').filter((e) => e.type === 'page_view').key((e) => e.url).window(tumbling('1h')).aggregate(count())],
})
`,
  )
  const config = await loadConfig(configPath)
  const store = await openLmdbStore(join(dir, 'store'))
  const duck = await (await DuckDBInstance.create(':memory:', { threads: '1' })).connect()

  const deletePackedCaches = async () => {
    for (let p = 0; p < partitions; p++) {
      const folder = join(root, `p${String(p).padStart(4, '0')}`)
      for (const name of await readdir(folder)) if (name.endsWith('.packed')) await unlink(join(folder, name))
    }
  }
  const strata = async () => {
    const run = await runBatch({ config, configPath, root, store, threads: 1, force: true })
    return run.versions[0].groups
  }

  // prepare runs untimed before each timed run.
  const contenders: Record<string, { prepare?: () => Promise<void>; run: () => Promise<number> }> = {
    'DuckDB read_json + GROUP BY (1 thread)': {
      run: async () => {
        const result = await duck.runAndReadAll(
          `SELECT url, (ts // ${HOUR}) * ${HOUR} AS hour, count(*) AS n
         FROM read_json('${jsonFile}', format = 'newline_delimited',
                        columns = {type: 'VARCHAR', url: 'VARCHAR', user: 'VARCHAR', ts: 'BIGINT'})
         WHERE type = 'page_view' GROUP BY ALL`,
        )
        return result.currentRowCount
      },
    },
    'Strata batch, warm (packed segments, 1 thread)': { run: strata },
    'Strata batch, warm, fresh thread (first run in a process)': { prepare: endIdleWorkers, run: strata },
    'Strata batch, cold (NDJSON parsed, 1 thread)': { prepare: deletePackedCaches, run: strata },
    'JSON.parse + Map loop (1 thread)': {
      run: async () => {
        const text = await readFile(jsonFile, 'utf8')
        const counts = new Map<string, number>()
        let start = 0
        for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
          const e = JSON.parse(text.slice(start, end))
          start = end + 1
          if (e.type !== 'page_view') continue
          const k = `${e.url}|${Math.floor(e.ts / HOUR)}`
          counts.set(k, (counts.get(k) ?? 0) + 1)
        }
        return counts.size
      },
    },
  }

  const rates: Record<string, number[]> = {}
  const groups: Record<string, number> = {}
  for (let round = 1 - warmup; round <= rounds; round++) {
    for (const [name, { prepare, run }] of Object.entries(contenders)) {
      await prepare?.()
      await sleep(settleMs)
      const t0 = performance.now()
      groups[name] = await run()
      const seconds = (performance.now() - t0) / 1000
      if (round < 1) {
        console.error(`warm-up: ${name}: ${fmtRate(events / seconds)}`)
        continue
      }
      rates[name] ??= []
      rates[name].push(events / seconds)
      console.error(`round ${round}: ${name}: ${fmtRate(events / seconds)}`)
    }
  }
  const distinct = new Set(Object.values(groups))
  if (distinct.size !== 1)
    throw new Error(`contenders disagree on the group count: ${JSON.stringify(groups)}`)

  const duckdb = median(rates['DuckDB read_json + GROUP BY (1 thread)'])
  const rows = Object.entries(rates).map(([name, r]) => [
    name,
    fmtRate(median(r)),
    `±${spread(r).toFixed(0)}%`,
    `${(median(r) / duckdb).toFixed(2)}×`,
  ])
  console.log(
    `\n${events} events, ${[...distinct][0]} (url, hour) groups, ${rounds} rounds after ${warmup} warm-up, median and spread\n`,
  )
  console.log(table(['contender', 'events/s', 'spread', 'vs DuckDB'], rows))
  const resultRows: ResultRow[] = Object.entries(rates)
    .filter(([name]) => name.startsWith('Strata'))
    .map(([name, r]) => ({
      measure: `batch recompute per core, ${events.toLocaleString('en')} events, ${name.replace('Strata batch, ', '')}`,
      strata: fmtRate(median(r)),
      value: median(r),
      peer: 'DuckDB read_json + GROUP BY, 1 thread',
      peerFigure: fmtRate(duckdb),
      peerValue: duckdb,
      ratio: `${(median(r) / duckdb).toFixed(2)}×`,
      // The target is the normal case, warm; the others are reported beside it.
      ...(name === 'Strata batch, warm (packed segments, 1 thread)'
        ? { target: '≥ 1.0×', met: median(r) >= duckdb }
        : {}),
      note: `spread ±${spread(r).toFixed(0)}% vs ±${spread(rates['DuckDB read_json + GROUP BY (1 thread)']!).toFixed(0)}%`,
    }))
  printResult({ part: 'batch', rows: resultRows, params: { events, rounds, warmup } })
  await endIdleWorkers()
  await store.close()
  duck.closeSync()
} finally {
  await rm(dir, { recursive: true, force: true })
}
