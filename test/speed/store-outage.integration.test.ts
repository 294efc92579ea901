// Availability through PostgreSQL outages (issue 7 follow-up), on a scratch PostgreSQL of our own
// (the shared one on 5432 must never be stopped) and the real broker:
// - `strata worker serve` started while PostgreSQL is down waits for it (saying so) and comes up
//   once it starts, instead of exiting 1 into a crash loop;
// - a speed worker folding a real topic into PostgreSQL rides out `pg_ctl stop -m immediate` and
//   a restart a few seconds later: still running, every partition still owned, and the views
//   exact (every event counted once) afterwards;
// - meanwhile the serving process answers queries 503 STRATA_ERR_STORE_UNAVAILABLE with
//   Retry-After, and 200 again once PostgreSQL is back.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { after, before, test } from 'node:test'
import type { StrataError } from '../../src/core/errors.ts'
import { ErrorCodes } from '../../src/core/errors.ts'
import type { StrataEvent } from '../../src/core/event.ts'
import { createProducer } from '../../src/log/kafka/index.ts'
import { createSpeedWorker } from '../../src/speed/index.ts'
import { openPostgresStore } from '../../src/store/postgres/index.ts'
import { type ScratchPostgres, startScratchPostgres } from '../faults/postgres.ts'
import { bin, freePort } from '../helpers/process.ts'
import { brokers, createTestTopic, defer, testAdmin, testGroup } from '../log/kafka/helpers.ts'
import { assertExact, byPartition, pageView, speedFixture, type TestRecord, waitFor } from './helpers.ts'

const PARTITIONS = 3
const strata = bin

let pg: ScratchPostgres
let serve: { child: ChildProcess; output: string; url: string } | undefined
let storeUrl: string

before(async () => {
  pg = await startScratchPostgres(await freePort())
  storeUrl = `${pg.url}?schema=strata_outage`
})

after(async () => {
  if (serve && serve.child.exitCode === null) {
    serve.child.kill('SIGTERM')
    await new Promise((resolve) => serve?.child.once('exit', resolve))
  }
  await pg?.destroy()
})

test('strata worker serve started while PostgreSQL is down waits for it, then serves', async (t) => {
  const fixture = await speedFixture(t, PARTITIONS)
  await pg.crash()
  const port = await freePort()
  const child = spawn(
    process.execPath,
    [strata, 'worker', 'serve', '--config', fixture.configPath, '--store', storeUrl, '--port', String(port)],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, STRATA_BROKERS: '' } },
  )
  serve = { child, output: '', url: `http://127.0.0.1:${port}` }
  const running = serve
  child.stdout?.on('data', (chunk) => {
    running.output += chunk
  })
  child.stderr?.on('data', (chunk) => {
    running.output += chunk
  })
  await waitFor(
    () =>
      /waiting for PostgreSQL at 127\.0\.0\.1:\d+ \(attempt 2\)/.test(running.output) ||
      child.exitCode !== null,
    'the role to say it waits for PostgreSQL',
  )
  assert.equal(child.exitCode, null, `the role exited instead of waiting:\n${running.output}`)
  await pg.start()
  // The port is bound from the start (503 STRATA_ERR_STARTING meanwhile); it answers once the
  // store is open.
  let last = ''
  await waitFor(async () => {
    if (child.exitCode !== null) return true
    const res = await fetch(`${running.url}/views/hits/%2Fa`)
    last = `${res.status} ${await res.text()}`
    return res.status === 200
  }, 'the role to answer queries')
  assert.equal(child.exitCode, null, running.output)
  assert.match(last, /^200 /, last)
})

test('a speed worker rides out a PostgreSQL crash and restart; the views stay exact; queries get 503 meanwhile', async (t) => {
  assert.ok(serve, 'the serve test ran first')
  const serving = serve
  const admin = testAdmin(t)
  const topic = await createTestTopic(t, admin, PARTITIONS)
  const groupId = testGroup(t, admin)
  const fixture = await speedFixture(t, PARTITIONS, topic)
  const store = await openPostgresStore(storeUrl)
  defer(t, () => store.close())
  const producer = createProducer({ brokers })
  defer(t, () => producer.close())

  const retries: string[] = []
  const fatal: StrataError[] = []
  const errors: StrataError[] = []
  const worker = createSpeedWorker({
    store,
    config: fixture.config,
    brokers,
    groupId,
    policy: { commitEveryMs: 50 },
    onStoreRetry: (partition, doing, retry) => retries.push(`${partition} ${doing} #${retry.attempt}`),
    onFatal: (error) => fatal.push(error),
    onError: (error) => errors.push(error),
  })
  defer(t, () => worker.close())
  await worker.start()

  const records: TestRecord[][] = byPartition(PARTITIONS, [], [])
  let n = 0
  const produce = async (count: number) => {
    const values: StrataEvent[] = []
    for (let i = 0; i < count; i++, n++) values.push(pageView(n))
    const positions = await producer.send(
      topic,
      values.map((v, i) => ({ key: `k${(n + i) % 11}`, value: JSON.stringify(v) })),
    )
    byPartition(PARTITIONS, values, positions, records)
  }
  const caughtUp = async (what: string) => {
    const ends = (await admin.listOffsets(topic))
      .sort((a, b) => a.partition - b.partition)
      .map((p) => p.latest)
    await waitFor(
      async () => {
        const stored = await store.speedPartitions().catch(() => [])
        return ends.every((end, p) => stored.find((s) => s.partition === p)?.offset === end)
      },
      what,
      90_000,
    )
  }

  await waitFor(() => worker.stats().partitions.length === PARTITIONS, 'the worker owns every partition')
  await produce(300)
  await caughtUp('the first wave is committed')

  // PostgreSQL crashes while events keep coming: folds and commits hit the outage.
  await pg.crash()
  for (let i = 0; i < 6; i++) {
    await produce(50)
    await new Promise((resolve) => setTimeout(resolve, 300))
  }
  // The serving process, asked meanwhile: 503 with a code and Retry-After, not 500.
  const down = await fetch(`${serving.url}/views/hits/%2Fa`)
  assert.equal(down.status, 503, await down.clone().text())
  const body = (await down.json()) as { error: { code: string } }
  assert.equal(body.error.code, ErrorCodes.STORE_UNAVAILABLE)
  assert.ok(Number(down.headers.get('retry-after')) > 0)
  await pg.start()

  await produce(100)
  await caughtUp('every event is committed after the restart')
  assert.ok(retries.length > 0, 'the outage never reached a store call of the worker')
  assert.deepEqual(fatal, [])
  const owned = worker.stats().partitions
  assert.equal(owned.length, PARTITIONS)
  for (const p of owned) assert.equal(p.stopped, null, `partition ${p.partition} stopped: ${p.stopped}`)
  await assertExact(store, fixture.views, records, 'after the PostgreSQL restart')
  const total = records.reduce((sum, r) => sum + r.length, 0)
  assert.equal(total, n)
  assert.equal(serving.child.exitCode, null, 'the serving process died during the outage')
  assert.equal((await fetch(`${serving.url}/views/hits/%2Fa`)).status, 200)
})
