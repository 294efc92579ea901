// The master dataset on S3-compatible object storage, against a real S3Proxy started by the
// project (src/s3-server/) on a free port with a fresh backend: archive → list → tiling → batch
// gives the same batch versions as a folder, and each hazard is refused or continued correctly.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, type TestContext, test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { Archiver } from '../../src/archive/archiver.ts'
import type { ArchiveRecord } from '../../src/archive/partition-archiver.ts'
import { runBatch } from '../../src/batch/batch-run.ts'
import { loadConfig } from '../../src/core/config-loader.ts'
import type { PartitionHandlers, PartitionSource } from '../../src/log/partition-source.ts'
import {
  type MasterDataset,
  openMasterDataset,
  parseObjectStoreUrl,
  SegmentBuilder,
  SegmentStore,
} from '../../src/master-dataset/index.ts'
import { createObjectStore } from '../../src/master-dataset/s3/objects.ts'
import { archiverReporter } from '../../src/runtime/role-reporters.ts'
import { checkSourceIdentity, type SourceIdentity } from '../../src/runtime/source-identity.ts'
import { startS3Server, stopS3Server } from '../../src/s3-server/index.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { startTestS3, type TestS3 } from '../helpers/s3.ts'
import { pageView, tempDir } from './test-helpers.ts'

const BUCKET = 'strata-test'
let s3: TestS3
let prefixes = 0
before(async () => {
  s3 = await startTestS3([BUCKET])
})
after(() => s3.stop())

/** A fresh prefix of the test bucket, as a master dataset. */
async function freshS3(t: TestContext, cacheRoot?: string): Promise<{ url: string; dataset: MasterDataset }> {
  const defer = deferrer(t)
  const url = `s3://${BUCKET}/run-${process.pid}-${++prefixes}/events`
  const dataset = await openMasterDataset(url, { s3: s3.settings, ...(cacheRoot ? { cacheRoot } : {}) })
  defer(() => dataset.close())
  return { url, dataset }
}

function segmentOf(start: number, end: number, skip = -1): Buffer {
  const builder = new SegmentBuilder()
  for (let offset = start; offset < end; offset++) if (offset !== skip) builder.add(pageView(offset))
  return builder.data()
}

/** A topic in memory delivered in batches of 37 records; offsets have gaps (markers). */
class MemorySource implements PartitionSource {
  #topic: ArchiveRecord[][]
  delivered!: Promise<void>
  constructor(topic: ArchiveRecord[][]) {
    this.#topic = topic
  }
  async start(handlers: PartitionHandlers): Promise<void> {
    const starts = await handlers.onAssign(this.#topic.map((_, p) => p))
    this.delivered = (async () => {
      for (const [p, records] of this.#topic.entries()) {
        const from = starts.get(p) ?? 0
        const rest = records.filter((r) => r.offset >= from)
        for (let i = 0; i < rest.length; i += 37) {
          const batch = rest.slice(i, i + 37)
          const next = (rest[i + 37]?.offset ?? batch.at(-1)!.offset + 1) as number
          await handlers.onBatch({ partition: p, records: batch, nextOffset: next })
        }
      }
    })()
  }
  async commit(): Promise<void> {}
  async close(): Promise<void> {}
}

function topic(partitions: number, perPartition: number): ArchiveRecord[][] {
  let x = 11
  const rand = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31
    return x / 2 ** 31
  }
  const base = Date.UTC(2025, 10, 24)
  return Array.from({ length: partitions }, () => {
    let offset = 0
    return Array.from({ length: perPartition }, () => {
      if (rand() < 0.05) offset++ // a transaction marker: a gap every range accounts for
      const ts = base + Math.floor(rand() * 30 * 3_600_000)
      const event = {
        type: rand() < 0.8 ? 'page_view' : 'click',
        url: `/p${Math.floor(rand() * 12)}`,
        user: `u${Math.floor(rand() * 90)}`,
        ts,
      }
      return { offset: offset++, timestamp: ts, key: null, value: Buffer.from(JSON.stringify(event)) }
    })
  })
}

async function archive(dataset: MasterDataset, records: ArchiveRecord[][]): Promise<Archiver> {
  const source = new MemorySource(records)
  const archiver = new Archiver(dataset, source, { maxSegmentRecords: 150, maxSegmentAgeMs: 60_000 })
  await archiver.start()
  await source.delivered
  await archiver.close()
  return archiver
}

const index = pathToFileURL(join(import.meta.dirname, '../../src/config.ts')).href
const configText = `import { count, defineConfig, distinctCount, topK, tumbling, view } from '${index}'
export default defineConfig({
  source: { topic: 'events', partitions: 2 },
  views: [
    view('pageviews_by_url').filter((e) => e.type === 'page_view').key((e) => e.url).window(tumbling('1h')).aggregate(count()),
    view('unique_users_by_url').key((e) => e.url).window(tumbling('1d')).aggregate(distinctCount((e) => e.user)),
    view('top_urls').filter((e) => e.type === 'page_view').key(() => 'all').aggregate(topK(3, (e) => e.url)),
  ],
})
`

test('s3 master: archive → list → tiling → batch gives the same versions as from a folder', async (t) => {
  const defer = deferrer(t)
  const dir = await tempDir(t, 'strata-s3-batch-')
  const records = topic(2, 1000)
  const folder = await SegmentStore.open(join(dir, 'master', 'events'))
  const { url, dataset } = await freshS3(t)
  await archive(folder, records)
  await archive(dataset, records)
  for (const p of [0, 1]) {
    assert.deepEqual(await dataset.segments(p), await folder.segments(p))
    assert.ok((await dataset.segments(p)).length >= 6)
  }
  const configPath = join(dir, 'strata.config.ts')
  await writeFile(configPath, configText)
  const config = await loadConfig(configPath)
  const fromFolder = await openLmdbStore(join(dir, 'store-folder'))
  const fromS3 = await openLmdbStore(join(dir, 'store-s3'))
  defer(() => Promise.all([fromFolder.close(), fromS3.close()]))
  const a = await runBatch({ config, configPath, root: folder.root, store: fromFolder, threads: 2 })
  const b = await runBatch({
    config,
    configPath,
    root: url,
    cacheRoot: join(dir, 'cache'),
    s3: s3.settings,
    store: fromS3,
    threads: 2,
  })
  assert.deepEqual(b.plan.horizon, a.plan.horizon)
  assert.equal(b.events, a.events)
  assert.ok(a.events > 1800)
  for (const view of ['pageviews_by_url', 'unique_users_by_url', 'top_urls']) {
    const va = (await fromFolder.servedBatch(view))!
    const vb = (await fromS3.servedBatch(view))!
    assert.equal(vb.groups, va.groups)
    for (const key of ['all', ...Array.from({ length: 12 }, (_, i) => `/p${i}`)]) {
      assert.deepEqual(
        await fromS3.readBatch(view, vb.version, key),
        await fromFolder.readBatch(view, va.version, key),
      )
    }
  }
})

test('s3 master: two archivers on one segment — the same bytes are identical, another cut at the same start is refused', async (t) => {
  const defer = deferrer(t)
  const { url } = await freshS3(t)
  const one = await openMasterDataset(url, { s3: s3.settings })
  const two = await openMasterDataset(url, { s3: s3.settings })
  defer(() => Promise.all([one.close(), two.close()]))
  assert.equal(await one.writeSegment(0, { start: 0, end: 10 }, segmentOf(0, 10)), 'written')
  assert.equal(await two.writeSegment(0, { start: 0, end: 10 }, segmentOf(0, 10)), 'identical')
  await assert.rejects(two.writeSegment(0, { start: 0, end: 10 }, segmentOf(0, 10, 3)), {
    code: 'STRATA_ERR_SEGMENT_CONFLICT',
  })
  // Two cuts from the same listing, [10, 20) then [10, 15): one commit per start offset, never an
  // overlap. One after the other, not raced: S3Proxy's filesystem backend checks If-None-Match and
  // writes in two steps, so two truly concurrent PUTs can both succeed there (seen in CI); AWS S3
  // and MinIO make the check atomic (decision 0014, "What the server must do").
  assert.equal(await one.writeSegment(0, { start: 10, end: 20 }, segmentOf(10, 20)), 'written')
  await assert.rejects(two.writeSegment(0, { start: 10, end: 15 }, segmentOf(10, 15)), {
    code: 'STRATA_ERR_SEGMENT_CONFLICT',
  })
  const segments = await one.segments(0)
  assert.equal(segments.length, 2)
  assert.equal(segments[1]!.start, 10)
})

test('s3 master: an upload interrupted after its data object is never listed; the next writer goes on', async (t) => {
  const defer = deferrer(t)
  const { url, dataset } = await freshS3(t)
  const objects = createObjectStore(parseObjectStoreUrl(url), s3.settings)
  defer(() => objects.close())
  const { prefix } = parseObjectStoreUrl(url)
  await dataset.writeSegment(0, { start: 0, end: 10 }, segmentOf(0, 10))
  // The crash: [10, 30)'s data uploaded, its checksum never.
  await objects.putIfAbsent(
    `${prefix}/p0000/00000000000000000010-00000000000000000030.ndjson`,
    segmentOf(10, 30),
  )
  assert.deepEqual(await dataset.segments(0), [{ start: 0, end: 10 }])
  assert.equal(await dataset.nextOffset(0), 10)
  // The next owner cuts differently: written, and the orphan stays out of every listing.
  assert.equal(await dataset.writeSegment(0, { start: 10, end: 20 }, segmentOf(10, 20)), 'written')
  assert.deepEqual(await dataset.segments(0), [
    { start: 0, end: 10 },
    { start: 10, end: 20 },
  ])
  // The same range as an interrupted upload with the same bytes: accepted, then committed.
  await objects.putIfAbsent(
    `${prefix}/p0000/00000000000000000020-00000000000000000025.ndjson`,
    segmentOf(20, 25),
  )
  assert.equal(await dataset.writeSegment(0, { start: 20, end: 25 }, segmentOf(20, 25)), 'written')
  assert.equal((await dataset.readSegment(0, { start: 20, end: 25 })).length, segmentOf(20, 25).length)
})

test('s3 master: a damaged object fails its checksum (SEGMENT_CORRUPT), in reads and in a batch run', async (t) => {
  const defer = deferrer(t)
  const dir = await tempDir(t, 'strata-s3-damage-')
  const { url, dataset } = await freshS3(t)
  await dataset.writeSegment(0, { start: 0, end: 10 }, segmentOf(0, 10))
  const { prefix } = parseObjectStoreUrl(url)
  // S3Proxy's filesystem backend: one file per key under <data>/<bucket>/.
  const file = join(s3.dataDir, BUCKET, prefix, 'p0000', '00000000000000000000-00000000000000000010.ndjson')
  const damaged = segmentOf(0, 10)
  damaged[40] ^= 1
  await writeFile(file, damaged)
  await assert.rejects(dataset.readSegment(0, { start: 0, end: 10 }), { code: 'STRATA_ERR_SEGMENT_CORRUPT' })
  const configPath = join(dir, 'strata.config.ts')
  await writeFile(configPath, configText)
  const store = await openLmdbStore(join(dir, 'store'))
  defer(() => store.close())
  await assert.rejects(
    runBatch({
      config: await loadConfig(configPath),
      configPath,
      root: url,
      cacheRoot: join(dir, 'cache'),
      s3: s3.settings,
      store,
      threads: 1,
    }),
    { code: 'STRATA_ERR_SEGMENT_CORRUPT' },
  )
  assert.equal(await store.servedBatch('pageviews_by_url'), undefined)
})

test('s3 master: wrong credentials are STRATA_ERR_MASTER_AUTH, and no message holds a secret', async (t) => {
  const defer = deferrer(t)
  const saved = process.env.AWS_SECRET_ACCESS_KEY
  process.env.AWS_SECRET_ACCESS_KEY = 'wrong-secret-7f3a9c'
  defer(() => {
    process.env.AWS_SECRET_ACCESS_KEY = saved
  })
  const dataset = await openMasterDataset(`s3://${BUCKET}/auth`, { s3: s3.settings })
  defer(() => dataset.close())
  const error = await dataset.partitions().then(
    () => assert.fail('listing with a wrong secret succeeded'),
    (e: Error & { code?: string }) => e,
  )
  assert.equal(error.code, 'STRATA_ERR_MASTER_AUTH')
  const everything = `${error.message} ${error.stack} ${String((error as { cause?: unknown }).cause ?? '')}`
  assert.ok(!everything.includes('wrong-secret-7f3a9c'))
  assert.ok(!everything.includes(s3.server.secretAccessKey))
})

test('s3 master: a prefix written from another source is refused (SOURCE_MISMATCH)', async (t) => {
  const { url } = await freshS3(t)
  const logger = { warn() {}, info() {}, error() {} } as never
  const a: SourceIdentity = { kind: 'kafka', clusterId: 'c1', topic: 'events', topicId: 't1', partitions: 2 }
  const b: SourceIdentity = { ...a, topicId: 't2' }
  await checkSourceIdentity({ source: a, folder: { root: url, create: true, s3: s3.settings }, logger })
  await checkSourceIdentity({ source: a, folder: { root: url, create: true, s3: s3.settings }, logger })
  await assert.rejects(
    checkSourceIdentity({ source: b, folder: { root: url, create: true, s3: s3.settings }, logger }),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, 'STRATA_ERR_SOURCE_MISMATCH')
      assert.match(error.message, /t1/)
      // It names the object-store prefix and the way out there, not a data folder.
      assert.match(error.message, new RegExp(`the master dataset at ${url}`))
      assert.match(error.message, /another --master prefix/)
      assert.doesNotMatch(error.message, /data folder/)
      return true
    },
  )
})

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

test('s3 master: an unreachable store — the batch run fails clearly; the archiver retries, says so in its health, and goes on once the store is back', async (t) => {
  const defer = deferrer(t)
  const dir = await tempDir(t, 'strata-s3-down-')
  const port = await freePort()
  const settings = { endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true }
  const url = `s3://${BUCKET}/down/events`
  const configPath = join(dir, 'strata.config.ts')
  await writeFile(configPath, configText)
  const store = await openLmdbStore(join(dir, 'store'))
  defer(() => store.close())
  await assert.rejects(
    runBatch({
      config: await loadConfig(configPath),
      configPath,
      root: url,
      cacheRoot: join(dir, 'cache'),
      s3: settings,
      store,
    }),
    { code: 'STRATA_ERR_MASTER_UNAVAILABLE' },
  )

  const dataset = await openMasterDataset(url, { s3: settings })
  defer(() => dataset.close())
  const records = topic(1, 400)
  const source = new MemorySource(records)
  // The last 100 records stay in the open segment until its age (4 s) cuts it: by then the store is down.
  const archiver = new Archiver(dataset, source, { maxSegmentRecords: 150, maxSegmentAgeMs: 4_000 })
  // Its own folder, stopped then removed in one cleanup (a server whose pid file is gone would be
  // left running).
  const s3dir = await mkdtemp(join(tmpdir(), 'strata-s3-down-'))
  defer(async () => {
    await stopS3Server({ port, dir: s3dir })
    await rm(s3dir, { recursive: true, force: true })
  })
  const server = startS3Server({ port, dir: s3dir, buckets: [BUCKET] })
  const reporter = archiverReporter(() => archiver.stats)
  await server
  await archiver.start()
  await source.delivered
  await stopS3Server({ port, dir: s3dir })
  while (archiver.stats.writeFailures === 0) await new Promise((r) => setTimeout(r, 50))
  const report = await reporter()
  assert.equal(report.state, 'degraded')
  assert.match(report.reason ?? '', /STRATA_ERR_MASTER_UNAVAILABLE/)
  await startS3Server({ port, dir: s3dir, buckets: [BUCKET] })
  while (archiver.stats.writeFailures > 0) await new Promise((r) => setTimeout(r, 50))
  assert.equal((await reporter()).state, 'running')
  await archiver.close()
  const segments = await dataset.segments(0)
  assert.equal(segments[0]!.start, 0)
  assert.equal(segments.at(-1)!.end, records[0]!.at(-1)!.offset + 1)
})
