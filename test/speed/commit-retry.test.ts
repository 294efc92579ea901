// The speed layer through a store outage (issue 7 follow-up): a partition folder whose store
// fails with a retriable error sends the same commit again, recognizes a commit that landed with
// its answer lost (the store then refuses the resend: its `from` moved), never retries an error
// that is not retriable, and gives up past its budget, stopping rather than guessing. Over a real
// LMDB store with failures injected in front of it (the PostgreSQL outage itself is in
// store-outage.integration.test.ts).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCodes, StrataError } from '../../src/core/errors.ts'
import { claimSpeedPartition } from '../../src/speed/claim.ts'
import type { FolderPolicy } from '../../src/speed/partition-folder.ts'
import type { SpeedCommit, Store } from '../../src/store/store.ts'
import { assertExact, MemoryPartition, pageView, speedFixture } from './helpers.ts'

const manual: FolderPolicy = {
  commitEveryMs: Number.POSITIVE_INFINITY,
  commitEveryRecords: Number.POSITIVE_INFINITY,
  sealEveryMs: Number.POSITIVE_INFINITY,
}

const outage = () =>
  new StrataError(
    ErrorCodes.STORE,
    'PostgreSQL store: committing failed: Connection terminated unexpectedly',
    {
      retriable: true,
    },
  )

type Fault = (call: number, commit: SpeedCommit, apply: () => Promise<void>) => Promise<void>

/** The store, with commitSpeed (and optionally the folder's read of its partition) failing as `fault` says. */
function faulty(store: Store, fault: Fault, readFaults = 0) {
  const commits: SpeedCommit[] = []
  let reads = 0
  const wrapped = new Proxy(store, {
    get(target, name, receiver) {
      if (name === 'commitSpeed') {
        return (commit: SpeedCommit, combine: Parameters<Store['commitSpeed']>[1]) => {
          commits.push(structuredClone(commit))
          return fault(commits.length, commit, () => target.commitSpeed(commit, combine))
        }
      }
      if (name === 'speedPartition') {
        return (partition: number) =>
          reads++ < readFaults ? Promise.reject(outage()) : target.speedPartition(partition)
      }
      const value = Reflect.get(target, name, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return { store: wrapped, commits }
}

async function setup(
  t: Parameters<typeof speedFixture>[0],
  fault: Fault,
  options: { readFaults?: number } = {},
) {
  const fixture = await speedFixture(t, 1)
  await fixture.store.registerSpeedViews(
    fixture.views.map((v) => ({ view: v.name, codeHash: v.codeHash })),
    1,
  )
  const { store, commits } = faulty(fixture.store, fault, options.readFaults)
  const errors: StrataError[] = []
  const retries: string[] = []
  const failed: StrataError[] = []
  let clock = 0
  const claim = (storeRetryMs = 60_000, extra: { now?: () => number; policy?: Partial<FolderPolicy> } = {}) =>
    claimSpeedPartition({
      store,
      views: fixture.views,
      partition: 0,
      partitions: 1,
      timeField: 'ts',
      policy: manual,
      storeRetryMs,
      // No real waiting: each wait moves the clock on by its delay.
      retry: {
        now: () => clock,
        sleep: async (ms) => {
          clock += ms
        },
      },
      onRetry: (_p, doing, retry) => retries.push(`${doing} #${retry.attempt}`),
      onError: (e) => errors.push(e),
      onFailed: (e) => failed.push(e),
      ...extra,
    })
  const log = new MemoryPartition()
  log.append(Array.from({ length: 40 }, (_, i) => pageView(i)))
  return { fixture, claim, commits, errors, retries, failed, log }
}

test('a commit that landed with its answer lost is known applied: not folded twice, not fenced', async (t) => {
  const { fixture, claim, commits, errors, log } = await setup(t, async (call, _commit, apply) => {
    await apply()
    if (call === 1) throw outage() // the COMMIT went through; the connection died before its answer
  })
  const folder = await claim()
  await folder.add(log.read(0, 25))
  await folder.flush()
  assert.equal(folder.stopped, false, 'the folder read its own landed commit as another writer')
  assert.equal(commits.length, 2, 'the commit was sent again after the lost answer')
  assert.deepEqual(commits[1], commits[0], 'the resend is the same commit')
  assert.deepEqual(errors, [])
  assert.equal(folder.stats().consumed, 25)
  await folder.add(log.read(25))
  await folder.flush()
  await assertExact(fixture.store, fixture.views, [log.records], 'after the lost answer')
  assert.equal(folder.stats().commits, 2)
})

test('a retriable failure before the commit landed sends the very same commit again', async (t) => {
  const { fixture, claim, commits, retries, log } = await setup(t, async (call, _commit, apply) => {
    if (call <= 3) throw outage()
    await apply()
  })
  const folder = await claim()
  await folder.add(log.read(0))
  await folder.flush()
  assert.equal(commits.length, 4)
  for (const resent of commits.slice(1)) assert.deepEqual(resent, commits[0])
  assert.deepEqual(retries, ['committing offset 40 #1', 'committing offset 40 #2', 'committing offset 40 #3'])
  assert.equal(folder.stopped, false)
  await assertExact(fixture.store, fixture.views, [log.records])
})

test('reading the partition through an outage waits instead of failing the batch', async (t) => {
  // The folder re-reads its partition before each batch: the first two reads fail.
  const { fixture, claim, retries, log } = await setup(t, (_call, _commit, apply) => apply(), {
    readFaults: 2,
  })
  const folder = await claim()
  await folder.add(log.read(0))
  await folder.flush()
  assert.deepEqual(retries, ['reading the partition #1', 'reading the partition #2'])
  assert.equal(folder.stopped, false)
  await assertExact(fixture.store, fixture.views, [log.records])
})

test('an error that is not retriable is not retried: reported, the window kept for the next commit', async (t) => {
  const { fixture, claim, commits, retries, log } = await setup(t, async (call, _commit, apply) => {
    if (call === 1) throw new StrataError(ErrorCodes.STORE, 'permission denied for table speed_partitions')
    await apply()
  })
  const folder = await claim()
  await folder.add(log.read(0))
  await assert.rejects(folder.flush(), /permission denied/)
  assert.equal(commits.length, 1, 'a non-retriable error was retried')
  assert.deepEqual(retries, [])
  await folder.flush()
  await assertExact(fixture.store, fixture.views, [log.records])
})

test('a store down past the budget stops the folder; the next owner resumes exactly', async (t) => {
  let down = true
  const { fixture, claim, failed, log } = await setup(t, async (_call, _commit, apply) => {
    if (down) throw outage()
    await apply()
  })
  const folder = await claim(5_000)
  await folder.add(log.read(0, 30))
  await assert.rejects(folder.flush(), /Connection terminated/)
  assert.equal(folder.stopped, true)
  assert.equal(failed.length, 1)
  assert.equal(failed[0].code, ErrorCodes.STORE_UNAVAILABLE)
  assert.equal(folder.failure, failed[0])
  // A stopped folder never writes again, even once the store is back.
  down = false
  await folder.flush()
  assert.equal((await fixture.store.speedPartitions())[0].offset, 0)
  const next = await claim()
  assert.equal(next.offset, 0)
  await next.add(log.read(next.offset))
  await next.flush()
  await assertExact(fixture.store, fixture.views, [log.records], 'after the next owner')
})

test('a commit failing for another reason is tried again after a growing backoff, not on every batch, and counted', async (t) => {
  const broken = () => new StrataError(ErrorCodes.STORE, 'MDB_MAP_FULL: Environment mapsize limit reached')
  const { fixture, claim, commits, errors, log } = await setup(t, async (call, _commit, apply) => {
    if (call <= 3) throw broken()
    await apply()
  })
  let clock = 1_000
  const folder = await claim(60_000, { now: () => clock, policy: { ...manual, commitEveryRecords: 1 } })
  let at = 0
  const add = async (n = 2) => {
    await folder.add(log.read(at, n))
    at += n
  }
  await add() // commit due: attempt 1 fails
  assert.equal(commits.length, 1)
  assert.equal(folder.stats().commitFailures, 1)
  assert.match(folder.stats().lastCommitError ?? '', /MDB_MAP_FULL.*\[STRATA_ERR_STORE\]/)
  assert.equal(folder.stats().failingSince, 1_000)
  await add() // due again, but within the 100 ms backoff: not tried
  await add()
  assert.equal(commits.length, 1)
  clock += 100
  await add() // attempt 2 fails: the next waits 200 ms
  assert.equal(commits.length, 2)
  clock += 150
  await add()
  assert.equal(commits.length, 2)
  clock += 50
  await add() // attempt 3 fails: 400 ms
  clock += 400
  await add() // attempt 4 lands, with everything folded so far
  assert.equal(commits.length, 4)
  assert.equal(folder.stats().commitFailures, 0)
  assert.equal(folder.stats().lastCommitError, null)
  assert.equal(folder.stats().failingSince, null)
  assert.equal(errors.length, 3)
  await folder.add(log.read(at))
  await folder.flush()
  assert.equal(folder.stopped, false)
  await assertExact(fixture.store, fixture.views, [log.records])
})

test('commitBackoffMs doubles from 100 ms and stops at 30 s', async () => {
  const { commitBackoffMs } = await import('../../src/speed/partition-committer.ts')
  assert.deepEqual([0, 1, 2, 3, 4].map(commitBackoffMs), [0, 100, 200, 400, 800])
  assert.equal(commitBackoffMs(50), 30_000)
})
