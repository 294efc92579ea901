// Batch recompute throughput, per core and on every core: Strata's batch layer beside DuckDB's
// scan-and-group-by of the same events, from Parquet (`read_parquet`), from a native DuckDB table
// and from the NDJSON (`read_json`), and a plain JSON.parse + Map loop, in one run, alternating,
// several rounds. The view is pageviews_by_url: page views per URL per hour (the same GROUP BY).
//
//   npm run bench:batch -- [--events=3000000] [--rounds=3] [--warmup=1] [--settle-ms=500]
//                          [--threads=N (the "all threads" runs; default: available cores)]
//                          [--only=REGEX (run only the contenders whose name matches)]
//                          [--baseline=CHECKOUT (also run another checkout's warm one-thread
//                           batch, e.g. /work/main, alternating with this one in the same run)]
//
// The target compares per core: Strata on one fold thread with DuckDB on one thread
// (`SET threads = 1`) reading the Parquet file. Both are also run on every core (Strata's worker
// pool, DuckDB's threads). CPU per event is the process's CPU time (every thread: Strata's main,
// fold and LMDB writer threads; DuckDB's threads) over the run, divided by the events.
// The Parquet file and the native table are written by DuckDB itself from the NDJSON before the
// rounds, untimed; DuckDB is given its fastest paths (columns and types declared to read_json).
//
// Strata's run is the whole batch recompute (horizon, worker thread, fold, combine, a new batch
// view version written to LMDB and flipped), measured several ways:
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
import './lib/help.ts' // --help: the comment above, then exit
import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { pathToFileURL } from 'node:url'
import { DuckDBInstance } from '@duckdb/node-api'
import { runBatch } from '../src/batch/batch-run.ts'
import { endIdleWorkers } from '../src/batch/worker-pool.ts'
import { loadConfig } from '../src/core/config-loader.ts'
import { SegmentStore } from '../src/master-dataset/index.ts'
import { openLmdbStore } from '../src/store/lmdb-store.ts'
import { writeBatchSegments } from './lib/batch-events.ts'
import { printResult, type ResultRow } from './lib/result.ts'
import { arg, fmtRate, median, spread, table } from './lib/stats.ts'

const events = arg('events', 3_000_000)
const rounds = arg('rounds', 3)
const warmup = arg('warmup', 1)
const settleMs = arg('settle-ms', 500)
const allThreads = arg('threads', availableParallelism())
const onlyArg = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length)
const only = onlyArg === undefined ? undefined : new RegExp(onlyArg)
const baseline = process.argv.find((a) => a.startsWith('--baseline='))?.slice('--baseline='.length)
const partitions = 4
const perSegment = 250_000
const HOUR = 3_600_000

const dir = await mkdtemp(join(tmpdir(), 'strata-bench-batch-'))
const root = join(dir, 'master')
const jsonFile = join(dir, 'events.ndjson')
const parquetFile = join(dir, 'events.parquet')
try {
  console.error(`generating ${events} events…`)
  const segments = await SegmentStore.open(root)
  const out = createWriteStream(jsonFile)
  await writeBatchSegments(segments, events, {
    partitions,
    perSegment,
    onSegment: async (lines) => {
      if (!out.write(`${lines.join('\n')}\n`)) await once(out, 'drain')
    },
  })
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
  // The baseline checkout's own modules, config (its monoids' kernels are module-private, so the
  // config must import its own src/config.ts) and store folder, in this process.
  const base =
    baseline === undefined
      ? undefined
      : await (async () => {
          const from = (path: string) => import(pathToFileURL(join(baseline, path)).href)
          const basePath = join(dir, 'strata.baseline.config.ts')
          const text = await readFile(configPath, 'utf8')
          await writeFile(basePath, text.replace(index, pathToFileURL(join(baseline, 'src/config.ts')).href))
          const baseConfig = await (await from('src/core/config-loader.ts')).loadConfig(basePath)
          const baseStore = await (await from('src/store/lmdb-store.ts')).openLmdbStore(
            join(dir, 'store-baseline'),
          )
          const baseRun = (await from('src/batch/batch-run.ts')).runBatch
          const baseEnd = (await from('src/batch/worker-pool.ts')).endIdleWorkers
          return {
            config: baseConfig,
            configPath: basePath,
            store: baseStore,
            runBatch: baseRun,
            end: baseEnd,
          }
        })()
  const store = await openLmdbStore(join(dir, 'store'))
  const duck = await (await DuckDBInstance.create(':memory:', { threads: '1' })).connect()
  const jsonScan = `read_json('${jsonFile}', format = 'newline_delimited',
    columns = {type: 'VARCHAR', url: 'VARCHAR', user: 'VARCHAR', ts: 'BIGINT'})`
  console.error('writing the Parquet file and the native table (DuckDB, untimed)…')
  await duck.run(`SET threads = ${allThreads}`)
  await duck.run(`COPY (SELECT * FROM ${jsonScan}) TO '${parquetFile}' (FORMAT parquet)`)
  await duck.run(`CREATE TABLE events AS SELECT * FROM read_parquet('${parquetFile}')`)
  const groupBy = (from: string) =>
    `SELECT url, (ts // ${HOUR}) * ${HOUR} AS hour, count(*) AS n FROM ${from}
     WHERE type = 'page_view' GROUP BY ALL`
  const duckdb = (threads: number, from: string) => ({
    prepare: async () => {
      await duck.run(`SET threads = ${threads}`)
    },
    run: async () => (await duck.runAndReadAll(groupBy(from))).currentRowCount,
  })

  const deletePackedCaches = async () => {
    for (let p = 0; p < partitions; p++) {
      const folder = join(root, `p${String(p).padStart(4, '0')}`)
      for (const name of await readdir(folder)) if (name.endsWith('.packed')) await unlink(join(folder, name))
    }
  }
  const strata = (threads: number) => async () => {
    const run = await runBatch({ config, configPath, root, store, threads, force: true })
    return run.versions[0].groups
  }

  const PARQUET_1 = 'DuckDB read_parquet + GROUP BY (1 thread)'
  const PARQUET_N = `DuckDB read_parquet + GROUP BY (${allThreads} threads)`
  const WARM_1 = 'Strata batch, warm (packed segments, 1 thread)'
  const JSON_1 = 'DuckDB read_json + GROUP BY (1 thread)'
  // prepare runs untimed before each timed run; `peer` is what the row's ratio is against.
  const contenders: Record<
    string,
    { prepare?: () => Promise<void>; run: () => Promise<number>; peer: string }
  > = {
    [PARQUET_1]: { ...duckdb(1, `read_parquet('${parquetFile}')`), peer: PARQUET_1 },
    'DuckDB native table + GROUP BY (1 thread)': { ...duckdb(1, 'events'), peer: PARQUET_1 },
    [JSON_1]: { ...duckdb(1, jsonScan), peer: PARQUET_1 },
    [WARM_1]: { run: strata(1), peer: PARQUET_1 },
    ...(base
      ? {
          [`Strata batch, warm (packed segments, 1 thread), baseline ${baseline}`]: {
            run: async () => {
              const run = await base.runBatch({ ...base, root, threads: 1, force: true })
              return run.versions[0].groups
            },
            peer: PARQUET_1,
          },
          [`Strata batch, warm (packed segments, ${allThreads} threads), baseline ${baseline}`]: {
            prepare: async () => {
              await base.runBatch({ ...base, root, threads: allThreads, force: true })
            },
            run: async () => {
              const run = await base.runBatch({ ...base, root, threads: allThreads, force: true })
              return run.versions[0].groups
            },
            peer: PARQUET_N,
          },
          [`Strata batch, warm, fresh thread, baseline ${baseline}`]: {
            prepare: base.end,
            run: async () => {
              const run = await base.runBatch({ ...base, root, threads: 1, force: true })
              return run.versions[0].groups
            },
            peer: PARQUET_1,
          },
        }
      : {}),
    'Strata batch, warm, fresh thread (first run in a process)': {
      prepare: endIdleWorkers,
      run: strata(1),
      peer: PARQUET_1,
    },
    'Strata batch, cold (NDJSON parsed, 1 thread)': {
      prepare: deletePackedCaches,
      run: strata(1),
      peer: PARQUET_1,
    },
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
      peer: PARQUET_1,
    },
    ...(allThreads > 1
      ? {
          [PARQUET_N]: { ...duckdb(allThreads, `read_parquet('${parquetFile}')`), peer: PARQUET_N },
          [`DuckDB native table + GROUP BY (${allThreads} threads)`]: {
            ...duckdb(allThreads, 'events'),
            peer: PARQUET_N,
          },
          [`Strata batch, warm (packed segments, ${allThreads} threads)`]: {
            // Warm as the one-thread run is: its threads kept from a run before. Without this
            // untimed run, the fresh-thread contender's endIdleWorkers left it one thread to start
            // (module load, cold JIT) in every round, which made it look slower than one thread.
            prepare: async () => {
              await strata(allThreads)()
            },
            run: strata(allThreads),
            peer: PARQUET_N,
          },
        }
      : {}),
  }

  if (only) for (const name of Object.keys(contenders)) if (!only.test(name)) delete contenders[name]
  if (!contenders[PARQUET_1])
    throw new Error('--only must keep the peer: DuckDB read_parquet + GROUP BY (1 thread)')
  const rates: Record<string, number[]> = {}
  const cpus: Record<string, number[]> = {}
  const groups: Record<string, number> = {}
  for (let round = 1 - warmup; round <= rounds; round++) {
    for (const [name, { prepare, run }] of Object.entries(contenders)) {
      await prepare?.()
      await sleep(settleMs)
      const cpu0 = process.cpuUsage()
      const t0 = performance.now()
      groups[name] = await run()
      const seconds = (performance.now() - t0) / 1000
      const cpu = process.cpuUsage(cpu0)
      const cpuPerEvent = ((cpu.user + cpu.system) * 1000) / events // ns
      if (round < 1) {
        console.error(`warm-up: ${name}: ${fmtRate(events / seconds)}`)
        continue
      }
      rates[name] ??= []
      rates[name].push(events / seconds)
      cpus[name] ??= []
      cpus[name].push(cpuPerEvent)
      console.error(
        `round ${round}: ${name}: ${fmtRate(events / seconds)}, ${cpuPerEvent.toFixed(0)} ns CPU/event`,
      )
    }
  }
  const distinct = new Set(Object.values(groups))
  if (distinct.size !== 1)
    throw new Error(`contenders disagree on the group count: ${JSON.stringify(groups)}`)

  const ratio = (name: string) => median(rates[name]!) / median(rates[contenders[name]!.peer]!)
  const rows = Object.entries(rates).map(([name, r]) => [
    name,
    fmtRate(median(r)),
    `${median(cpus[name]!).toFixed(0)} ns`,
    `±${spread(r).toFixed(0)}%`,
    `${ratio(name).toFixed(2)}× ${contenders[name]!.peer === PARQUET_1 ? '(1 thread)' : `(${allThreads} threads)`}`,
  ])
  console.log(
    `\n${events} events, ${[...distinct][0]} (url, hour) groups, ${rounds} rounds after ${warmup} warm-up, median and spread; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}\n`,
  )
  console.log(
    table(['contender', 'events/s', 'CPU per event', 'spread', 'vs DuckDB read_parquet, same threads'], rows),
  )
  const resultRows: ResultRow[] = Object.entries(rates)
    .filter(([name]) => name.startsWith('Strata'))
    .filter(([name]) => !name.includes('baseline'))
    .map(([name, r]) => {
      const peer = contenders[name]!.peer
      return {
        measure: `batch recompute, ${events.toLocaleString('en')} events, ${name.replace('Strata batch, ', '')}`,
        strata: `${fmtRate(median(r))}, ${median(cpus[name]!).toFixed(0)} ns CPU/event`,
        value: median(r),
        peer: peer.replace(' + GROUP BY', ''),
        peerFigure: `${fmtRate(median(rates[peer]!))}, ${median(cpus[peer]!).toFixed(0)} ns CPU/event`,
        peerValue: median(rates[peer]!),
        ratio: `${ratio(name).toFixed(2)}×`,
        // The target is per core, in the normal case (warm); the others are reported beside it.
        ...(name === WARM_1 ? { target: '≥ 0.5×', met: ratio(name) >= 0.5 } : {}),
        // CPU per event is what load distorts least: the ratio by it is given beside the wall-clock one.
        note: `by CPU per event ${(median(cpus[peer]!) / median(cpus[name]!)).toFixed(2)}×; spread ±${spread(r).toFixed(0)}% vs ±${spread(rates[peer]!).toFixed(0)}%${rates[JSON_1] ? `; vs DuckDB read_json (1 thread) ${(median(r) / median(rates[JSON_1])).toFixed(2)}×` : ''}`,
      }
    })
  printResult({ part: 'batch', rows: resultRows, params: { events, rounds, warmup, threads: allThreads } })
  await endIdleWorkers()
  await store.close()
  if (base) {
    await base.end()
    await base.store.close()
  }
  duck.closeSync()
} finally {
  await rm(dir, { recursive: true, force: true })
}
