// `strata start` on Kafka runs the archiver in a worker thread of its own (runtime/role-thread.ts,
// decision 0013), as a user runs it: /health and /metrics show the thread's stats (each
// partition's lag, segments and records), SIGTERM drains it (the open segment written whole before
// the process exits, so the master dataset ends where the topic ends), an s3:// master dataset is
// reached from the thread with the settings and credentials the process was given, and a thread
// that dies is fatal with a line that says which and why.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { createAdmin } from '../../src/log/kafka/index.ts'
import { openMasterDataset } from '../../src/master-dataset/index.ts'
import { startRoleThread } from '../../src/runtime/role-thread.ts'
import { brokers } from '../helpers/kafka.ts'
import { type SpawnedStrata, spawnStrata } from '../helpers/process.ts'
import { startTestS3, type TestS3 } from '../helpers/s3.ts'
import { pageViews, waitFor, writePageviewsConfig } from './start-helpers.ts'

// This file's ports (the helpers' range for it): HTTP servers, then S3Proxy.
const PORTS = { folder: 24001, s3: 24002, crash: 24003, s3proxy: 24010 }
const BUCKET = 'strata-archiver-thread'
let s3: TestS3
before(async () => {
  s3 = await startTestS3([BUCKET], PORTS.s3proxy)
})
after(() => s3.stop())

interface ArchiverRole {
  role: string
  state: string
  partitions?: Array<{ partition: number; lag: number | null }>
  totals?: { segments: number; records: number; rejected: number }
}

async function archiverOf(url: string): Promise<ArchiverRole | undefined> {
  const res = await fetch(`${url}/health`).catch(() => undefined)
  if (!res) return undefined
  const body = (await res.json()) as { roles?: ArchiverRole[] }
  return body.roles?.find((r) => r.role === 'archiver')
}

async function startOn(port: number, args: string[], env: NodeJS.ProcessEnv = {}): Promise<SpawnedStrata> {
  const strata = spawnStrata(['start', '--port', String(port), '--brokers', brokers, ...args], env)
  let exit: number | null | undefined
  strata.exited.then((code) => {
    exit = code
  })
  await waitFor(async () => {
    if (exit !== undefined) throw new Error(`strata start exited with ${exit}:\n${strata.output()}`)
    return (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.ok === true
  }, 'strata start')
  return strata
}

async function post(url: string, lines: unknown[]): Promise<void> {
  const res = await fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: lines.map((e) => JSON.stringify(e)).join('\n'),
  })
  assert.equal(res.status, 202, await res.text())
}

/** The end of the sealed segments, per partition. */
async function sealedEnds(root: string, partitions: number, options = {}): Promise<number[]> {
  const dataset = await openMasterDataset(root, { readOnly: true, ...options })
  try {
    const ends: number[] = []
    for (let p = 0; p < partitions; p++) ends.push((await dataset.segments(p)).at(-1)?.end ?? 0)
    return ends
  } finally {
    await dataset.close()
  }
}

async function cleanUp(topic: string, groupPrefix: string): Promise<void> {
  const admin = createAdmin({ brokers })
  for (const group of [`${groupPrefix}-speed`, `${groupPrefix}-archiver`])
    await admin.deleteGroup(group).catch(() => undefined)
  await admin.deleteTopic(topic).catch(() => undefined)
  await admin.deleteTopic(`${topic}.dead-letter`).catch(() => undefined)
  await admin.close()
}

test('strata start: /health and /metrics show the archiver thread’s lag and totals; SIGTERM drains its open segments', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-archiver-thread-'))
  const topic = `test-${randomUUID()}`
  const groups = `test-${randomUUID()}`
  const configPath = await writePageviewsConfig(dir, topic, 2)
  let strata: SpawnedStrata | undefined
  t.after(async () => {
    strata?.child.kill('SIGKILL')
    await strata?.exited
    await cleanUp(topic, groups)
    await rm(dir, { recursive: true, force: true })
  })
  // Segments older than an hour only: nothing is sealed until the shutdown drains them.
  const args = ['--config', configPath, '--data', dir, '--group-prefix', groups, '--segment-age', '1h']
  strata = await startOn(PORTS.folder, args)
  const url = `http://127.0.0.1:${PORTS.folder}`
  const events = pageViews(400, 17)
  await post(url, events.slice(0, 250))
  await post(url, events.slice(250))

  await waitFor(async () => {
    const archiver = await archiverOf(url)
    return (
      archiver?.totals?.records === events.length &&
      archiver.partitions?.length === 2 &&
      archiver.partitions.every((p) => p.lag === 0)
    )
  }, 'the archiver thread to report every event taken in, lag 0 on both partitions')
  const archiver = (await archiverOf(url))!
  assert.equal(archiver.state, 'running')
  assert.deepEqual(archiver.totals, { segments: 0, records: events.length, rejected: 0 })
  const metrics = await (await fetch(`${url}/metrics`)).text()
  assert.match(
    metrics,
    new RegExp(`strata_role_progress_total\\{role="archiver",what="records"\\} ${events.length}`),
  )
  assert.match(metrics, /strata_role_lag_records\{role="archiver",partition="0"\} 0/)

  strata.child.kill('SIGTERM')
  assert.equal(await strata.exited, 0, strata.output())
  // What the thread held in its open segments was written whole on the way out: the master
  // dataset ends where the topic ends, and a restart's archiver has nothing to re-read.
  const ends = await sealedEnds(join(dir, 'master', topic), 2)
  assert.equal(
    ends.reduce((a, b) => a + b, 0),
    events.length,
  )
})

test('strata start --master s3://: the archiver thread reaches the bucket with the process’s settings and credentials', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-archiver-thread-'))
  const topic = `test-${randomUUID()}`
  const groups = `test-${randomUUID()}`
  const configPath = await writePageviewsConfig(dir, topic, 2)
  const master = `s3://${BUCKET}/start-${process.pid}`
  let strata: SpawnedStrata | undefined
  t.after(async () => {
    strata?.child.kill('SIGKILL')
    await strata?.exited
    await cleanUp(topic, groups)
    await rm(dir, { recursive: true, force: true })
  })
  const args = ['--config', configPath, '--data', dir, '--group-prefix', groups, '--segment-age', '500ms']
  // Only what a user sets: the AWS variables and the endpoint of an S3-compatible store.
  strata = await startOn(PORTS.s3, [...args, '--master', master], s3.env)
  const url = `http://127.0.0.1:${PORTS.s3}`
  const events = pageViews(300, 23)
  await post(url, events)
  const root = `${master}/${topic}`
  await waitFor(
    async () => (await sealedEnds(root, 2, { s3: s3.settings })).reduce((a, b) => a + b, 0) === events.length,
    'the archiver thread to seal every event into the bucket',
  )
  await waitFor(
    async () => ((await archiverOf(url))?.totals?.segments ?? 0) > 0,
    '/health to count the segments written from the thread',
  )
  assert.equal((await archiverOf(url))?.state, 'running')
  strata.child.kill('SIGTERM')
  assert.equal(await strata.exited, 0, strata.output())
})

// A config that throws in the archiver's thread only (its workerData names the role) once the
// test creates <dir>/crash: what an uncaught error in the archiver would do there.
async function writeCrashingConfig(dir: string, topic: string): Promise<string> {
  const configPath = join(dir, 'crash.config.ts')
  const api = pathToFileURL(join(import.meta.dirname, '../../src/config.ts')).href
  const flag = JSON.stringify(join(dir, 'crash'))
  await writeFile(
    configPath,
    `import { existsSync } from 'node:fs'
import { isMainThread, workerData } from 'node:worker_threads'
import { count, defineConfig, view } from '${api}'
if (!isMainThread && workerData?.role === 'archiver')
  setInterval(() => { if (existsSync(${flag})) throw new Error('archiver boom') }, 100).unref()
export default defineConfig({
  source: { topic: '${topic}', partitions: 1 },
  views: [view('all').key(() => 'all').aggregate(count())],
})
`,
  )
  return configPath
}

test('role thread: an archiver thread that dies is fatal, and failure() says why', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-archiver-thread-'))
  const topic = `test-${randomUUID()}`
  const groupId = `test-${randomUUID()}`
  t.after(async () => {
    await cleanUp(topic, groupId)
    await rm(dir, { recursive: true, force: true })
  })
  const admin = createAdmin({ brokers })
  await admin.createTopic({ topic, partitions: 1, replicationFactor: 1 })
  await admin.close()
  const errors: string[] = []
  const fatal: Array<{ code?: string; message: string }> = []
  const archiver = await startRoleThread(
    {
      logger: {
        info: () => undefined,
        warn: () => undefined,
        debug: () => undefined,
        error: (m, e) => errors.push(`${m}: ${(e as Error | undefined)?.message}`),
        child() {
          return this
        },
      },
      onFatal: (e) => fatal.push(e),
    },
    {
      role: 'archiver',
      configPath: await writeCrashingConfig(dir, topic),
      masterRoot: join(dir, 'master'),
      brokers,
      groupId,
      storeUrl: join(dir, 'store'),
      segmentAgeMs: 1000,
      statsEveryMs: 50,
    },
  )
  t.after(() => archiver.close())
  assert.equal(archiver.failure(), undefined)
  await writeFile(join(dir, 'crash'), '')
  await waitFor(async () => fatal.length > 0, 'the thread’s death to be fatal')
  assert.equal(fatal.length, 1)
  assert.equal(fatal[0]!.code, 'STRATA_ERR_INTERNAL')
  assert.match(fatal[0]!.message, /archiver thread failed: archiver boom/)
  assert.match(archiver.failure()?.message ?? '', /archiver boom/)
  assert.ok(
    errors.some((l) => l.startsWith('archiver thread failed; exiting: archiver boom')),
    errors.join('\n'),
  )
})

test('strata start: an archiver thread that dies ends the process with code 1 and says so', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-archiver-thread-'))
  const topic = `test-${randomUUID()}`
  const groups = `test-${randomUUID()}`
  const configPath = await writeCrashingConfig(dir, topic)
  let strata: SpawnedStrata | undefined
  t.after(async () => {
    strata?.child.kill('SIGKILL')
    await strata?.exited
    await cleanUp(topic, groups)
    await rm(dir, { recursive: true, force: true })
  })
  strata = await startOn(PORTS.crash, ['--config', configPath, '--data', dir, '--group-prefix', groups])
  await writeFile(join(dir, 'crash'), '')
  assert.equal(await strata.exited, 1)
  assert.match(strata.output(), /archiver thread failed; exiting/)
  assert.match(strata.output(), /archiver boom/)
})
