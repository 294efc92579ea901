// `npm run test:scale`: the long variant of the Spark engine's proof, with the project's own
// commands only. Starts the local S3-compatible server (`strata s3 start`) and the local Spark
// cluster (`strata spark start`), produces random events into a fresh Kafka topic, archives the
// topic into object storage (`strata worker archiver --master s3://…`), then recomputes the views
// twice from s3:// — `strata batch` (the local engine) and `strata batch --engine spark` — and
// checks that the two stores hold the same versions value for value. Stops what it started.
//
// Needs a Kafka broker (env STRATA_TEST_BROKERS, default 127.0.0.1:9092; `strata kafka start`).
// Sizes and ports: STRATA_SCALE_EVENTS (default 200000), STRATA_SCALE_PORT (default 17300: S3 on
// it, Spark's master on +10, its driver from +20).
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { sealedHorizon } from '../../src/batch/batch-run.ts'
import { createAdmin } from '../../src/log/kafka/index.ts'
import { openMasterDataset } from '../../src/master-dataset/index.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import type { Store } from '../../src/store/store.ts'

const repo = join(import.meta.dirname, '..', '..')
const strata = join(repo, 'bin', 'strata.js')
const events = Number(process.env['STRATA_SCALE_EVENTS'] ?? 200_000)
const base = Number(process.env['STRATA_SCALE_PORT'] ?? 17_300)
const brokers = process.env['STRATA_TEST_BROKERS'] ?? '127.0.0.1:9092'
const PARTITIONS = 4
const topic = `scale-spark-${process.pid}-${Date.now()}`

function run(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [strata, ...args], {
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8')
    })
    child.stdin.end(options.input ?? '')
    child.on('error', reject)
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`strata ${args.join(' ')} exited with ${code}`)),
    )
  })
}

/** `eval "$(strata s3 start)"`: the export lines as an environment. */
function exportsOf(text: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const match of text.matchAll(/([A-Z_]+)=(\S+)/g)) env[match[1]!] = match[2]!
  return env
}

function eventsText(n: number): string {
  let x = 16
  const rand = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31
    return x / 2 ** 31
  }
  const t0 = Date.UTC(2026, 0, 1)
  const lines: string[] = []
  for (let i = 0; i < n; i++) {
    lines.push(
      JSON.stringify({
        type: rand() < 0.8 ? 'page_view' : 'click',
        url: `/p${Math.floor(rand() ** 2 * 500)}`,
        user: `u${Math.floor(rand() * 20_000)}`,
        n: Math.round(rand() * 1000) / 10,
        ts: t0 + Math.floor(rand() * 72 * 3_600_000),
      }),
    )
  }
  return `${lines.join('\n')}\n`
}

const configText = `import { count, defineConfig, distinctCount, hopping, max, mean, min, quantiles, sum, topK, tumbling, view } from '${join(repo, 'src', 'config.ts')}'
const page = (name: string) => view<any>(name).filter((e) => e.type === 'page_view')
export default defineConfig({
  source: { topic: '${topic}', partitions: ${PARTITIONS} },
  views: [
    page('views_by_url_h').key((e) => e.url).window(tumbling('1h')).aggregate(count()),
    view<any>('n_by_type').key((e) => e.type).window(hopping({ size: '2h', advance: '1h' })).aggregate(sum((e) => e.n)),
    view<any>('n_min_max').key((e) => e.url).aggregate(min((e) => e.n)),
    view<any>('n_max').key((e) => e.url).aggregate(max((e) => e.n)),
    view<any>('n_mean_d').key((e) => e.url).window(tumbling('1d')).aggregate(mean((e) => e.n)),
    view<any>('users_by_url_d').key((e) => e.url).window(tumbling('1d')).aggregate(distinctCount((e) => e.user)),
    page('top_urls_h').key(() => 'all').window(tumbling('1h')).aggregate(topK(5, (e) => e.url, { capacity: 50 })),
    view<any>('n_quantiles').key((e) => e.type).aggregate(quantiles((e) => e.n)),
  ],
})
`

async function dump(store: Store): Promise<string[]> {
  const out: string[] = []
  for (const meta of (await store.listBatchViews()).sort((a, b) => (a.view < b.view ? -1 : 1))) {
    const { startedAt: _s, completedAt: _c, version: _v, ...rest } = meta
    out.push(JSON.stringify(rest))
    const entries: string[] = []
    for await (const e of store.scanBatch(meta.view, meta.version))
      entries.push(JSON.stringify([e.window, e.key, e.state]))
    out.push(...entries.sort())
  }
  return out
}

// `npm run test:scale -- --help` used to start S3Proxy and Spark and run the whole test: any
// argument is a question, answered without starting anything.
if (process.argv.length > 2) {
  console.log(`Usage: npm run test:scale   (node test/scale/spark-s3.ts; takes no arguments)

Starts strata s3 and strata spark, archives a fresh topic into s3://, runs strata batch with the
local and the spark engine and checks both stores hold the same versions. Stops what it started.
Environment: STRATA_TEST_BROKERS (default 127.0.0.1:9092), STRATA_SCALE_EVENTS (default 200000),
STRATA_SCALE_PORT (default 17300: S3 on it, Spark's master on +10, its driver from +20).`)
  process.exit(process.argv.includes('--help') || process.argv.includes('-h') ? 0 : 2)
}

const dir = await mkdtemp(join(tmpdir(), 'strata-scale-'))
const s3Port = base
const sparkPort = base + 10
let failed = false
// What this run starts is stopped on every way out: its end, a failure, Ctrl-C or a timeout's
// SIGTERM (a killed run left S3Proxy and a Spark cluster running).
let stopping: Promise<void> | undefined
const stopAll = (): Promise<void> =>
  (stopping ??= (async () => {
    await run(['spark', 'stop', '--port', String(sparkPort)]).catch(() => undefined)
    await run(['s3', 'stop', '--port', String(s3Port)]).catch(() => undefined)
    await deleteTopic().catch((error: Error) => console.error(`scale: topic ${topic} left: ${error.message}`))
    await rm(dir, { recursive: true, force: true })
  })())
// The topic too: a run a day would otherwise leave 200k events a day on the shared broker.
async function deleteTopic(): Promise<void> {
  const admin = createAdmin({ brokers })
  try {
    await admin.deleteTopic(topic)
  } finally {
    await admin.close()
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`scale: ${signal}: stopping the S3 server and the Spark cluster this run started`)
    void stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
  })
}
try {
  const config = join(dir, 'strata.config.ts')
  await writeFile(config, configText)
  console.log(`scale: ${events} events, topic ${topic}, ${PARTITIONS} partitions, brokers ${brokers}`)
  const s3Env = exportsOf(await run(['s3', 'start', '--port', String(s3Port), '--fresh']))
  const env = { ...process.env, ...s3Env }
  const master = (await run(['spark', 'start', '--port', String(sparkPort)])).trim()
  const masterUrl = `s3://strata/${topic}`

  let started = Date.now()
  await run(['produce', '--topic', topic, '--brokers', brokers, '--partitions', String(PARTITIONS)], {
    input: eventsText(events),
  })
  console.log(`scale: produced in ${((Date.now() - started) / 1000).toFixed(1)} s`)

  // The archiver seals a segment at most 2 s after its last record; it runs until every produced
  // record is in a sealed segment on object storage.
  started = Date.now()
  const archiver = spawn(
    process.execPath,
    [
      strata,
      'worker',
      'archiver',
      '--config',
      config,
      '--data',
      join(dir, 'archiver'),
      '--master',
      's3://strata',
    ].concat(['--brokers', brokers, '--segment-age', '2s', '--port', String(base + 5)]),
    { env, stdio: ['ignore', 'ignore', 'inherit'] },
  )
  try {
    const dataset = await openMasterDataset(masterUrl, {
      readOnly: true,
      s3: { endpoint: s3Env['AWS_ENDPOINT_URL']!, forcePathStyle: true },
    })
    try {
      for (;;) {
        Object.assign(process.env, s3Env)
        const sealed = (await sealedHorizon(dataset, PARTITIONS)).reduce((a, b) => a + b, 0)
        if (sealed >= events) break
        if (Date.now() - started > 600_000) throw new Error(`archived ${sealed} of ${events} in 10 min`)
        await sleep(1000)
      }
    } finally {
      await dataset.close()
    }
  } finally {
    archiver.kill('SIGTERM')
    await new Promise((resolve) => archiver.once('close', resolve))
  }
  console.log(`scale: archived into ${masterUrl} in ${((Date.now() - started) / 1000).toFixed(1)} s`)

  const batch = async (name: string, extra: string[]) => {
    const at = Date.now()
    const out = await run(
      ['batch', '--config', config, '--data', join(dir, name), '--master', 's3://strata', ...extra],
      { env },
    )
    console.log(
      `scale: ${name}: ${((Date.now() - at) / 1000).toFixed(1)} s; ${out.trim().split('\n').at(-1)}`,
    )
  }
  await batch('local', ['--threads', '2'])
  await batch('spark', ['--engine', 'spark', '--spark-master', master, '--spark-port', String(base + 20)])

  const [local, onSpark] = await Promise.all(
    ['local', 'spark'].map(async (name) => {
      const store = await openLmdbStore(join(dir, name, 'store'))
      try {
        return await dump(store)
      } finally {
        await store.close()
      }
    }),
  )
  const same = local.length === onSpark.length && local.every((line, i) => line === onSpark[i])
  const versions = local.filter((l) => l.startsWith('{"view"')).length
  if (!same || versions === 0) {
    const at = local.findIndex((line, i) => line !== onSpark[i])
    throw new Error(
      `the Spark engine's versions differ from the local engine's at line ${at}:\n  local ${local[at]}\n  spark ${onSpark[at]}`,
    )
  }
  console.log(
    `scale: ${versions} views, ${local.length - versions} entries: the Spark version equals the local one`,
  )
} catch (error) {
  failed = true
  console.error(`scale: FAILED: ${(error as Error).message}`)
} finally {
  await stopAll()
}
console.log(failed ? '0 passed, 1 failed' : '1 passed, 0 failed')
process.exit(failed ? 1 : 0)
