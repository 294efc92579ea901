// Retention that outran the archiver and the speed layer (issue 11), on the real broker: events
// read, the process stopped, more events written and then deleted by deleteRecords (what
// retention does) before anyone read them. The restarted process must not run half-alive on a
// hole: it exits 1 with STRATA_ERR_RETENTION_OUTRAN and the count; a serving process on the same
// store says so on /health (503, with the count), /views and /metrics; after strata reset the roles
// start again where the topic now starts and count what it holds.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { createAdmin, createProducer } from '../../src/log/kafka/index.ts'
import { listPartition } from '../../src/master-dataset/index.ts'
import { freePort, spawnStrata } from '../helpers/process.ts'
import { brokers, defer } from '../log/kafka/helpers.ts'
import { answer, covered, startStrata, waitFor, writePageviewsConfig } from '../runtime/start-helpers.ts'

async function produce(topic: string, n: number): Promise<void> {
  const producer = createProducer({ brokers })
  const time = Date.UTC(2026, 0, 1)
  await producer.send(
    topic,
    Array.from({ length: n }, () => ({ value: JSON.stringify({ type: 'page_view', url: '/a', ts: time }) })),
  )
  await producer.close()
}

test('records deleted before they were read: the roles exit 1 with the count, and /health is 503', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-retention-'))
  const topic = `test-${randomUUID()}`
  const configPath = await writePageviewsConfig(dir, topic, 1)
  const admin = createAdmin({ brokers })
  const prefix = `retention-${randomUUID()}`
  defer(t, async () => {
    for (const group of [`${prefix}-speed`, `${prefix}-archiver`])
      await admin.deleteGroup(group).catch(() => {})
    await admin.deleteTopic(topic).catch(() => undefined)
    await admin.close()
    await rm(dir, { recursive: true, force: true })
  })
  const args = ['--config', configPath, '--data', dir, '--brokers', brokers, '--group-prefix', prefix]
  const first = await startStrata(dir, [...args, '--segment-age', '1s'], 1)
  defer(t, () => first.child.kill('SIGKILL'))
  await produce(topic, 10)
  await waitFor(
    async () => covered(await answer(first.url, 'pageviews_by_url', '/a')) === 10,
    'speed to read 10',
  )
  const root = join(dir, 'master', topic)
  await waitFor(async () => (await listPartition(root, 0)).segments.at(-1)?.end === 10, 'archiver to seal 10')
  first.child.kill('SIGTERM')
  assert.equal(await first.exited, 0)

  await produce(topic, 10)
  await admin.deleteRecords(topic, 0, 20) // retention, before anyone read offsets 10..19

  const again = spawnStrata(['start', ...args, '--port', String(await freePort())])
  defer(t, () => again.child.kill('SIGKILL'))
  const code = await Promise.race([
    again.exited,
    new Promise((r) => setTimeout(() => r('still running'), 60_000).unref()),
  ])
  assert.equal(code, 1, `expected exit 1, got ${code}:\n${again.output()}`)
  assert.match(again.output(), /\[STRATA_ERR_RETENTION_OUTRAN\]/)
  assert.match(again.output(), /deleted 10 records before they were read/)
  if (process.env.SHOW) console.log(again.output())

  // A serving process on the same store (strata worker serve): 503 on /health, with the count.
  const port = await freePort()
  const serve = spawnStrata(['worker', 'serve', ...args.slice(0, 6), '--port', String(port)])
  defer(t, async () => {
    serve.child.kill('SIGKILL')
    await serve.exited
  })
  const url = `http://127.0.0.1:${port}`
  let health: Response | undefined
  // The port is bound first (503 "starting" until the store is open): wait for its real answer.
  await waitFor(async () => {
    health = await fetch(`${url}/health`).catch(() => undefined)
    return health !== undefined && ((await health.clone().json()) as { status: string }).status !== 'starting'
  }, 'strata worker serve')
  assert.equal(health!.status, 503)
  const body = (await health!.json()) as { status: string; parts: { log: { error: string; lost: number } } }
  assert.equal(body.status, 'down')
  assert.deepEqual(body.parts.log, { status: 'down', error: 'STRATA_ERR_RETENTION_OUTRAN', lost: 10 })
  const views = (await (await fetch(`${url}/views`)).json()) as { log: { error: string; lost: number } }
  assert.equal(views.log.lost, 10)
  const metrics = await (await fetch(`${url}/metrics`)).text()
  assert.match(metrics, /^strata_retention_lost_records 10$/m)
  serve.child.kill('SIGTERM')
  await serve.exited

  // The documented way out: strata reset, then the roles start again where the topic now starts.
  const reset = spawnStrata(['reset', ...args.slice(0, 4), '--yes'])
  assert.equal(await reset.exited, 0, reset.output())
  await produce(topic, 5)
  const after = await startStrata(dir, [...args, '--segment-age', '1s', '--batch-interval', '2s'], 2)
  defer(t, () => after.child.kill('SIGKILL'))
  await waitFor(
    async () => covered(await answer(after.url, 'pageviews_by_url', '/a')) === 25,
    'speed to reach 25',
  )
  const counted = (await answer(after.url, 'pageviews_by_url', '/a')).windows.reduce((n, w) => n + w.value, 0)
  assert.equal(counted, 5)
  await waitFor(async () => (await answer(after.url, 'pageviews_by_url', '/a')).batch !== null, 'a batch run')
  const batched = await answer(after.url, 'pageviews_by_url', '/a')
  assert.equal(
    batched.windows.reduce((n, w) => n + w.value, 0),
    5,
  )
})
