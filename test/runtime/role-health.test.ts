// Health that tells the truth (issue 12, item 4): each role's state from what it knows, and the
// routes that report them: /health 503 while a role is failed or stalled, /health/live 503 for a
// failed role, /health/ready on the store.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ArchiverStats } from '../../src/archive/index.ts'
import { StrataError } from '../../src/core/errors.ts'
import { isUnhealthy, RoleHealth, STALLED_AFTER_MS } from '../../src/core/role-health.ts'
import { ViewFailedError } from '../../src/core/view-errors.ts'
import {
  archiverReporter,
  batchReporter,
  embeddedLogReporter,
  heldElsewhereAfterMs,
  speedReporter,
  storeSpeedReporter,
} from '../../src/runtime/role-reporters.ts'
import type { PartitionStats } from '../../src/speed/partition-folder.ts'
import { openStore, serve } from '../serving/fixture.ts'

function partition(p: number, changes: Partial<PartitionStats> = {}): PartitionStats {
  return {
    partition: p,
    owner: 1,
    consumed: 100,
    position: 100,
    folded: 100,
    skipped: 0,
    commits: 5,
    rebuilds: 0,
    retries: 0,
    lastCommitAt: 1,
    stopped: null,
    stoppedCode: null,
    commitFailures: 0,
    lastCommitError: null,
    failingSince: null,
    ...changes,
  }
}

test('speed: stopped is failed (fencing aside), failing commits degraded then stalled, far behind catching up', async () => {
  let now = 100_000
  const stats = [
    partition(0),
    partition(1, {
      stopped: 'partition 1: view failed [STRATA_ERR_VIEW_FAILED]',
      stoppedCode: 'STRATA_ERR_VIEW_FAILED',
      viewFailure: { view: 'by_country', partition: 1, offset: 42, message: 'TypeError: x' },
    }),
    partition(2, {
      stopped: 'partition 2: no longer ours [STRATA_ERR_FENCED]',
      stoppedCode: 'STRATA_ERR_FENCED',
    }),
    partition(5, { stopped: 'released' }),
    partition(3, { commitFailures: 2, failingSince: now - 1000, lastCommitError: 'disk [STRATA_ERR_STORE]' }),
    partition(4, { consumed: 10 }),
  ]
  const report = speedReporter(
    () => ({ mode: 'embedded', partitions: stats }),
    async () => [100, 100, 100, 150, 50_000, 100],
    () => now,
  )
  let r = await report()
  assert.deepEqual(
    r.partitions?.map((p) => p.state),
    ['running', 'failed', 'running', 'running', 'degraded', 'catching-up'],
  )
  assert.equal(r.state, 'failed')
  assert.match(r.reason ?? '', /VIEW_FAILED/)
  // The view that stopped partition 1, and where: what /views says of it (viewState).
  assert.deepEqual(r.viewStops, [
    { view: 'by_country', partition: 1, offset: 42, message: 'TypeError: x', layer: 'speed' },
  ])
  stats.splice(1, 2)
  now += 20_000 // commits have failed for 21 s with 50 records waiting
  r = await speedReporter(
    () => ({ mode: 'embedded', partitions: stats }),
    async () => [100, 100, 150, 50_000],
    () => now,
  )()
  assert.equal(r.state, 'stalled')
  assert.match(r.reason ?? '', /2 commits failed in a row over 21 s: disk \[STRATA_ERR_STORE\]/)
})

test('batch: degraded after a failed run, failed after three in a row, running again after one completes', () => {
  const schedule = { failures: 0, lastError: undefined as unknown }
  const report = batchReporter(schedule) as () => { state: string; reason?: string }
  assert.equal(report().state, 'running')
  schedule.failures = 1
  schedule.lastError = new StrataError('STRATA_ERR_SEGMENT_CORRUPT', 'p0001: segments [0, 100) are missing')
  assert.equal(report().state, 'degraded')
  schedule.failures = 3
  const failed = report()
  assert.equal(failed.state, 'failed')
  assert.match(failed.reason ?? '', /3 batch runs failed in a row: .*\[STRATA_ERR_SEGMENT_CORRUPT\]/)
  assert.equal((failed as { viewStops?: unknown }).viewStops, undefined)
})

test("batch: a run that failed on a view defined with onError('stop') names the view's stop until a run completes", () => {
  const schedule = { failures: 0, lastError: undefined as unknown }
  const report = batchReporter(schedule) as () => { state: string; viewStops?: unknown }
  const failure = { view: 'by_country', partition: 0, offset: 3, message: 'TypeError: x' }
  schedule.failures = 1
  schedule.lastError = new ViewFailedError(failure)
  assert.deepEqual(report().viewStops, [{ ...failure, layer: 'batch' }])
  schedule.failures = 0
  assert.equal(report().viewStops, undefined)
})

// s14-hang: a view whose code never returns holds a fold thread (the embedded default's since
// s14-hang, Kafka's before): the speed layer is stalled once the thread has not answered for 30 s,
// naming the view and the event, and the partitions behind it say why they wait.
test('speed: a fold thread stuck in a view for 30 s makes its partition stalled, naming the view and the event', async () => {
  const stats = [partition(0, { consumed: 5 }), partition(1, { consumed: 2 })]
  let forMs = STALLED_AFTER_MS * 3 - 1000
  const report = speedReporter(
    () => ({
      mode: 'embedded',
      partitions: stats,
      stuckFolds: [{ partition: 1, offset: 2, view: 'hangs', forMs }],
    }),
    async () => [5, 3],
  )
  assert.equal((await report()).state, 'running')
  forMs = STALLED_AFTER_MS * 3 + 5000
  const r = await report()
  assert.equal(r.state, 'stalled')
  assert.deepEqual(
    r.partitions?.map((p) => p.state),
    ['running', 'stalled'],
  )
  assert.match(
    r.partitions?.[1]?.reason ?? '',
    /^partition 1: view 'hangs' has not returned on the event at offset 2 for 35 s/,
  )
})

test("batch: stalled while a run's thread has said nothing for a minute, naming the partition", () => {
  let silent: Array<{ partition: number; forMs: number }> = []
  const report = batchReporter({ failures: 0, lastError: undefined, silent: () => silent }) as () => {
    state: string
    reason?: string
  }
  assert.equal(report().state, 'running')
  silent = [{ partition: 3, forMs: 61_000 }]
  const r = report()
  assert.equal(r.state, 'stalled')
  assert.match(r.reason ?? '', /thread folding partition 3 has said nothing for 61 s/)
})

test('log: a partition whose write failed is failed, one out of room degraded', () => {
  const conditions = [
    { state: 'ok' as const },
    { state: 'no-room' as const, reason: 'no room [STRATA_ERR_DISK_FULL]' },
  ]
  const report = embeddedLogReporter({ conditions: () => conditions })
  assert.equal((report() as { state: string }).state, 'degraded')
  conditions.push({ state: 'failed' as never, reason: 'fsync failed [STRATA_ERR_INTERNAL]' } as never)
  assert.equal((report() as { state: string }).state, 'failed')
})

test('archiver: each partition with its lag (catching up when far behind), the totals, degraded then stalled while writes fail', async () => {
  let now = 1_000_000
  const stats: ArchiverStats = {
    segments: 3,
    records: 30_500,
    rejected: 2,
    writeFailures: 0,
    failingSince: undefined,
    lastError: undefined,
    partitions: [
      { partition: 0, next: 500, durable: 400 },
      { partition: 1, next: 20_000, durable: 20_000 },
    ],
  }
  const reporter = archiverReporter(
    () => stats,
    async () => [500, 40_000],
    () => now,
  )
  const report = await reporter()
  assert.equal(report.state, 'catching-up')
  assert.deepEqual(report.partitions, [
    { partition: 0, state: 'running', lag: 0 },
    { partition: 1, state: 'catching-up', lag: 20_000 },
  ])
  assert.deepEqual(report.totals, { segments: 3, records: 30_500, rejected: 2 })
  assert.equal(report.failures, 0)

  stats.writeFailures = 2
  stats.failingSince = now
  stats.lastError = new StrataError('STRATA_ERR_MASTER_UNAVAILABLE', 'PUT s3://b/k: refused', {
    retriable: true,
  })
  assert.equal((await reporter()).state, 'degraded')
  now += 10_000
  const stalled = await reporter()
  assert.equal(stalled.state, 'stalled')
  assert.match(stalled.reason ?? '', /STRATA_ERR_MASTER_UNAVAILABLE/)
  // Without end offsets (a lone archiver): lag unknown, never catching up.
  const alone = await archiverReporter(() => ({ ...stats, writeFailures: 0 }))()
  assert.deepEqual(
    alone.partitions?.map((p) => [p.state, p.lag]),
    [
      ['running', null],
      ['running', null],
    ],
  )
})

// A view whose code never returns stopped the fold in `strata start` on Kafka (the speed layer
// in its thread): the lag grew and /health answered 200 "ok", speed "running", for as long as it
// lasted (found from the user's seat by s13-user). No commit fails, nothing reads badly: only
// the offset stays put.
test('speed: a partition whose offset stays put while records wait is stalled, running again once it moves', async () => {
  let now = 0
  const p0 = partition(0, { consumed: 10 })
  const stats = [p0, partition(1, { consumed: 100 }), partition(2, { consumed: 7, stopped: 'released' })]
  const report = speedReporter(
    () => ({ mode: 'kafka', partitions: stats }),
    async () => [50, 100, 90],
    () => now,
  )
  assert.equal((await report()).state, 'running')
  now = 29_000
  assert.equal((await report()).state, 'running')
  now = 31_000
  const r = await report()
  assert.equal(r.state, 'stalled')
  assert.deepEqual(
    r.partitions?.map((p) => p.state),
    ['stalled', 'running', 'running'],
    'caught up (nothing waits) or released is not stalled',
  )
  assert.match(
    r.reason ?? '',
    /partition 0: the speed layer's offset has stayed at 10 for 31 s with 40 records waiting/,
  )
  p0.consumed = 11 // it moved: running again
  now = 32_000
  assert.equal((await report()).state, 'running')
})

// Two `strata start --brokers …` on one topic, each with its own data folder (so its own LMDB
// store): consumer group strata-speed split the partitions between them, each process answered
// with half of the events (asOf stuck at 0 on the other half), and both said /health 200 ok
// (found from the user's seat by s13-user). A store only this process writes must see every
// partition folded here.
test('speed on a store of its own: a partition another member of the group holds for 30 s is stalled, naming the group', async () => {
  let now = 0
  let stats = [partition(1, { consumed: 1000 })]
  const group = { id: 'strata-speed' }
  const report = speedReporter(
    () => ({ mode: 'kafka', partitions: stats }),
    async () => [1000, 1000],
    () => now,
    group,
  )
  assert.equal((await report()).state, 'running')
  now = 29_000
  assert.equal((await report()).state, 'running', 'a rebalance or a first assignment takes a while')
  now = 31_000
  const r = await report()
  assert.equal(r.state, 'stalled')
  assert.deepEqual(
    r.partitions?.map((p) => [p.partition, p.state]),
    [
      [1, 'running'],
      [0, 'stalled'],
    ],
  )
  assert.match(r.reason ?? '', /partition 0 .*another member of consumer group strata-speed holds it/)
  stats = [partition(0, { consumed: 1000 }), partition(1, { consumed: 1000 })] // it came back
  now = 32_000
  assert.equal((await report()).state, 'running')
  // Without the option (speed workers sharing a PostgreSQL store) a partition held elsewhere is normal.
  stats = [partition(1, { consumed: 1000 })]
  const shared = speedReporter(
    () => ({ mode: 'kafka', partitions: stats }),
    async () => [1000, 1000],
    () => now,
  )
  await shared()
  now = 100_000
  assert.equal((await shared()).state, 'running')
})

// A member killed with its partitions holds them until its session times out: a restart after
// kill -9 may be given half the partitions first. With a session timeout above 30 s, "held
// elsewhere" must wait for it (and a rebalance) before calling the partition stalled.
test('speed on a store of its own: "held elsewhere" waits out the group session timeout first', async () => {
  let now = 0
  const report = speedReporter(
    () => ({ mode: 'kafka', partitions: [partition(1, { consumed: 1000 })] }),
    async () => [1000, 1000],
    () => now,
    { id: 'strata-speed', sessionTimeoutMs: 60_000 },
  )
  assert.equal((await report()).state, 'running')
  now = 65_000
  assert.equal((await report()).state, 'running', 'the dead member may hold it for its 60 s session')
  now = 71_000
  assert.equal((await report()).state, 'stalled')
  assert.equal(heldElsewhereAfterMs(), 30_000, 'never under 30 s')
  assert.equal(heldElsewhereAfterMs(30_000), 40_000, 'the default session timeout and a rebalance')
})

test('speed as the store shows it: an offset that stays put while records wait is stalled', async () => {
  let now = 0
  let offset = 10
  const store = {
    speedPartitions: async () => [{ partition: 0, offset, epochs: [0], required: [], owner: 1 }],
  }
  const report = storeSpeedReporter(
    store,
    async () => [50],
    () => now,
  )
  assert.equal((await report()).state, 'running')
  now = 29_000
  assert.equal((await report()).state, 'running')
  now = 31_000
  assert.equal((await report()).state, 'stalled')
  offset = 20 // it moved: running again
  now = 32_000
  assert.equal((await report()).state, 'running')
})

/** healthEndOffsets keeps a reading for a second of real time (the monotonic clock, not `now`). */
const pastEndOffsetsCache = () => new Promise((resolve) => setTimeout(resolve, 1_100))

// The stall clock starts at the first report that sees records waiting at that offset, not at
// the last report before it: /health asked rarely (a probe every minute, a person now and then)
// saw an idle partition (nothing waiting) at t, then at t + 60 s records that had arrived a
// moment before, not yet committed — and called it stalled for 60 s (found by r13-user).
test('speed: records that just arrived on an idle partition are not stalled however long since /health was last asked', async () => {
  let now = 0
  let end = 10
  const p0 = partition(0, { consumed: 10 })
  const report = speedReporter(
    () => ({ mode: 'kafka', partitions: [p0] }),
    async () => [end],
    () => now,
  )
  assert.equal((await report()).state, 'running') // idle: nothing waits
  now = 60_000
  end = 12 // two records, just arrived
  await pastEndOffsetsCache()
  assert.equal((await report()).state, 'running', 'the first report that sees them waiting')
  now = 91_000
  assert.equal((await report()).state, 'stalled', 'still there 30 s later: stalled')
})

test('speed on a store of its own: a partition gone for a moment is not stalled however long since /health was last asked', async () => {
  let now = 0
  let stats = [partition(0, { consumed: 5 }), partition(1, { consumed: 5 })]
  const report = speedReporter(
    () => ({ mode: 'kafka', partitions: stats }),
    async () => [5, 5],
    () => now,
    { id: 'strata-speed' },
  )
  assert.equal((await report()).state, 'running')
  now = 60_000
  stats = [partition(1, { consumed: 5 })] // a rebalance under way
  assert.equal((await report()).state, 'running', 'first seen away now, not 60 s ago')
  now = 91_000
  assert.equal((await report()).state, 'stalled')
})

test('speed on a store of its own: a failed partition is reported once, failed, not also as held elsewhere', async () => {
  let now = 0
  const stats = [
    partition(0, { stopped: 'views changed', stoppedCode: 'STRATA_ERR_CONFIG_CHANGED' }),
    partition(1, { stopped: 'released' }), // revoked: another member's now
  ]
  const report = speedReporter(
    () => ({ mode: 'kafka', partitions: stats }),
    async () => [100, 100],
    () => now,
    { id: 'strata-speed' },
  )
  await report()
  now = 31_000
  const rows = (await report()).partitions ?? []
  assert.deepEqual(
    rows.filter((p) => p.partition === 0).map((p) => p.state),
    ['failed'],
  )
  assert.ok(
    rows.some((p) => p.partition === 1 && p.state === 'stalled'),
    'one released (revoked) is held elsewhere: stalled',
  )
})

// Serve judges the speed layer from the store: an offset that had stood for minutes because
// nothing came was stalled at once when a record arrived, until the speed worker's next commit.
test('speed as the store shows it: an idle partition that gets a record is not stalled at once', async () => {
  let now = 0
  let end = 10
  const store = {
    speedPartitions: async () => [{ partition: 0, offset: 10, epochs: [0], required: [], owner: 1 }],
  }
  const report = storeSpeedReporter(
    store,
    async () => [end],
    () => now,
  )
  for (now = 0; now <= 300_000; now += 10_000) assert.equal((await report()).state, 'running')
  end = 11
  await pastEndOffsetsCache()
  assert.equal((await report()).state, 'running', 'a record that just arrived')
  now += 31_000
  assert.equal((await report()).state, 'stalled')
})

test('/health is 503 while a role is failed or stalled; /health/live follows failed roles; /health/ready the store', async (t) => {
  const store = await openStore(t)
  const roles = new RoleHealth()
  let state: 'running' | 'degraded' | 'stalled' | 'failed' = 'running'
  roles.add(() => ({ role: 'speed', state, ...(state === 'running' ? {} : { reason: `speed ${state}` }) }))
  const app = await serve(t, store, { roles })
  const get = async (url: string) => {
    const res = await app.inject(url)
    return { code: res.statusCode, body: res.json() }
  }
  assert.equal((await get('/health')).code, 200)
  assert.equal((await get('/health')).body.status, 'ok')
  state = 'degraded'
  assert.deepEqual(
    { code: (await get('/health')).code, status: (await get('/health')).body.status },
    { code: 200, status: 'degraded' },
  )
  state = 'stalled'
  const stalled = await get('/health')
  assert.equal(stalled.code, 503)
  assert.deepEqual(stalled.body.roles, [{ role: 'speed', state: 'stalled', reason: 'speed stalled' }])
  assert.equal((await get('/health/live')).code, 200)
  state = 'failed'
  assert.equal((await get('/health')).code, 503)
  assert.equal((await get('/health/live')).code, 503)
  assert.equal((await get('/health/ready')).code, 200)
  const metrics = (await app.inject('/metrics')).body
  assert.match(metrics, /strata_role_state\{role="speed",state="failed"\} 1/)
})

// A partition whose leader is gone: nothing is consumed and the end offsets cannot be read either
// (lag unknown), so without the read trouble it looked `running`. Degraded at once, stalled (503)
// once it has lasted STALLED_AFTER_MS, in the speed layer and in the archiver alike.
test('speed and archiver: a partition the log cannot be read from is degraded, then stalled', async () => {
  const now = 1_000_000
  const trouble = (since: number) => [
    {
      partition: 1,
      failures: 7,
      since,
      reason: 't[1] has no leader right now [STRATA_ERR_KAFKA_UNAVAILABLE]',
    },
  ]
  const speed = (since: number) =>
    speedReporter(
      () => ({ mode: 'kafka', partitions: [partition(0), partition(1)], readTrouble: trouble(since) }),
      async () => null,
      () => now,
    )()
  let r = await speed(now - 2_000)
  assert.deepEqual(
    r.partitions?.map((p) => p.state),
    ['running', 'degraded'],
  )
  assert.equal(r.state, 'degraded')
  assert.match(r.reason ?? '', /partition 1 unreadable for 2 s \(7 fetches failed, retrying\): .*no leader/)
  r = await speed(now - STALLED_AFTER_MS)
  assert.equal(r.state, 'stalled')
  assert.ok(isUnhealthy(r.state))

  const archiver = await archiverReporter(
    () => ({
      segments: 0,
      records: 0,
      rejected: 0,
      writeFailures: 0,
      failingSince: undefined,
      lastError: undefined,
      partitions: [
        { partition: 0, next: 5, durable: 5 },
        { partition: 1, next: 5, durable: 5 },
      ],
      readTrouble: trouble(now - STALLED_AFTER_MS - 1),
    }),
    async () => null,
    () => now,
  )()
  assert.equal(archiver.state, 'stalled')
  assert.match(archiver.reason ?? '', /partition 1 unreadable/)
})
