// sharedEndOffsets: one reading of the log's end offsets for every reader of a process (the
// serving layer's cache behind /metrics and /health, the speed and archiver reporters), so a
// scrape of `strata start` asks Kafka once, not three times (BENCHMARKS.md, Query, session 18) —
// and the numbers it shows still follow the log: a new reading once the shared one is older than
// its reuse window, every reader's failure passed on as it is.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ArchiverStats } from '../../src/archive/index.ts'
import { RoleHealth } from '../../src/core/role-health.ts'
import { archiverReporter, sharedEndOffsets, speedReporter } from '../../src/runtime/role-reporters.ts'
import type { PartitionStats } from '../../src/speed/partition-folder.ts'
import { aged } from '../helpers/clock.ts'
import { openStore, serve } from '../serving/fixture.ts'
import { parsePrometheusText, sampleValue } from '../serving/prometheus-text.ts'

test('concurrent readers share one reading; a reading is reused for reuseMs, then asked again', async () => {
  let calls = 0
  let release!: () => void
  const read = sharedEndOffsets(async () => {
    const n = ++calls
    await new Promise<void>((resolve) => {
      release = resolve
    })
    return [n]
  }, 20)
  const a = read()
  const b = read()
  assert.equal(calls, 1, 'one reading in flight at a time')
  release()
  assert.deepEqual(await a, [1])
  assert.deepEqual(await b, [1])
  assert.deepEqual(await read(), [1], 'reused within reuseMs')
  assert.equal(read.readings(), 1)
  await aged(30)
  const c = read()
  release()
  assert.deepEqual(await c, [2], 'older than reuseMs: asked again')
  assert.equal(read.readings(), 2)
})

test('a failed reading reaches every reader as it is, and is not kept past reuseMs', async () => {
  let calls = 0
  const outran = Object.assign(new Error('retention outran'), { lost: 7 })
  const read = sharedEndOffsets(async () => {
    calls++
    if (calls === 1) throw outran
    return [calls]
  }, 10)
  const [a, b] = await Promise.allSettled([read(), read()])
  assert.equal(a.status, 'rejected')
  assert.equal((a as PromiseRejectedResult).reason, outran)
  assert.equal((b as PromiseRejectedResult).reason, outran)
  await assert.rejects(read(), (e) => e === outran)
  await aged(20)
  assert.deepEqual(await read(), [2])
  const thrown = sharedEndOffsets(() => {
    throw outran
  })
  await assert.rejects(thrown(), (e) => e === outran, 'a provider that throws at once rejects, too')
})

function speedPartition(p: number, consumed: number): PartitionStats {
  return {
    partition: p,
    owner: 1,
    consumed,
    position: consumed,
    folded: consumed,
    skipped: 0,
    commits: 1,
    rebuilds: 0,
    retries: 0,
    lastCommitAt: 1,
    stopped: null,
    stoppedCode: null,
    commitFailures: 0,
    lastCommitError: null,
    failingSince: null,
  }
}

// What `strata start` wires (pipeline.ts): the server's cache, the speed and the archiver reporters
// all read through one sharedEndOffsets.
test('/metrics and /health of a process share one reading per scrape, and follow the log as events arrive', async (t) => {
  const store = await openStore(t)
  let end = [10, 4]
  const consumed = [10, 4]
  const archived = [10, 4]
  let kafka = 0
  const endOffsets = sharedEndOffsets(async () => {
    kafka++
    return [...end]
  })
  const roles = new RoleHealth()
  roles.add(
    speedReporter(
      () => ({ mode: 'kafka', partitions: consumed.map((c, p) => speedPartition(p, c)) }),
      endOffsets,
    ),
  )
  const archiverStats = (): ArchiverStats => ({
    segments: 1,
    records: archived[0]! + archived[1]!,
    rejected: 0,
    writeFailures: 0,
    failingSince: undefined,
    lastError: undefined,
    partitions: archived.map((next, partition) => ({ partition, next, durable: next })),
  })
  roles.add(archiverReporter(archiverStats, endOffsets))
  // The server's own cache keeps a reading for a second, as in `strata start`.
  const app = await serve(t, store, { endOffsets, endOffsetsMaxAgeMs: 1000, roles })
  const scrape = async () => {
    const res = await app.inject('/metrics')
    assert.equal(res.statusCode, 200)
    const families = parsePrometheusText(res.body)
    return (name: string, labels?: Record<string, string>) => sampleValue(families, name, labels)
  }

  let value = await scrape()
  assert.equal(kafka, 1, 'the server and both reporters: one reading')
  assert.equal(value('strata_log_end_offset', { partition: '0' }), 10)
  assert.equal(value('strata_role_lag_records', { role: 'speed', partition: '0' }), 0)
  assert.equal(value('strata_role_lag_records', { role: 'archiver', partition: '1' }), 0)
  assert.equal(value('strata_role_progress_total', { role: 'archiver', what: 'records' }), 14)
  const health = await app.inject('/health')
  assert.equal(health.statusCode, 200)
  assert.equal(kafka, 1, '/health right after: the same reading')

  // Events arrive: 5 on partition 0, 3 on partition 1; the speed layer takes 2 of them, the
  // archiver all of partition 0's.
  end = [15, 7]
  consumed[0] = 12
  archived[0] = 15
  await aged(1300) // every cache (a second) and the shared reading (250 ms) stale
  value = await scrape()
  assert.equal(kafka, 2, 'one new reading for the whole scrape')
  // The server's cache answers a stale reading while it refreshes (log-offsets.ts): the log's end
  // shows the new one from the next scrape on; the reporters waited for it.
  assert.equal(value('strata_log_end_offset', { partition: '0' }), 10)
  assert.equal(value('strata_role_lag_records', { role: 'speed', partition: '0' }), 3)
  assert.equal(value('strata_role_lag_records', { role: 'speed', partition: '1' }), 3)
  assert.equal(value('strata_role_lag_records', { role: 'archiver', partition: '0' }), 0)
  assert.equal(value('strata_role_lag_records', { role: 'archiver', partition: '1' }), 3)
  assert.equal(value('strata_role_progress_total', { role: 'archiver', what: 'records' }), 19)
  const body = (await app.inject('/health')).json() as {
    roles: Array<{ role: string; partitions?: Array<{ partition: number; lag: number | null }> }>
  }
  const lag = (role: string, p: number) =>
    body.roles.find((r) => r.role === role)?.partitions?.find((x) => x.partition === p)?.lag
  assert.equal(lag('speed', 0), 3)
  assert.equal(lag('archiver', 1), 3)
  value = await scrape()
  assert.equal(value('strata_log_end_offset', { partition: '0' }), 15)
  assert.equal(value('strata_log_end_offset', { partition: '1' }), 7)
  assert.equal(kafka, 2, 'the next scrape and /health: still that reading')
})
