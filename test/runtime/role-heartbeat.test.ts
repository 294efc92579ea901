// A worker role run alone (`strata worker archiver|batch|speed`) has no HTTP server: before
// session 20 a frozen or dead archiver, or a batch worker that exited after 3 failed runs, was in
// its own log only and `strata worker serve` said ok. Each now records a heartbeat in the store
// (runtime/role-heartbeat.ts) and serve's /health lists it: fresh → its own state; silent past
// HEARTBEAT_STALE_MS → stalled, 503, naming it; failed → failed, 503, with why; a clean stop or a
// restart drops the old row; a role that never beat is not invented. The same on /metrics.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RoleHealth, type RoleReport } from '../../src/core/role-health.ts'
import type { Logger } from '../../src/runtime/logger.ts'
import {
  HEARTBEAT_STALE_MS,
  type Heartbeat,
  heartbeatReporter,
  judgeHeartbeats,
  startHeartbeat,
} from '../../src/runtime/role-heartbeat.ts'
import { batchReporter } from '../../src/runtime/role-reporters.ts'
import { createApp, listen } from '../../src/serving/app.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { config, openStore } from '../serving/fixture.ts'

const quiet = { info() {}, warn() {}, error() {}, debug() {} } as unknown as Logger

test('serve lists a worker by its heartbeat: fresh is ok, silent or failed is 503 naming it', async (t) => {
  const defer = deferrer(t)
  const store = await openStore(t)
  let clock = Date.now()
  const roles = new RoleHealth()
  roles.addMany(heartbeatReporter(store, () => clock))
  const app = await createApp({ config, store, roles })
  defer(() => app.close())
  const { url } = await listen(app, { port: 0 })
  const health = async () => {
    const res = await fetch(`${url}/health`)
    return { status: res.status, body: (await res.json()) as { status: string; roles: RoleReport[] } }
  }

  // No worker has beaten: nothing invented.
  assert.deepEqual((await health()).body.roles, [])

  let archiver: RoleReport = { role: 'archiver', state: 'running', totals: { segments: 3, records: 120 } }
  const beat = startHeartbeat(store, 'archiver', () => archiver, quiet, {
    everyMs: 60_000,
    now: () => clock,
    host: 'h1',
    pid: 101,
  })
  // The first beat is written at once; wait for it to land.
  for (let i = 0; i < 100 && (await store.listMeta('heartbeat ')).length === 0; i++)
    await new Promise((r) => setTimeout(r, 10))
  const fresh = await health()
  assert.equal(fresh.status, 200)
  assert.equal(fresh.body.status, 'ok')
  assert.equal(fresh.body.roles.length, 1)
  const row = fresh.body.roles[0]!
  assert.equal(row.role, 'archiver')
  assert.equal(row.state, 'running')
  assert.deepEqual(row.instance?.host, 'h1')
  assert.equal(row.instance?.pid, 101)
  assert.deepEqual(row.progress, { segments: 3, records: 120 })
  const metrics = await (await fetch(`${url}/metrics`)).text()
  assert.match(metrics, /strata_role_up\{role="archiver",instance="h1:101"\} 1/)
  assert.match(metrics, /strata_role_state\{role="archiver",state="running"\} 1/)

  // Frozen or killed: no heartbeat for longer than the limit.
  clock += HEARTBEAT_STALE_MS + 5_000
  const silent = await health()
  assert.equal(silent.status, 503)
  assert.equal(silent.body.status, 'down')
  assert.equal(silent.body.roles[0]!.state, 'stalled')
  assert.match(silent.body.roles[0]!.reason!, /no heartbeat from archiver \(pid 101 on h1\) for 35 s/)
  const stale = await (await fetch(`${url}/metrics`)).text()
  assert.match(stale, /strata_role_up\{role="archiver",instance="h1:101"\} 0/)
  assert.match(stale, /strata_role_heartbeat_age_seconds\{role="archiver",instance="h1:101"\} 35/)

  // A failure recorded on the way out (role-watch.ts's exit 1 closes the roles first).
  archiver = { role: 'archiver', state: 'failed', reason: 'segment writes failed for good [STRATA_ERR_X]' }
  await beat.close()
  const failed = await health()
  assert.equal(failed.status, 503)
  assert.equal(failed.body.roles[0]!.state, 'failed')
  assert.match(failed.body.roles[0]!.reason!, /archiver \(pid 101 on h1\): segment writes failed for good/)
  // Not this process's own role: restarting serve would not help (its supervisor restarts it).
  const live = await fetch(`${url}/health/live`)
  assert.equal(live.status, 200, 'a failed worker of another process does not ask serve to restart')

  // Its restart (a newer worker of the role) supersedes it.
  clock += 1000
  const restarted = startHeartbeat(store, 'archiver', () => ({ role: 'archiver', state: 'running' }), quiet, {
    everyMs: 60_000,
    now: () => clock,
    host: 'h2',
    pid: 7,
  })
  await restarted.close()
  // And it removed the row it made obsolete: rows do not pile up with every restart.
  assert.deepEqual(
    (await store.listMeta('heartbeat ')).map(([name]) => name),
    ['heartbeat archiver h2 7'],
  )
  // Closed cleanly: its row says stopped and is not listed either; the failed one is superseded.
  assert.deepEqual((await health()).body.roles, [])
})

test('judgeHeartbeats: the rules in one place', () => {
  const at = 1_000_000
  const beat = (over: Partial<Heartbeat>): Heartbeat => ({
    role: 'batch',
    host: 'h',
    pid: 1,
    startedAt: at - 100_000,
    heardAt: at - 1_000,
    state: 'running',
    ...over,
  })
  assert.equal(judgeHeartbeats([beat({})], at)[0]!.state, 'running')
  assert.equal(judgeHeartbeats([beat({ heardAt: at - HEARTBEAT_STALE_MS })], at)[0]!.state, 'running')
  assert.equal(judgeHeartbeats([beat({ heardAt: at - HEARTBEAT_STALE_MS - 1 })], at)[0]!.state, 'stalled')
  assert.equal(
    judgeHeartbeats([beat({ state: 'degraded', reason: 'r' })], at)[0]!.reason,
    'batch (pid 1 on h): r',
  )
  assert.deepEqual(judgeHeartbeats([beat({ stoppedAt: at - 500 })], at), [])
  // A silent speed worker beside a live one of the same role that started before it went silent: both listed.
  const two = judgeHeartbeats(
    [beat({ role: 'speed', pid: 1, heardAt: at - 60_000 }), beat({ role: 'speed', pid: 2 })],
    at,
  )
  assert.deepEqual(
    two.map((r) => r.state),
    ['stalled', 'running'],
  )
  // One started after the silent one was last heard: its restart.
  const restarted = judgeHeartbeats(
    [beat({ pid: 1, heardAt: at - 60_000, state: 'failed' }), beat({ pid: 2, startedAt: at - 50_000 })],
    at,
  )
  assert.deepEqual(
    restarted.map((r) => r.instance?.pid),
    [2],
  )
})

test("the batch worker's heartbeat carries its last run, last failure and next due run", async () => {
  const t0 = Date.UTC(2026, 11, 8, 1, 0, 0)
  const report = await batchReporter({
    failures: 1,
    lastError: new Error('store down'),
    lastRunAt: t0,
    lastFailedAt: t0 + 60_000,
    nextRunAt: t0 + 120_000,
  })()
  assert.equal(report.state, 'degraded')
  assert.deepEqual(report.progress, {
    lastRunAt: '2026-12-08T01:00:00.000Z',
    lastFailedAt: '2026-12-08T01:01:00.000Z',
    nextRunAt: '2026-12-08T01:02:00.000Z',
  })
})
