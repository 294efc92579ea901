// The compactor's pass size and when it goes on (lmdb-compactor.ts): small passes while commits
// land (a live commit queued behind a pass waits for all of it), whole passes when quiet, and the
// log still drained down to one pass while commits land.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  compactionPassSize,
  keepCompacting,
  MIN_LIVE_PASS,
  nextMsPerDelta,
} from '../../src/store/lmdb-compactor.ts'
import type { CombineEncoded } from '../../src/store/store.ts'
import { compactorFixture } from './compactor-fixture.ts'

const base = { quietMs: 1000, passDeltas: 50_000, livePassMs: 5, msPerDelta: 0.004, logged: 20_000 }

test('while commits land a pass folds about livePassMs of deltas, bounded both ways', () => {
  assert.equal(compactionPassSize({ ...base, sinceCommitMs: 10 }), 1250)
  // A slow or loaded machine: never below MIN_LIVE_PASS, so the log still drains.
  assert.equal(compactionPassSize({ ...base, sinceCommitMs: 10, msPerDelta: 1 }), MIN_LIVE_PASS)
  // A fast one: never above a whole pass.
  assert.equal(compactionPassSize({ ...base, sinceCommitMs: 10, msPerDelta: 1e-6 }), 50_000)
  assert.equal(compactionPassSize({ ...base, sinceCommitMs: 10, msPerDelta: 0 }), 50_000)
})

test('when no commit came for quietMs, or the log holds more than a whole pass, a pass is a whole pass', () => {
  assert.equal(compactionPassSize({ ...base, sinceCommitMs: 1000 }), 50_000)
  // A log a catch-up left, or past the threshold: small passes would each pay a transaction.
  assert.equal(compactionPassSize({ ...base, sinceCommitMs: 10, logged: 50_001 }), 50_000)
  assert.equal(compactionPassSize({ ...base, sinceCommitMs: 10, logged: 50_000 }), 1250)
  assert.equal(compactionPassSize({ ...base, sinceCommitMs: 5000, msPerDelta: 1 }), 50_000)
})

test('a look goes on while no commit came, or while the log holds more than the next pass and at most a whole one', () => {
  assert.equal(keepCompacting(true, 10, 50_000, 50_000), true)
  assert.equal(keepCompacting(true, 80_000, 50_000, 50_000), true)
  assert.equal(keepCompacting(false, 10, 50_000, 50_000), false)
  assert.equal(keepCompacting(false, 50_000, 50_000, 50_000), false)
  // A log past one whole pass while commits land: one whole pass per look, as before.
  assert.equal(keepCompacting(false, 50_001, 50_000, 50_000), false)
  // While commits land the next pass is small: the log is drained down to one such pass.
  assert.equal(keepCompacting(false, 1_000, 500, 50_000), true)
  assert.equal(keepCompacting(false, 50_000, 500, 50_000), true)
  assert.equal(keepCompacting(false, 400, 500, 50_000), false)
})

// A log past one whole pass (a catch-up left it, or a crash) is folded in whole passes "as
// before" (decision 0011, addendum of session 11): one pass per look while commits land, each
// look first asking whether the process has time to spare. keepCompacting went on past a commit
// whenever the log held more than the next pass, i.e. always for such a log: whole passes back
// to back on the speed thread, each holding it for all of its deltas, until the log was down to
// one pass, and inside a catch-up that began meanwhile (the loop's business is asked only by a
// look). Here a commit lands during the first pass (from the combine, which runs inside it).
test('a log past one whole pass: a commit that lands during a pass stops the look after it', async (t) => {
  const { store, commit, delta, compactor: compactorOf, total } = await compactorFixture(t)
  // Never busy (the loop's utilization is below 2), never quiet: only commits decide.
  const compactor = compactorOf({ passDeltas: 10, checkMs: 50, quietMs: 60_000, busyAbove: 2 })
  let armed = false
  let passRan = () => {}
  const ran = new Promise<void>((resolve) => {
    passRan = resolve
  })
  const sum: CombineEncoded = (_view, a, b) => {
    if (armed) {
      armed = false
      // A commit lands while the pass runs.
      compactor.committed(commit(100), sum)
      passRan()
    }
    return (a as number) + (b as number)
  }
  for (let at = 0; at < 100; at++) await store.commitSpeed(commit(at), sum)
  // The compactor learns of the 100 deltas at once (its first look is checkMs later).
  armed = true
  compactor.committed(commit(0, Array(100).fill(delta)), sum)
  await ran
  await compactor.settled()
  await compactor.close()
  // One whole pass of 10 rows, then the look stopped: the next look asks again.
  assert.equal(compactor.pendingRows(), 90)
  assert.equal(await store.compactSpeed(sum), 90)
  assert.equal(await total('/a'), 100)
})

// Live passes are sized by the time per FOLDED delta: a pass that only dropped deltas (a view
// redefined, an epoch collected) or kept them for another process took next to no time for many
// deltas, and must not make the next live pass of real deltas huge.
test('the time per delta is learned from folded deltas only, over passes of 200 or more', () => {
  assert.equal(nextMsPerDelta(0.005, 0.5, 0), 0.005, 'a pass that folded nothing teaches nothing')
  assert.equal(nextMsPerDelta(0.005, 0.5, 199), 0.005, 'too few to measure')
  assert.ok(Math.abs(nextMsPerDelta(0.005, 10, 1_000) - (0.7 * 0.005 + 0.3 * 0.01)) < 1e-12)
  // With the estimate untouched, the next live pass stays ~5 ms of real deltas.
  const size = compactionPassSize({
    sinceCommitMs: 0,
    quietMs: 1_000,
    passDeltas: 50_000,
    livePassMs: 5,
    msPerDelta: nextMsPerDelta(0.005, 0.5, 0),
    logged: 10_000,
  })
  assert.equal(size, 1_000)
})

/**
 * Never spare (no utilization is below 0), never quiet under commits every 20 ms (span 100 ms),
 * whole passes of 100, far from the threshold: only the drain after a catch-up folds.
 */
const catchUpOptions = { passDeltas: 100, checkMs: 10, quietMs: 100, busyAbove: 0, threshold: 1_000_000 }

// After a catch-up the log held a million deltas and more, and the compactor folded only in time
// to spare: the queries of that long log kept the event loop busy, commits kept landing, and the
// log stayed for as long as traffic came (decision 0011, "The drain after a catch-up"). Under live
// traffic (few deltas a span) a log of more than one whole pass is drained whether or not the loop
// looks busy, in small passes.
test('a catch-up log is drained under live traffic even when the loop never looks spare', async (t) => {
  const { compactor: compactorOf, catchUp, liveTraffic, total } = await compactorFixture(t)
  // Never spare (no utilization is below 0), never quiet (a commit every 20 ms, span 100 ms):
  // before, nothing was folded here at all.
  const compactor = compactorOf(catchUpOptions)
  // The catch-up: 40 commits of 50 deltas (2,000), twenty whole passes of 100.
  await catchUp(compactor, 40, 50)
  // Live traffic: one delta per commit, far below a tenth of a whole pass a span.
  const live = liveTraffic(compactor, 40)
  for (let i = 0; i < 500 && compactor.pendingRows() > 1; i++) await live()
  await compactor.close()
  assert.ok(compactor.pendingRows() <= 1, `${compactor.pendingRows()} log rows left`)
  // The answer: every logged delta folded once (a key of the catch-up, summed).
  assert.equal(await total('/k7-3'), 1)
})

test('while commits land, a long log below the threshold is folded in drain-sized passes, not whole ones', () => {
  const base = { quietMs: 1_000, passDeltas: 200_000, livePassMs: 5, msPerDelta: 0.005, sinceCommitMs: 10 }
  assert.equal(compactionPassSize({ ...base, logged: 1_000_000, draining: true, drainPassMs: 20 }), 4_000)
  assert.equal(compactionPassSize({ ...base, logged: 1_000_000, draining: false }), 200_000)
  assert.equal(
    compactionPassSize({ ...base, logged: 1_000_000, draining: true, sinceCommitMs: 1_000 }),
    200_000,
  )
  assert.equal(compactionPassSize({ ...base, logged: 100_000, draining: true, drainPassMs: 20 }), 1_000)
})

// The drain's passes are drain-sized (drainPassMs of deltas), not whole: a whole pass of 200,000
// new keys right after a catch-up held the thread ~1 s, and a live commit waited behind it
// (decision 0011, "The drain after a catch-up"). Counted as log rows each pass's transaction
// removes: rows of 500 deltas, a drain pass of MIN_LIVE_PASS (500) takes one, a whole pass four.
test('under live traffic a catch-up log is drained one drain-sized pass at a time', async (t) => {
  const { raw, compactor: compactorOf, catchUp, liveTraffic } = await compactorFixture(t)
  // Log rows removed per write transaction of the compactor (a pass is one transaction).
  const perPass: number[] = []
  let removed = 0
  const counted = new Proxy(raw, {
    get(target, name) {
      if (name === 'remove')
        return (key: (string | number | boolean)[], ...rest: unknown[]) => {
          if (key[0] === 'rl') removed++
          return (target.remove as (...a: unknown[]) => unknown)(key, ...rest)
        }
      if (name === 'transaction')
        return async (callback: () => unknown) => {
          removed = 0
          const result = await target.transaction(callback)
          perPass.push(removed)
          return result
        }
      const value = Reflect.get(target, name, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  // Never spare; live commits every 20 ms, far from quiet (1 s).
  const compactor = compactorOf(
    {
      passDeltas: 2_000,
      drainPassMs: 0.001,
      checkMs: 10,
      quietMs: 1_000,
      busyAbove: 0,
      threshold: 1_000_000,
    },
    counted,
  )
  await catchUp(compactor, 20, 500)
  const live = liveTraffic(compactor, 20)
  for (let i = 0; i < 1_000 && compactor.pendingRows() > 4; i++) await live()
  await compactor.close()
  // Drained down to one whole pass (four rows), which queries read while commits land.
  assert.ok(compactor.pendingRows() <= 4, `${compactor.pendingRows()} log rows left`)
  assert.ok(perPass.length >= 10, `${perPass.length} passes`)
  assert.ok(Math.max(...perPass) <= 1, `log rows per pass: ${perPass.join(' ')}`)
})

// `strata start` holds the compactor while POST /events bursts (runtime/ingest-burst.ts): no
// pass starts on spare time while `held()` says so; once it no longer does, the log is folded;
// and past the threshold a pass runs whatever `held()` says.
test('held: no pass on spare time while held, the log folded once released, the threshold folds anyway', async (t) => {
  const { store, sum, delta, commit, compactor: compactorOf, total } = await compactorFixture(t)
  let held = true
  // Always spare time (quiet at once, never busy): only `held` keeps it from folding.
  const compactor = compactorOf({ checkMs: 5, quietMs: 0, busyAbove: 2, held: () => held })
  for (let at = 0; at < 20; at++) {
    await store.commitSpeed(commit(at), sum)
    compactor.committed(commit(at), sum)
  }
  // Some twenty looks' time (not a timed assertion: a compactor that ignores `held` folds at its first).
  await new Promise((resolve) => setTimeout(resolve, 100))
  await compactor.settled()
  assert.equal(compactor.pendingRows(), 20, 'nothing folded while held')
  held = false
  while (compactor.pendingRows() > 0) await new Promise((resolve) => setTimeout(resolve, 5))
  await compactor.close()

  // Past the threshold: folded at once, held or not.
  held = true
  const bounded = compactorOf({ threshold: 5, checkMs: 60_000, held: () => held })
  for (let at = 20; at < 30; at++) await store.commitSpeed(commit(at), sum)
  bounded.committed(commit(20, Array(10).fill(delta)), sum)
  await bounded.settled()
  assert.equal(bounded.pendingRows(), 0, 'the threshold folds while held')
  assert.equal(await total('/a'), 30)
})

// The drain after a catch-up waits while POST /events bursts too (held), as a spare-time pass
// does: the compactor's look asks `held` in one place for both (#startUnlessHeld, since session 20).
test('held: a catch-up log is not drained while held, and is once released', async (t) => {
  const { compactor: compactorOf, catchUp, liveTraffic } = await compactorFixture(t)
  let held = true
  // Never spare, never quiet: only the drain could fold here, and only `held` stops it.
  const compactor = compactorOf({ ...catchUpOptions, held: () => held })
  await catchUp(compactor, 40, 50)
  const live = liveTraffic(compactor, 40)
  // Live traffic for some twenty-five looks (not a timed assertion: a drain that ignores `held`
  // folds rows at its first look after a span).
  for (let i = 0; i < 25; i++) await live()
  await compactor.settled()
  assert.equal(compactor.pendingRows(), 40, 'nothing drained while held')
  held = false
  for (let i = 0; i < 500 && compactor.pendingRows() > 1; i++) await live()
  await compactor.close()
  assert.ok(compactor.pendingRows() <= 1, `${compactor.pendingRows()} log rows left once released`)
})
