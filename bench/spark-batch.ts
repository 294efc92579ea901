// The batch layer on Apache Spark beside the local engine, at the same size (docs/batch-on-spark.md):
// one whole batch recompute (horizon, fold, combine, a new version staged and flipped in LMDB) by
// the local engine (worker threads), and by the Spark engine on the local standalone cluster with
// one and with two one-core workers; each from a folder and from object storage (S3Proxy on
// loopback, s3://). Every run is forced (all views recomputed) into its own store; from S3 every
// run copies the segments it folds anew (the local engine into a fresh cache folder, each Spark
// fold task into a temp folder of its own).
//
//   npm run bench:spark -- [--events=1000000] [--rounds=2] [--port=17400]
//
// Ports: S3Proxy on --port, the Spark cluster's master on +10 (its UIs and workers after it), the
// driver from +30. Take figures under `flock /work/wt/bench.lock` on a shared machine; the load
// average is printed beside them.
import './lib/help.ts' // --help: the comment above, then exit
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type BatchRunOptions, runBatch } from '../src/batch/batch-run.ts'
import { endIdleWorkers } from '../src/batch/worker-pool.ts'
import { loadConfig } from '../src/core/config-loader.ts'
import { type MasterDataset, openMasterDataset } from '../src/master-dataset/index.ts'
import { startS3Server, stopS3Server } from '../src/s3-server/index.ts'
import { startSparkCluster, stopSparkCluster } from '../src/spark-cluster/index.ts'
import { openLmdbStore } from '../src/store/lmdb-store.ts'
import { writeBatchSegments } from './lib/batch-events.ts'
import { arg, median } from './lib/stats.ts'

const events = arg('events', 1_000_000)
const rounds = arg('rounds', 2)
const base = arg('port', 17_400)
const partitions = 4
const perSegment = 100_000

async function fill(dataset: MasterDataset): Promise<void> {
  await writeBatchSegments(dataset, events, { partitions, perSegment })
}

const dir = await mkdtemp(join(tmpdir(), 'strata-bench-spark-'))
const s3Dir = join(dir, 's3')
const sparkDir = join(dir, 'spark')
const sparkPort = base + 10
const lines: string[] = []
const say = (line: string) => {
  console.log(line)
  lines.push(line)
}
try {
  const s3 = await startS3Server({ port: base, dir: s3Dir, buckets: ['bench'] })
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
  })
  const s3Settings = { endpoint: s3.endpoint, forcePathStyle: true }
  const folderRoot = join(dir, 'master', 'events')
  const s3Root = 's3://bench/master/events'
  console.error(`generating ${events} events in ${partitions} partitions, on a folder and on S3…`)
  const folder = await openMasterDataset(folderRoot)
  await fill(folder)
  await folder.close()
  const onS3 = await openMasterDataset(s3Root, { s3: s3Settings })
  await fill(onS3)
  await onS3.close()

  const configPath = join(dir, 'strata.config.ts')
  const index = pathToFileURL(join(import.meta.dirname, '../src/config.ts')).href
  await writeFile(
    configPath,
    `import { count, defineConfig, distinctCount, topK, tumbling, view } from '${index}'
export default defineConfig({
  source: { topic: 'events', partitions: ${partitions} },
  views: [
    view('pageviews_by_url').filter((e) => e.type === 'page_view').key((e) => e.url).window(tumbling('1h')).aggregate(count()),
    view('users_by_url').key((e) => e.url).window(tumbling('1d')).aggregate(distinctCount((e) => e.user)),
    view('top_urls').filter((e) => e.type === 'page_view').key(() => 'all').aggregate(topK(10, (e) => e.url)),
  ],
})
`,
  )
  const config = await loadConfig(configPath)
  let stores = 0
  const time = async (name: string, options: Partial<BatchRunOptions>) => {
    const seconds: number[] = []
    const load: number[] = []
    for (let r = 0; r < rounds; r++) {
      const store = await openLmdbStore(join(dir, `store-${++stores}`))
      const started = performance.now()
      // A fresh cache folder each run: the local engine copies from S3 anew, as every Spark task does.
      const result = await runBatch({
        config,
        configPath,
        root: folderRoot,
        store,
        force: true,
        ...options,
        ...(options.cacheRoot ? { cacheRoot: join(dir, `cache-${stores}`) } : {}),
      })
      seconds.push((performance.now() - started) / 1000)
      load.push(loadavg()[0]!)
      await store.close()
      if (result.events !== events) throw new Error(`${name}: ${result.events} events folded, not ${events}`)
      await endIdleWorkers()
    }
    const s = median(seconds)
    say(
      `| ${name} | ${s.toFixed(1)} s | ${Math.round(events / s).toLocaleString('en')} | ${seconds.map((x) => x.toFixed(1)).join(', ')} | ${load.map((x) => x.toFixed(1)).join(', ')} |`,
    )
  }
  const s3Options = { root: s3Root, s3: s3Settings, cacheRoot: join(dir, 'cache') }
  say(
    `${events} events, ${partitions} partitions, 3 views; median of ${rounds} runs; load average (1 min) after each`,
  )
  say('| engine, source | time | events/s | runs | load |')
  say('|---|---|---|---|---|')
  await time('local, 2 threads, folder', { threads: 2 })
  await time('local, 2 threads, S3', { threads: 2, ...s3Options })
  for (const workers of [1, 2]) {
    await startSparkCluster({ port: sparkPort, workers, dir: sparkDir })
    try {
      const spark = {
        engine: 'spark' as const,
        spark: { master: `spark://127.0.0.1:${sparkPort}`, basePort: base + 30 },
      }
      await time(`Spark, ${workers} worker${workers > 1 ? 's' : ''}, folder`, spark)
      await time(`Spark, ${workers} worker${workers > 1 ? 's' : ''}, S3`, { ...spark, ...s3Options })
    } finally {
      await stopSparkCluster({ port: sparkPort, dir: sparkDir, workers })
    }
  }
  await stopS3Server({ port: base, dir: s3Dir })
} finally {
  await stopSparkCluster({ port: sparkPort, dir: sparkDir }).catch(() => undefined)
  await stopS3Server({ port: base, dir: s3Dir }).catch(() => undefined)
  await rm(dir, { recursive: true, force: true })
}
