// The production shape, separate processes on Kafka and PostgreSQL: `strata worker archiver` has
// no HTTP server, and before session 20 a frozen one was in nobody's /health. Now it records a
// heartbeat in the store (runtime/role-heartbeat.ts) and `strata worker serve` lists it: running
// while heard; frozen (SIGSTOP) past 30 s → /health 503 naming it and /metrics strata_role_up 0;
// heard again → ok; stopped cleanly → no longer listed (a deployment without it is fine).
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { RoleReport } from '../../src/core/role-health.ts'
import { createAdmin } from '../../src/log/kafka/index.ts'
import { brokers } from '../helpers/kafka.ts'
import { freePort, type SpawnedStrata, spawnStrata } from '../helpers/process.ts'
import { dropSchema, testUrl as pgUrl } from '../store/postgres-helpers.ts'
import { waitFor, writePageviewsConfig } from './start-helpers.ts'

test('serve names a frozen archiver worker from its heartbeat, and drops one stopped cleanly', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-heartbeat-'))
  const id = randomUUID().replaceAll('-', '').slice(0, 12)
  const topic = `${process.env.STRATA_TEST_TOPIC_PREFIX ?? 'test-'}hb-${id}`
  const schema = `strata_test_${id}`
  const group = `${topic}-archiver`
  const store = `${pgUrl}?schema=${schema}`
  const configPath = await writePageviewsConfig(dir, topic, 2)
  const port = Number(process.env.STRATA_TEST_PORT ?? 0) || (await freePort())
  const common = ['--config', configPath, '--brokers', brokers, '--store', store]
  const spawned: SpawnedStrata[] = []
  t.after(async () => {
    for (const run of spawned) {
      run.child.kill('SIGCONT')
      run.child.kill('SIGKILL')
      await run.exited
    }
    const admin = createAdmin({ brokers })
    await admin.deleteGroup(group).catch(() => undefined)
    await admin.deleteTopic(topic).catch(() => undefined)
    await admin.close()
    await dropSchema(schema)
    await rm(dir, { recursive: true, force: true })
  })
  const archiver = spawnStrata([
    ...['worker', 'archiver', ...common, '--data', join(dir, 'archiver'), '--group', group],
  ])
  spawned.push(archiver)
  const serve = spawnStrata([
    'worker',
    'serve',
    ...common,
    '--data',
    join(dir, 'serve'),
    '--port',
    String(port),
  ])
  spawned.push(serve)
  const pid = archiver.child.pid!
  const health = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/health`)
    const body = (await res.json()) as { status: string; roles?: RoleReport[] }
    return { status: res.status, body, archiver: body.roles?.find((r) => r.role === 'archiver') }
  }
  const output = () => `archiver:\n${archiver.output()}\nserve:\n${serve.output()}`

  await waitFor(
    async () => (await health().catch(() => undefined))?.archiver?.instance?.pid === pid,
    `serve to list the archiver worker\n${output()}`,
  )
  const heard = await health()
  assert.equal(heard.status, 200, JSON.stringify(heard.body))
  assert.equal(heard.archiver?.state, 'running')
  assert.ok(heard.archiver?.progress && 'segments' in heard.archiver.progress, JSON.stringify(heard.archiver))

  // Frozen: the process is there, its heartbeat is not.
  archiver.child.kill('SIGSTOP')
  await waitFor(
    async () => (await health()).status === 503,
    `serve to call the frozen archiver stalled\n${output()}`,
  )
  const frozen = await health()
  assert.equal(frozen.body.status, 'down')
  assert.equal(frozen.archiver?.state, 'stalled')
  assert.match(
    frozen.archiver?.reason ?? '',
    new RegExp(`no heartbeat from archiver \\(pid ${pid} on .*\\) for \\d+ s`),
  )
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  assert.match(metrics, new RegExp(`strata_role_up\\{role="archiver",instance="[^"]+:${pid}"\\} 0`))

  // Heard again.
  archiver.child.kill('SIGCONT')
  await waitFor(
    async () => (await health()).archiver?.state === 'running',
    `the archiver heard again\n${output()}`,
  )
  assert.equal((await health()).status, 200)

  // Stopped on purpose: its last heartbeat says so, and it is no longer listed.
  archiver.child.kill('SIGTERM')
  assert.equal(await archiver.exited, 0, output())
  const after = await health()
  assert.equal(after.archiver, undefined, JSON.stringify(after.body))
  assert.equal(after.status, 200)
})
