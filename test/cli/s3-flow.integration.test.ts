// The master dataset on object storage through the command line, as a user runs it: events
// produced with `strata produce` to real Kafka, archived by `strata worker archiver --master
// s3://…` into a real S3Proxy, recomputed by `strata batch --master s3://…`, answered by
// `strata query` with the exact hourly counts — the same flags, env and refusals a user meets.
import assert from 'node:assert/strict'
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { createAdmin } from '../../src/log/kafka/index.ts'
import { openMasterDataset } from '../../src/master-dataset/index.ts'
import { brokers } from '../helpers/kafka.ts'
import { startTestS3, type TestS3 } from '../helpers/s3.ts'
import { bin, hourlyCounts, pageViews, waitFor } from '../runtime/start-helpers.ts'

const BUCKET = 'strata-cli'
let s3: TestS3
before(async () => {
  s3 = await startTestS3([BUCKET])
})
after(() => s3.stop())

const api = pathToFileURL(join(import.meta.dirname, '../../src/config.ts')).href
const config = (topic: string) => `import { count, defineConfig, tumbling, view } from '${api}'
export default defineConfig({
  source: { topic: '${topic}', partitions: 2 },
  views: [
    view('pageviews_by_url').filter((e) => e.type === 'page_view').key((e) => e.url).window(tumbling('1h')).aggregate(count()),
  ],
})
`

test('produce → archiver --master s3:// → strata batch --master s3:// → strata query', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-cli-s3-'))
  const topic = `test-${randomUUID()}`
  const group = `test-archiver-${randomUUID()}`
  const master = `s3://${BUCKET}/cli-${process.pid}`
  const configPath = join(dir, 'strata.config.ts')
  await writeFile(configPath, config(topic))
  // Only what a user sets: the AWS variables and the endpoint of an S3-compatible store.
  const env = { ...process.env, ...s3.env, STRATA_BROKERS: brokers, STRATA_STORE: '' }
  const strata = (args: string[], input?: string) =>
    execFileSync(process.execPath, [bin, ...args], { input, encoding: 'utf8', env })
  let archiver: ChildProcess | undefined
  t.after(async () => {
    archiver?.kill('SIGKILL')
    const admin = createAdmin({ brokers })
    await admin.deleteGroup(group).catch(() => undefined)
    await admin.deleteTopic(topic)
    await admin.close()
    await rm(dir, { recursive: true, force: true })
  })

  const events = pageViews(600, 3)
  const produced = JSON.parse(
    strata(
      ['produce', '--topic', topic, '--partitions', '2'],
      events.map((e) => JSON.stringify(e)).join('\n'),
    ),
  )
  assert.equal(produced.count, 600)

  archiver = spawn(
    process.execPath,
    [
      bin,
      'worker',
      'archiver',
      '--config',
      configPath,
      '--data',
      dir,
      '--master',
      master,
      '--brokers',
      brokers,
      '--segment-age',
      '500ms',
      '--group',
      group,
    ],
    { stdio: 'ignore', env },
  )
  // What is in the bucket, read back as any reader would: the sealed offsets per partition.
  const dataset = await openMasterDataset(`${master}/${topic}`, { readOnly: true, s3: s3.settings })
  t.after(() => dataset.close())
  const sealed = async () => {
    let total = 0
    for (const p of [0, 1]) total += (await dataset.segments(p).catch(() => [])).at(-1)?.end ?? 0
    return total
  }
  await waitFor(
    async () => (await sealed()) === 600,
    'the archiver to seal every event into the bucket',
    60_000,
  )

  const run = strata(['batch', '--config', configPath, '--data', dir, '--master', master, '--threads', '1'])
  assert.match(run, /pageviews_by_url: version 1/)
  const answer = JSON.parse(
    strata(['query', 'pageviews_by_url', '/a', '--config', configPath, '--data', dir]),
  )
  assert.equal(answer.batch.version, 1)
  assert.deepEqual(answer.batch.horizon, answer.asOf)
  assert.deepEqual(
    answer.windows.map((w: { windowStart: number; value: number }) => [w.windowStart, w.value]),
    hourlyCounts(events, '/a'),
  )

  // A bucket that does not exist: a clear refusal with a code, not an empty answer.
  const missing = spawnSync(
    process.execPath,
    [
      bin,
      'batch',
      '--config',
      configPath,
      '--data',
      join(dir, 'other'),
      '--master',
      `s3://no-such-bucket-${process.pid}/x`,
    ],
    { encoding: 'utf8', env },
  )
  assert.notEqual(missing.status, 0)
  assert.match(missing.stderr, /STRATA_ERR_MASTER_/)
})
