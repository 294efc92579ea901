// A window's commit is sent while the one before it is in flight only where the store runs
// commits in the order they were asked for (SpeedStore.commitsInOrder; partition-folder.ts,
// landingLimit; decision 0011, addendum "Commits sent while the one before lands"). The store
// here runs a commit asked for later FIRST while an earlier one is held, as a pool of connections
// (PostgreSQL) may, and declares it or not:
// - declared out of order, no commit is ever sent while another is in flight, none is refused,
//   and the next window still folds while the held one lands;
// - declared in order, the next window's commit is sent ahead (and, run first here, refused and
//   sent again: next-window.test.ts covers that path);
// - declared out of order, a window that only seals followed by one with no deltas (both start at
//   the same stored offset) land in order: sent ahead, the second would land first and the first
//   read as fenced, stopping the folder.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { StrataError } from '../../src/core/errors.ts'
import { claimSpeedPartition } from '../../src/speed/claim.ts'
import { FoldThreads } from '../../src/speed/fold-threads.ts'
import type { FolderPolicy } from '../../src/speed/partition-folder.ts'
import type { SpeedCommit } from '../../src/store/store.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { assertExact, MemoryPartition, pageView, speedFixture } from './helpers.ts'

type Fixture = Awaited<ReturnType<typeof speedFixture>>

/**
 * The fixture's store declaring `inOrder`, whose commit number `held` (0-based) waits for
 * `release()` while the commits asked for after it run at once. Records what each commit found
 * stored when it ran, how many were in flight at once, and the refusals.
 */
function outOfOrderStore(fixture: Fixture, inOrder: boolean, held: number) {
  let release!: () => void
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let calls = 0
  let inFlight = 0
  let most = 0
  let refused = 0
  const sent: Array<{ from: number; offset: number; stored: number }> = []
  const landed: Array<[number, number]> = []
  const store = Object.create(fixture.store, { commitsInOrder: { value: inOrder } }) as typeof fixture.store
  store.commitSpeed = async (commit: SpeedCommit, combine) => {
    const n = calls++
    inFlight++
    most = Math.max(most, inFlight)
    try {
      if (n === held) await gate
      const stored = (await fixture.store.speedPartition(0))?.offset ?? -1
      sent.push({ from: commit.from, offset: commit.offset, stored })
      try {
        await fixture.store.commitSpeed(commit, combine)
      } catch (error) {
        refused++
        throw error
      }
      landed.push([commit.from, commit.offset])
    } finally {
      inFlight--
    }
  }
  return {
    store,
    release,
    sent,
    landed,
    arrived: () => calls,
    most: () => most,
    refused: () => refused,
  }
}

async function setup(t: Parameters<typeof speedFixture>[0], policy: Partial<FolderPolicy>, now = () => 0) {
  const defer = deferrer(t)
  const fixture = await speedFixture(t, 1)
  await fixture.store.registerSpeedViews(
    fixture.views.map((v) => ({ view: v.name, codeHash: v.codeHash })),
    1,
  )
  const threads = new FoldThreads(fixture.configPath, fixture.views, 1)
  defer(() => threads.close())
  await threads.ready()
  const errors: StrataError[] = []
  const claim = (store: Fixture['store']) =>
    claimSpeedPartition({
      store,
      views: fixture.views,
      partition: 0,
      partitions: 1,
      timeField: 'ts',
      policy: {
        commitEveryMs: Number.POSITIVE_INFINITY,
        commitEveryRecords: Number.POSITIVE_INFINITY,
        sealEveryMs: Number.POSITIVE_INFINITY,
        commitWhenCaughtUp: true,
        ...policy,
      },
      now,
      thread: threads.of(0),
      onError: (e) => errors.push(e),
    })
  return { fixture, claim, errors }
}

/** Time for whatever was going to be sent to be sent (a fold thread's answers included). */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve))
  await sleep(50)
  for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve))
}

async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setImmediate(resolve))
}

const reach = (log: MemoryPartition, from: number, to: number) => ({
  ...log.read(from, to - from),
  highWatermark: to,
})

for (const inOrder of [false, true]) {
  test(`a live stream's commits with the first held, the store declaring commitsInOrder ${inOrder}: ${inOrder ? 'the next one is sent ahead' : 'never two in flight, none refused'}`, async (t) => {
    const { fixture, claim, errors } = await setup(t, {})
    const log = new MemoryPartition()
    log.append(Array.from({ length: 40 }, (_, i) => pageView(i)))
    const store = outOfOrderStore(fixture, inOrder, 0)
    const folder = await claim(store.store)
    const taken = [await folder.take(reach(log, 0, 10))]
    await until(() => store.arrived() === 1)
    // Each batch caught up: a commit is due after each.
    taken.push(await folder.take(reach(log, 10, 20)))
    // The next window folds while the held commit lands, either way (the thread answered it).
    await until(() => folder.stats().folded >= 20)
    if (inOrder) {
      // Sent without waiting for the held one, and (run first here) refused.
      await until(() => store.refused() === 1)
    } else await settle()
    taken.push(await folder.take(reach(log, 20, 30)))
    taken.push(await folder.take(reach(log, 30, 40)))
    await settle()
    if (!inOrder) assert.equal(store.arrived(), 1, 'a commit was sent while the held one was in flight')
    store.release()
    await Promise.all(taken.map((x) => x.committed))
    await folder.flush()
    assert.equal(folder.stopped, false, errors.map((e) => e.message).join('; '))
    const sent = JSON.stringify(store.sent)
    if (!inOrder) {
      assert.equal(store.most(), 1, sent)
      assert.equal(store.refused(), 0, sent)
      assert.ok(
        store.sent.every((c) => c.stored === c.from),
        sent,
      )
      assert.equal(errors.length, 0, errors.map((e) => e.message).join('; '))
    } else assert.ok(store.most() >= 2, sent)
    // Landed in order, each once, either way: each from where the one before ended.
    assert.equal(store.landed[0]?.[0], 0, sent)
    for (let i = 1; i < store.landed.length; i++)
      assert.equal(store.landed[i]![0], store.landed[i - 1]![1], sent)
    assert.equal((await fixture.store.speedPartition(0))!.offset, 40)
    const asOf = await assertExact(fixture.store, fixture.views, [log.records])
    assert.ok(asOf.every((v) => v[0] === log.end))
  })
}

// The review's edge (session 15): a window that is only a time-based seal (no records since the
// last commit) and the next one's records all skipped (no deltas): both commits start at the same
// stored offset. Sent ahead to a store that runs the second first, it lands, and the first is
// refused with the stored offset past its `from` and its seal missing: read as fenced, the folder
// would stop (nothing lost, a stopped speed layer). Declared out of order, the second waits.
test('a seal-only window, then one with no deltas, the store declaring commitsInOrder false: both land, in order, the folder goes on', async (t) => {
  let clock = 0
  const { fixture, claim, errors } = await setup(t, { sealEveryMs: 1_000 }, () => clock)
  const log = new MemoryPartition()
  log.append(Array.from({ length: 10 }, (_, i) => pageView(i)))
  log.append(['not json', '{"also": "not an event"}'])
  // Commit 0 ([0, 10)) lands; commit 1 (the seal at 10) is held.
  const store = outOfOrderStore(fixture, false, 1)
  const folder = await claim(store.store)
  await (await folder.take(reach(log, 0, 10))).committed
  assert.deepEqual(store.landed, [[0, 10]])
  clock += 1_000
  // No record: the window seals at its position (10) and, caught up, commits only that seal.
  const sealOnly = await folder.take({ records: [], nextOffset: 10, highWatermark: 10 })
  await until(() => store.arrived() === 2)
  // [10, 12): records that are not events, skipped: a commit with no deltas from 10 too.
  const skipped = await folder.take(reach(log, 10, 12))
  await until(() => folder.stats().position === 12)
  await settle()
  assert.equal(store.arrived(), 2, 'the no-delta commit was sent while the seal-only one was in flight')
  store.release()
  await Promise.all([sealOnly.committed, skipped.committed])
  await folder.flush()
  const sent = JSON.stringify(store.sent)
  assert.equal(folder.stopped, false, errors.map((e) => e.message).join('; '))
  assert.equal(store.refused(), 0, sent)
  assert.equal(store.most(), 1, sent)
  assert.deepEqual(
    store.landed,
    [
      [0, 10],
      [10, 10],
      [10, 12],
    ],
    sent,
  )
  const state = (await fixture.store.speedPartition(0))!
  assert.equal(state.offset, 12)
  assert.deepEqual(state.epochs, [0, 10])
  const asOf = await assertExact(fixture.store, fixture.views, [log.records])
  assert.ok(asOf.every((v) => v[0] === log.end))
})
