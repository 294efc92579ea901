// The next window while a commit lands (src/speed/partition-folder.ts, #landing; decision 0011,
// "The next window while a commit lands" and its addendum "Commits sent while the one before
// lands"): with a fold thread, a partition's next batches are folded into a new window as soon as
// its commit starts, and that window's commit is sent when due, without waiting for the first to
// land. Each test holds the first commit in the store (this store then runs the next one FIRST,
// as a pool of connections may) and checks what must never happen:
// - a commit refused for a required boundary (a batch run) reseals the landing window; the next
//   window, folded at the epoch open before, must be refolded into the epoch open now;
// - a commit that fails and is sent again lands before the next window's (never its offsets
//   before the earlier window's deltas), through a non-retriable error, an outage and a lost answer;
// - the next window's commit, refused for arriving first, is sent again and lands once, after;
// - revoked or claimed again with two windows in flight, nothing is lost or counted twice;
// - each window's batch buffers go back to the pool once, after it landed or was dropped.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCodes, StrataError } from '../../src/core/errors.ts'
import { claimSpeedPartition } from '../../src/speed/claim.ts'
import { FoldThreads } from '../../src/speed/fold-threads.ts'
import type { FolderPolicy } from '../../src/speed/partition-folder.ts'
import type { SpeedCommit } from '../../src/store/store.ts'
import { assertExact, MemoryPartition, pageView, speedFixture } from './helpers.ts'

const live: FolderPolicy = {
  commitEveryMs: Number.POSITIVE_INFINITY,
  commitEveryRecords: Number.POSITIVE_INFINITY,
  sealEveryMs: Number.POSITIVE_INFINITY,
  commitWhenCaughtUp: true,
}

type Fixture = Awaited<ReturnType<typeof speedFixture>>

/**
 * A store whose commits are recorded (from, offset, and the offset stored when each was sent)
 * and whose first commit waits for `release()`; `fail(n)` decides what the n-th attempt does
 * (0-based): nothing, throw before it reaches the store, or land and lose the answer.
 */
function gatedStore(fixture: Fixture, fail: (n: number) => 'ok' | 'refuse' | 'outage' | 'lost' = () => 'ok') {
  let release!: () => void
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let entered!: () => void
  const holding = new Promise<void>((resolve) => {
    entered = resolve
  })
  const sent: Array<{ from: number; offset: number; stored: number }> = []
  // The commits that landed, in the order they did.
  const landed: Array<[number, number]> = []
  let calls = 0
  // It declares commits run in order (as the LMDB store beneath it does), so the folder sends ahead
  // (partition-folder.ts, landingLimit): what the folder does then if one is run first all the same.
  const store = Object.create(fixture.store, { commitsInOrder: { value: true } }) as typeof fixture.store
  store.commitSpeed = async (commit: SpeedCommit, combine) => {
    const n = calls++
    if (n === 0) {
      entered()
      await gate
    }
    const stored = (await fixture.store.speedPartition(0))?.offset ?? -1
    sent.push({ from: commit.from, offset: commit.offset, stored })
    const what = fail(n)
    if (what === 'refuse') throw new StrataError(ErrorCodes.STORE, 'refused once')
    if (what === 'outage') throw new StrataError(ErrorCodes.STORE, 'connection lost', { retriable: true })
    await fixture.store.commitSpeed(commit, combine)
    landed.push([commit.from, commit.offset])
    if (what === 'lost') throw new StrataError(ErrorCodes.STORE, 'answer lost', { retriable: true })
  }
  /** Commits that reached this store (the held one included), landed or not. */
  const arrived = () => calls
  return { store, release, holding, sent, landed, arrived }
}

async function setup(t: Parameters<typeof speedFixture>[0]) {
  const fixture = await speedFixture(t, 1)
  await fixture.store.registerSpeedViews(
    fixture.views.map((v) => ({ view: v.name, codeHash: v.codeHash })),
    1,
  )
  const threads = new FoldThreads(fixture.configPath, fixture.views, 1)
  t.after(() => threads.close())
  await threads.ready()
  const errors: StrataError[] = []
  const claim = (store: typeof fixture.store) =>
    claimSpeedPartition({
      store,
      views: fixture.views,
      partition: 0,
      partitions: 1,
      timeField: 'ts',
      policy: live,
      thread: threads.of(0),
      onError: (e) => errors.push(e),
      // No real waiting through an outage.
      retry: { initialDelayMs: 0, maxDelayMs: 0 },
    })
  return { fixture, threads, claim, errors }
}

/** Turns of the event loop until `done` (a fold the thread answers, a commit that queued). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setImmediate(resolve))
}

const reach = (log: MemoryPartition, from: number, to: number) => ({
  ...log.read(from, to - from),
  highWatermark: to,
})

for (const [name, boundary, before] of [
  ['inside the landing window, after the next one folded', 20, false],
  ['inside the landing window, before the next one folds', 20, true],
  ['at the landing window end, before the next one folds (the next one sealed there too)', 30, true],
] as const) {
  test(`a commit refused for a required boundary ${name}: the next window is refolded into the epoch open now`, async (t) => {
    const { fixture, claim } = await setup(t)
    const log = new MemoryPartition()
    log.append(Array.from({ length: 45 }, (_, i) => pageView(i)))
    const gated = gatedStore(fixture)
    const folder = await claim(gated.store)
    const first = await folder.take(reach(log, 0, 30))
    await gated.holding
    // The batch run aligns its horizon while [0, 30) is in flight and [30, 45) folds.
    if (before) assert.deepEqual(await fixture.store.alignHorizon([boundary], [0]), [boundary])
    const next = await folder.take(reach(log, 30, 45))
    await until(() => folder.stats().position === 45)
    if (!before) assert.deepEqual(await fixture.store.alignHorizon([boundary], [0]), [boundary])
    // The next window's commit was sent without waiting for the held one.
    await until(() => gated.arrived() === 2)
    gated.release()
    await Promise.all([first.committed, next.committed])
    await folder.flush()
    assert.equal(folder.stopped, false)
    const state = (await fixture.store.speedPartition(0))!
    assert.equal(state.offset, 45)
    assert.deepEqual(state.epochs, [0, boundary])
    // The next window's commit was sent while the first was held, and refused (it reached the
    // store first); the first refused once, resealed, sent again; then the next window again.
    assert.deepEqual(
      gated.sent.map((c) => [c.from, c.offset, c.stored]),
      [
        [30, 45, 0],
        [0, 30, 0],
        [0, 30, 0],
        [30, 45, 30],
      ],
    )
    assert.deepEqual(gated.landed, [
      [0, 30],
      [30, 45],
    ])
    assert.equal(folder.stats().retries, 1)
    // The epoch from the boundary holds exactly the events from it on, the next window's
    // included: with the next window left at epoch 0, a batch version at the boundary would
    // cover its events twice... or never (they would sit below the horizon).
    const snap = await fixture.store.snapshot('amount', 'page_view')
    const view = fixture.views.find((v) => v.name === 'amount')!
    const sumOf = (epoch: number) =>
      snap.realtime
        .filter((r) => r.epoch === epoch)
        .reduce((s, r) => s + (view.result(view.monoid.decode(r.state as never)) as number), 0)
    const expected = (from: number, to: number) =>
      log.records
        .filter((r) => r.offset >= from && r.offset < to && r.event?.type === 'page_view')
        .reduce((s, r) => s + (r.event!.n as number), 0)
    assert.equal(sumOf(boundary), expected(boundary, 45))
    assert.equal(sumOf(0), expected(0, boundary))
    await assertExact(fixture.store, fixture.views, [log.records])
  })
}

for (const [name, fail, attempts] of [
  // Thrown to the folder: reported, the window kept in #landing and sent again first.
  // The next window's, refused for arriving first, is behind it: sent again after it, on the flush.
  ['fails (not retriable)', (n: number) => (n === 0 ? 'refuse' : 'ok'), 5],
  // Retried by the committer itself (the same commit) before it lands; the next window's after.
  ['meets an outage', (n: number) => (n === 0 ? 'outage' : 'ok'), 5],
  // Landed with its answer lost: the resend is refused, the commit known applied.
  ['lands with its answer lost', (n: number) => (n === 0 ? 'lost' : 'ok'), 5],
] as const) {
  test(`a commit that ${name} while the next window folds lands before the next window's`, async (t) => {
    const { fixture, claim } = await setup(t)
    const log = new MemoryPartition()
    log.append(Array.from({ length: 30 }, (_, i) => pageView(i)))
    const gated = gatedStore(fixture, fail)
    const folder = await claim(gated.store)
    const first = await folder.take(reach(log, 0, 10))
    await gated.holding
    const next = await folder.take(reach(log, 10, 20))
    await until(() => folder.stats().position === 20)
    // The next window's commit was sent without waiting for the held one.
    await until(() => gated.arrived() === 2)
    gated.release()
    await Promise.all([first.committed, next.committed])
    // A commit that was refused waits for its backoff, or for a flush (revoke, close): flush.
    await folder.add(log.read(20))
    await folder.flush()
    assert.equal(folder.stopped, false)
    // The next window's commit was sent while [0, 10) was held (and reached the store first:
    // refused). Each window landed once, in order: never [10, 20) before [0, 10)'s deltas, never
    // one twice (a resend of one that had landed with its answer lost is known applied).
    const sent = JSON.stringify(gated.sent)
    assert.deepEqual(gated.sent[0], { from: 10, offset: 20, stored: 0 }, sent)
    assert.deepEqual(
      gated.landed,
      [
        [0, 10],
        [10, 20],
        [20, 30],
      ],
      sent,
    )
    assert.equal(gated.sent.length, attempts, sent)
    assert.equal((await fixture.store.speedPartition(0))!.offset, 30)
    const asOf = await assertExact(fixture.store, fixture.views, [log.records])
    assert.ok(asOf.every((v) => v[0] === log.end))
  })
}

// A store with a pool of connections (PostgreSQL) may run a commit before the one sent before
// it. The one refused for that waits for the one before to land and is sent again; a commit sent
// meanwhile would reach the store before that resend and be refused too, and so on for as long as
// a commit is due before the one before it lands: about every other commit refused at 10,000
// events/s on PostgreSQL (review of session 15). A commit whose predecessor waits is sent after it.
test('a commit refused for arriving first: the commits due while it waits are sent after it, not refused in turn', async (t) => {
  const { fixture, claim } = await setup(t)
  const log = new MemoryPartition()
  log.append(Array.from({ length: 40 }, (_, i) => pageView(i)))
  const gated = gatedStore(fixture)
  let refused = 0
  const store = Object.create(gated.store) as typeof gated.store
  store.commitSpeed = async (commit, combine) => {
    try {
      await gated.store.commitSpeed(commit, combine)
    } catch (error) {
      refused++
      throw error
    }
  }
  const folder = await claim(store)
  const first = await folder.take(reach(log, 0, 10))
  await gated.holding
  const settle = async () => {
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve))
  }
  // [10, 20) reaches the store first: refused, it waits for [0, 10).
  const second = await folder.take(reach(log, 10, 20))
  await until(() => refused === 1)
  await settle()
  // [20, 30) and [30, 40) fall due while it waits.
  const third = await folder.take(reach(log, 20, 30))
  await until(() => folder.stats().position === 30)
  await settle()
  const fourth = await folder.take(reach(log, 30, 40))
  await until(() => folder.stats().position === 40)
  await settle()
  gated.release()
  await Promise.all([first.committed, second.committed, third.committed, fourth.committed])
  await folder.flush()
  const sent = JSON.stringify(gated.sent)
  assert.deepEqual(
    gated.landed,
    [
      [0, 10],
      [10, 20],
      [20, 30],
      [30, 40],
    ],
    sent,
  )
  // One refusal ([10, 20) ahead of [0, 10)), not one per commit due while it waited. Counted as the
  // store's refusals, not as commits sent while the stored offset was not yet their `from`: the
  // store runs commits in order, so [30, 40) may be sent (and land) while [20, 30) is still in
  // LMDB's writer thread (a loaded machine), which is no refusal.
  assert.equal(refused, 1, sent)
  assert.equal(gated.sent.length, 5, sent)
  const asOf = await assertExact(fixture.store, fixture.views, [log.records])
  assert.ok(asOf.every((v) => v[0] === log.end))
})

// A commit that landed with its answer lost, the next window's commit landing after it before its
// resend: the resend is refused, and the stored offset is past this commit's, which only its own
// landing can explain (the next one lands only after it). Read as fencing, the folder would stop.
test('a commit landed with its answer lost, the next one landed before its resend: known applied, not fenced', async (t) => {
  const { fixture, claim, errors } = await setup(t)
  const log = new MemoryPartition()
  log.append(Array.from({ length: 30 }, (_, i) => pageView(i)))
  const landed: Array<[number, number]> = []
  let calls = 0
  const store = Object.create(fixture.store) as typeof fixture.store
  store.commitSpeed = async (commit: SpeedCommit, combine) => {
    const n = calls++
    await fixture.store.commitSpeed(commit, combine)
    landed.push([commit.from, commit.offset])
    if (n === 0) {
      // Its answer is lost only once the next window's commit landed behind it.
      await until(() => landed.length === 2)
      throw new StrataError(ErrorCodes.STORE, 'answer lost', { retriable: true })
    }
  }
  const folder = await claim(store)
  const first = await folder.take(reach(log, 0, 10))
  await until(() => landed.length === 1)
  const next = await folder.take(reach(log, 10, 20))
  await Promise.all([first.committed, next.committed])
  assert.equal(folder.stopped, false, errors.map((e) => e.message).join('; '))
  await folder.add(reach(log, 20, 30))
  assert.deepEqual(landed, [
    [0, 10],
    [10, 20],
    [20, 30],
  ])
  assert.equal(folder.stats().commits, 3)
  const asOf = await assertExact(fixture.store, fixture.views, [log.records])
  assert.ok(asOf.every((v) => v[0] === log.end))
})

test('revoked with two windows in flight: the flush lands both, in order, once', async (t) => {
  const { fixture, claim } = await setup(t)
  const log = new MemoryPartition()
  log.append(Array.from({ length: 30 }, (_, i) => pageView(i)))
  const gated = gatedStore(fixture)
  const folder = await claim(gated.store)
  await folder.take(reach(log, 0, 10))
  await gated.holding
  // Not caught up: folded into the next window, no commit due.
  await folder.take({ ...log.read(10, 10), highWatermark: 30 })
  await until(() => folder.stats().position === 20)
  assert.equal(folder.stats().consumed, 0)
  // PartitionSet.release: flush, then stop.
  const flushed = folder.flush()
  gated.release()
  await flushed
  folder.stop('released')
  assert.deepEqual(
    gated.sent.map((c) => [c.from, c.offset]),
    [
      [0, 10],
      [10, 20],
    ],
  )
  assert.equal((await fixture.store.speedPartition(0))!.offset, 20)
  // The next owner resumes there.
  const after = await claim(fixture.store)
  assert.equal(after.offset, 20)
  await after.add(log.read(20))
  await after.flush()
  const asOf = await assertExact(fixture.store, fixture.views, [log.records])
  assert.ok(asOf.every((v) => v[0] === log.end))
})

test('claimed again with two windows in flight: the held commit is fenced, the next owner re-reads both windows', async (t) => {
  const { fixture, claim, threads } = await setup(t)
  const buffers = threads.of(0).buffers
  // Every batch in a pooled buffer, so that each window's hand-back shows in the pool.
  const smallest = buffers.smallest
  buffers.smallest = 1
  t.after(() => {
    buffers.smallest = smallest
  })
  const fresh: number[] = []
  const take = buffers.take.bind(buffers)
  buffers.take = (bytes) => {
    const created = buffers.created
    const buffer = take(bytes)
    if (buffers.created > created) fresh.push(buffer.byteLength)
    return buffer
  }
  t.after(() => {
    buffers.take = take
  })
  const pooledBefore = buffers.pooled
  const log = new MemoryPartition()
  log.append(Array.from({ length: 40 }, (_, i) => pageView(i)))
  const gated = gatedStore(fixture)
  const folder = await claim(gated.store)
  await folder.take(reach(log, 0, 10))
  await gated.holding
  await folder.take({ ...log.read(10, 10), highWatermark: 40 })
  await until(() => folder.stats().position === 20)
  // PartitionSet.take: stop, then claim (the owner token bumped: the held commit is fenced).
  folder.stop('claimed again')
  const second = await claim(fixture.store)
  assert.equal(second.offset, 0)
  gated.release()
  await until(() => gated.sent.length === 1)
  await second.add(log.read(0))
  await second.flush()
  second.stop('released')
  const asOf = await assertExact(fixture.store, fixture.views, [log.records])
  assert.ok(asOf.every((v) => v[0] === log.end))
  // Every window's buffers came back once: the pool holds what was created for these batches
  // (a buffer handed back twice would count twice; one never handed back, not at all). A
  // request answered after the drops (the thread answers in order) lets their answers in.
  await threads
    .of(0)
    .request({ op: 'drop', w: -1, p: 0 })
    .catch(() => undefined)
  assert.ok(fresh.length >= 3, `${fresh.length} buffers`)
  assert.equal(
    buffers.pooled - pooledBefore,
    fresh.reduce((a, b) => a + b, 0),
  )
})

test('stopped with a commit in flight: its flush (a release, a close) waits for that commit, and its offset stays the stored one', async (t) => {
  const { fixture, claim } = await setup(t)
  const log = new MemoryPartition()
  log.append(Array.from({ length: 30 }, (_, i) => pageView(i)))
  const gated = gatedStore(fixture)
  const folder = await claim(gated.store)
  await folder.take(reach(log, 0, 10))
  await gated.holding
  await folder.take({ ...log.read(10, 10), highWatermark: 30 })
  await until(() => folder.stats().position === 20)
  // Stopped by something other than a release (a fold that failed, a fence): the commit of
  // [0, 10) is still in the store's hands, and nothing beyond 0 is known stored.
  folder.stop('stopped')
  assert.equal(folder.offset, 0)
  assert.equal(folder.stats().consumed, 0)
  // PartitionSet.release flushes, then the worker's close() returns and its caller closes the
  // store: not while a commit of this folder may still be written.
  let settled = false
  const flushed = folder.flush().then(() => {
    settled = true
  })
  for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setImmediate(resolve))
  assert.equal(settled, false, 'the flush of a stopped folder returned with its commit still in flight')
  gated.release()
  await flushed
  assert.deepEqual(
    gated.sent.map((c) => [c.from, c.offset]),
    [[0, 10]],
  )
  // It landed (nobody claimed meanwhile); the next owner resumes there and re-reads the rest.
  const after = await claim(fixture.store)
  assert.equal(after.offset, 10)
  await after.add(log.read(10))
  await after.flush()
  const asOf = await assertExact(fixture.store, fixture.views, [log.records])
  assert.ok(asOf.every((v) => v[0] === log.end))
})

for (const when of ['both in flight', 'between their landings'] as const) {
  test(`a crash with two commits sent, the second ahead of the first (${when}): no event lost or counted twice`, async (t) => {
    const { fixture, claim } = await setup(t)
    const log = new MemoryPartition()
    log.append(Array.from({ length: 30 }, (_, i) => pageView(i)))
    // Between: [0, 10) lands, and the resend of [10, 20) fails (kept to be sent again).
    const gated = gatedStore(fixture, (n) => (when === 'between their landings' && n === 2 ? 'refuse' : 'ok'))
    const folder = await claim(gated.store)
    await folder.take(reach(log, 0, 10))
    await gated.holding
    await folder.take(reach(log, 10, 20))
    // [10, 20) was sent without waiting for [0, 10), and refused: it reached the store first.
    await until(() => gated.sent.length === 1)
    assert.deepEqual(gated.sent[0], { from: 10, offset: 20, stored: 0 })
    let stored = 0
    if (when === 'between their landings') {
      gated.release()
      await until(() => gated.sent.length === 3)
      assert.deepEqual(gated.landed, [[0, 10]])
      stored = 10
    }
    // The crash: the next owner claims (the owner token moves: whatever of ours is in flight is
    // refused from now on), and the old folder is dropped as a crash would.
    const next = await claim(fixture.store)
    folder.stop('crashed')
    gated.release()
    assert.equal(next.offset, stored)
    await next.add(log.read(stored))
    await next.flush()
    // The old owner's commits landed at most up to where the new one resumed, each once.
    assert.deepEqual(gated.landed, stored === 10 ? [[0, 10]] : [])
    assert.equal((await fixture.store.speedPartition(0))!.offset, 30)
    const asOf = await assertExact(fixture.store, fixture.views, [log.records])
    assert.ok(asOf.every((v) => v[0] === log.end))
  })
}
