// Fold threads (src/speed/fold-threads.ts): the records folded in a thread give the same commits
// as in process; a thread that dies fails its partitions (nothing of their windows is committed,
// and the next owner resumes at the stored offset); a thread whose views differ is refused.
// (The exactness property test runs random schedules with and without fold threads.)
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { compileViews } from '../../src/core/config.ts'
import { loadConfig } from '../../src/core/config-loader.ts'
import { ErrorCodes, StrataError } from '../../src/core/errors.ts'
import { claimSpeedPartition } from '../../src/speed/claim.ts'
import { FoldThreads } from '../../src/speed/fold-threads.ts'
import {
  type FolderPolicy,
  MAX_LANDING,
  type PartitionFolder,
  WAITING_BATCHES,
  WAITING_BYTES,
} from '../../src/speed/partition-folder.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { assertExact, configSource, MemoryPartition, pageView, speedFixture, withSpans } from './helpers.ts'

const manual: FolderPolicy = {
  commitEveryMs: Number.POSITIVE_INFINITY,
  commitEveryRecords: Number.POSITIVE_INFINITY,
  sealEveryMs: Number.POSITIVE_INFINITY,
}

async function setup(t: Parameters<typeof speedFixture>[0]) {
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
  const failed: StrataError[] = []
  const skipped: Array<[number, string]> = []
  const claim = () =>
    claimSpeedPartition({
      store: fixture.store,
      views: fixture.views,
      partition: 0,
      partitions: 1,
      timeField: 'ts',
      policy: manual,
      thread: threads.of(0),
      onError: (e) => errors.push(e),
      onFailed: (e) => failed.push(e),
      onSkip: (_p, offset, reason) => skipped.push([offset, reason]),
    })
  return { fixture, threads, claim, errors, failed, skipped }
}

test('folded in a thread: the same answers, and invalid records skipped with their reasons', async (t) => {
  const { fixture, claim, skipped } = await setup(t)
  const log = new MemoryPartition()
  log.append([pageView(0), '{oops', pageView(1), '{"type":"click"}', pageView(2)], true)
  log.append(Array.from({ length: 40 }, (_, i) => pageView(3 + i)))
  const folder = await claim()
  await folder.add(log.read(0, 7))
  await folder.flush()
  await folder.add(log.read(folder.stats().position))
  await folder.flush()
  assert.equal(folder.stats().folded, 43)
  assert.equal(folder.stats().skipped, 2)
  assert.deepEqual(
    skipped.map(([offset]) => offset),
    [1, 3],
  )
  assert.match(skipped[0]![1], /not JSON/)
  assert.match(skipped[1]![1], /event-time field/)
  await assertExact(fixture.store, fixture.views, [log.records])
  assert.equal(folder.stats().consumed, log.end)
})

test('batches as spans (a Kafka fetch for fold threads): a refetch that overlaps what was taken folds each event once', async (t) => {
  const { fixture, claim } = await setup(t)
  const log = new MemoryPartition()
  log.append(
    Array.from({ length: 30 }, (_, i) => pageView(i)),
    true,
  )
  const folder = await claim()
  await folder.add(withSpans(log.read(0, 10), 3))
  // A source that reads again from an older position: records 5-9 come again, then 10-19.
  await folder.add(withSpans(log.read(5, 15), 2))
  await folder.flush()
  await folder.add(withSpans(log.read(folder.stats().position), 1))
  await folder.flush()
  assert.equal(folder.stats().folded, 30)
  assert.equal(folder.stats().consumed, log.end)
  await assertExact(fixture.store, fixture.views, [log.records])
})

test('a required boundary known before a batch, in its middle: sealed there as the records are taken, no rebuild', async (t) => {
  const { fixture, claim } = await setup(t)
  const log = new MemoryPartition()
  log.append(Array.from({ length: 30 }, (_, i) => pageView(i)))
  const folder = await claim()
  await folder.add(withSpans(log.read(0, 5), 2))
  await folder.flush()
  // A batch run requires 12 before the batch 5..29 comes: the folder must take that batch record
  // by record (sealing at 12 between two of them), not in one run (takeRun) to be rebuilt later.
  assert.deepEqual(await fixture.store.alignHorizon([12], [0]), [12])
  await folder.add(withSpans(log.read(5), 3))
  await folder.flush()
  const state = (await fixture.store.speedPartitions())[0]!
  assert.deepEqual([state.offset, state.epochs, state.required], [30, [0, 12], []])
  assert.equal(folder.stats().rebuilds, 0)
  assert.equal(folder.stats().retries, 0)
  await assertExact(fixture.store, fixture.views, [log.records])
})

test('a batch taken in one run counts every record for the commit policy (commitEveryRecords)', async (t) => {
  const { fixture, threads } = await setup(t)
  const log = new MemoryPartition()
  log.append(Array.from({ length: 25 }, (_, i) => pageView(i)))
  const folder = await claimSpeedPartition({
    store: fixture.store,
    views: fixture.views,
    partition: 0,
    partitions: 1,
    timeField: 'ts',
    policy: { ...manual, commitEveryRecords: 10 },
    thread: threads.of(0),
  })
  // One batch of 25 (no required boundary: RemoteWindow.takeRun): past 10 records a commit is due.
  const { committed } = await folder.take(withSpans(log.read(0), 2))
  await committed
  const state = (await fixture.store.speedPartitions())[0]!
  assert.equal(state.offset, 25)
  await assertExact(fixture.store, fixture.views, [log.records])
})

test('a fold thread that dies fails its partition: nothing of the window is committed', async (t) => {
  const { fixture, threads, claim, failed } = await setup(t)
  const log = new MemoryPartition()
  log.append(Array.from({ length: 30 }, (_, i) => pageView(i)))
  const folder = await claim()
  await folder.add(log.read(0, 10))
  await folder.flush()
  await folder.add(log.read(10, 10))
  await threads.of(0).kill()
  await folder.add(log.read(20))
  await folder.flush()
  assert.ok(folder.stopped, 'the folder stopped')
  assert.equal(failed.length, 1, 'the failure is reported to the worker (it exits)')
  assert.equal(failed[0]!.code, ErrorCodes.INTERNAL)
  assert.match(failed[0]!.message, /fold thread/)
  // The store holds the first commit only: offset 10 with exactly its events.
  const state = (await fixture.store.speedPartitions()).find((p) => p.partition === 0)!
  assert.equal(state.offset, 10)
  await assertExact(fixture.store, fixture.views, [log.records])
  // The next owner (folding in process here) resumes at 10: nothing lost, nothing twice.
  const next = await claimSpeedPartition({
    store: fixture.store,
    views: fixture.views,
    partition: 0,
    partitions: 1,
    timeField: 'ts',
    policy: manual,
  })
  assert.equal(next.offset, 10)
  await next.add(log.read(10))
  await next.flush()
  const asOf = await assertExact(fixture.store, fixture.views, [log.records])
  assert.ok(asOf.every((v) => v[0] === 30))
})

test('a thread that loaded other view definitions is refused (STRATA_ERR_CONFIG_CHANGED)', async (t) => {
  const defer = deferrer(t)
  const fixture = await speedFixture(t, 1)
  // The file now holds the same views with one definition changed.
  const edited = join(fixture.dir, 'edited.config.ts')
  await writeFile(edited, configSource('events', 1).replace("tumbling('1h')", "tumbling('2h')"))
  assert.notDeepEqual(
    compileViews(await loadConfig(edited)).map((v) => v.codeHash),
    fixture.views.map((v) => v.codeHash),
  )
  const threads = new FoldThreads(edited, fixture.views, 1)
  defer(() => threads.close())
  await assert.rejects(threads.ready(), { code: ErrorCodes.CONFIG_CHANGED })
})

test('batches taken while a commit is in flight are folded and committed in order, none twice', async (t) => {
  const { fixture, threads } = await setup(t)
  const log = new MemoryPartition()
  log.append(['{oops', ...Array.from({ length: 60 }, (_, i) => pageView(i))], true)
  log.append(Array.from({ length: 40 }, (_, i) => pageView(60 + i)))
  // A commit falls due after every batch: each take() may return before its batch is folded.
  const folder = await claimSpeedPartition({
    store: fixture.store,
    views: fixture.views,
    partition: 0,
    partitions: 1,
    timeField: 'ts',
    policy: { ...manual, commitEveryRecords: 1 },
    thread: threads.of(0),
  })
  const commits: Promise<void>[] = []
  for (let from = 0; from < log.end; from += 7) {
    const batch = log.read(from, 7)
    const { committed } = await folder.take({ ...batch, nextOffset: Math.min(from + 7, log.end) })
    commits.push(committed)
  }
  await Promise.all(commits)
  await folder.flush()
  assert.equal(folder.stopped, false)
  assert.equal((await fixture.store.speedPartitions())[0]!.offset, log.end)
  assert.ok(folder.stats().commits >= 10, `${folder.stats().commits} commits`)
  const asOf = await assertExact(fixture.store, fixture.views, [log.records])
  assert.ok(asOf.every((v) => v[0] === log.end))
})

test('a slow commit does not hold the next live batches: they wait folded-to-be, and one commit takes them all', async (t) => {
  const { fixture, threads } = await setup(t)
  const log = new MemoryPartition()
  log.append(Array.from({ length: 30 }, (_, i) => pageView(i)))
  // The store holds the first commit until the test lets it through.
  let release!: () => void
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let held!: () => void
  const holding = new Promise<void>((resolve) => {
    held = resolve
  })
  const commits: Array<{ from: number; offset: number }> = []
  const store = Object.create(fixture.store) as typeof fixture.store
  store.commitSpeed = async (commit, combine) => {
    commits.push({ from: commit.from, offset: commit.offset })
    if (commits.length === 1) {
      held()
      await gate
    }
    return fixture.store.commitSpeed(commit, combine)
  }
  const folder = await claimSpeedPartition({
    store,
    views: fixture.views,
    partition: 0,
    partitions: 1,
    timeField: 'ts',
    policy: { ...manual, commitWhenCaughtUp: true },
    thread: threads.of(0),
  })
  // Each batch reaches the partition's end as a live stream's fetches do.
  const live = (from: number, to: number) => ({ ...log.read(from, to - from), highWatermark: to })
  const first = await folder.take(live(0, 10))
  await holding
  // With the first commit held, the next batches are taken without waiting for it (before, the
  // third take waited for the second batch's fold, which waits for the commit: this test hung).
  const second = await folder.take(live(10, 20))
  const third = await folder.take(live(20, 30))
  assert.deepEqual(commits, [{ from: 0, offset: 10 }])
  release()
  await Promise.all([first.committed, second.committed, third.committed])
  // The second batch found the third waiting: one commit took both.
  assert.deepEqual(commits, [
    { from: 0, offset: 10 },
    { from: 10, offset: 30 },
  ])
  assert.equal(folder.stats().commits, 2)
  const asOf = await assertExact(fixture.store, fixture.views, [log.records])
  assert.ok(asOf.every((v) => v[0] === log.end))
})

test('a batch whose fold fails reading the partition is not skipped by the commit of the next one', async (t) => {
  const { fixture, threads } = await setup(t)
  const log = new MemoryPartition()
  log.append(Array.from({ length: 30 }, (_, i) => pageView(i)))
  // The second batch's read of the partition (before its fold) fails once, not retriably.
  let reads = 0
  const store = Object.create(fixture.store) as typeof fixture.store
  store.speedPartition = async (partition) => {
    if (++reads === 2) throw new StrataError(ErrorCodes.STORE, 'read failed once')
    return fixture.store.speedPartition(partition)
  }
  const errors: StrataError[] = []
  const folder = await claimSpeedPartition({
    store,
    views: fixture.views,
    partition: 0,
    partitions: 1,
    timeField: 'ts',
    policy: { ...manual, commitWhenCaughtUp: true },
    thread: threads.of(0),
    onError: (e) => errors.push(e),
  })
  const live = (from: number, to: number) => ({ ...log.read(from, to - from), highWatermark: to })
  const committed: Promise<void>[] = []
  for (const [from, to] of [
    [0, 10],
    [10, 20],
    [20, 30],
  ] as const) {
    try {
      committed.push((await folder.take(live(from, to))).committed)
    } catch {
      // A source stops delivering after a batch it could not hand over; the folder may too.
      break
    }
  }
  await Promise.allSettled(committed)
  await folder.flush().catch(() => undefined)
  // Whatever the folder did, the stored offset covers exactly the events committed: the second
  // batch's events are folded, or its offsets are left for the next owner.
  const state = (await fixture.store.speedPartitions()).find((p) => p.partition === 0)!
  const asOf = await assertExact(fixture.store, fixture.views, [log.records])
  assert.ok(asOf.every((v) => v[0] === state.offset))
  // Resumed from the stored offset, nothing is lost nor counted twice.
  const next = await claimSpeedPartition({
    store: fixture.store,
    views: fixture.views,
    partition: 0,
    partitions: 1,
    timeField: 'ts',
    policy: manual,
  })
  await next.add(log.read(next.offset))
  await next.flush()
  const end = await assertExact(fixture.store, fixture.views, [log.records])
  assert.ok(end.every((v) => v[0] === log.end))
})

test('revoked while a commit is held and later batches wait: the flush commits them all once; a new claim meanwhile fences the held one', async (t) => {
  const { fixture, threads } = await setup(t)
  const log = new MemoryPartition()
  log.append(Array.from({ length: 40 }, (_, i) => pageView(i)))
  const held = (store: typeof fixture.store) => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let entered!: () => void
    const holding = new Promise<void>((resolve) => {
      entered = resolve
    })
    const wrapped = Object.create(store) as typeof store
    let n = 0
    wrapped.commitSpeed = async (commit, combine) => {
      if (++n === 1) {
        entered()
        await gate
      }
      return store.commitSpeed(commit, combine)
    }
    return { store: wrapped, release, holding }
  }
  const live = (from: number, to: number) => ({ ...log.read(from, to - from), highWatermark: to })
  const claim = (store: typeof fixture.store) =>
    claimSpeedPartition({
      store,
      views: fixture.views,
      partition: 0,
      partitions: 1,
      timeField: 'ts',
      policy: { ...manual, commitWhenCaughtUp: true },
      thread: threads.of(0),
    })
  // Revoked (PartitionSet.release: flush, then stop) with the first commit held and two batches
  // waiting behind it.
  const a = held(fixture.store)
  const first = await claim(a.store)
  await first.take(live(0, 10))
  await a.holding
  await first.take(live(10, 15))
  await first.take(live(15, 20))
  const flushed = first.flush()
  a.release()
  await flushed
  first.stop('released')
  assert.equal((await fixture.store.speedPartitions())[0]!.offset, 20)
  await assertExact(fixture.store, fixture.views, [log.records])
  // Claimed again (PartitionSet.take: stop, then claim) with a commit held and a batch waiting:
  // the held commit lands before the claim or is fenced after it; the new owner resumes there.
  const b = held(fixture.store)
  const second = await claim(b.store)
  await second.take(live(20, 25))
  await b.holding
  await second.take(live(25, 30))
  second.stop('claimed again')
  const third = await claim(fixture.store)
  b.release()
  await third.add(live(third.offset, 40))
  await third.flush()
  const asOf = await assertExact(fixture.store, fixture.views, [log.records])
  assert.ok(asOf.every((v) => v[0] === log.end))
})

test('a commit that failed keeps its window: the next commit asks for the deltas again once batches were folded since', async (t) => {
  const { fixture, threads } = await setup(t)
  const log = new MemoryPartition()
  log.append(Array.from({ length: 30 }, (_, i) => pageView(i)))
  const store = Object.create(fixture.store) as typeof fixture.store
  let commits = 0
  store.commitSpeed = async (commit, combine) => {
    if (++commits === 1) throw new StrataError(ErrorCodes.STORE, 'refused once')
    return fixture.store.commitSpeed(commit, combine)
  }
  const errors: StrataError[] = []
  const folder = await claimSpeedPartition({
    store,
    views: fixture.views,
    partition: 0,
    partitions: 1,
    timeField: 'ts',
    policy: manual,
    thread: threads.of(0),
    onError: (e) => errors.push(e),
  })
  await folder.add(log.read(0, 10))
  // The first commit asks for the deltas of [0, 10) and fails: the window is kept.
  await assert.rejects(folder.flush(), /refused once/)
  await folder.add(log.read(10, 10))
  await folder.add(log.read(20))
  await folder.flush()
  assert.equal((await fixture.store.speedPartitions())[0]!.offset, 30)
  const asOf = await assertExact(fixture.store, fixture.views, [log.records])
  assert.ok(asOf.every((v) => v[0] === log.end))
})

/**
 * A folder (commit when caught up) whose every commit is held in the store until `release()`;
 * `commits()` counts the commits asked for. With a fold thread it sends up to MAX_LANDING of them
 * without waiting for the ones before to land (partition-folder.ts, #landing); the next one due
 * waits for the oldest to land, and holds the folder's queue.
 */
async function heldCommits(fixture: Awaited<ReturnType<typeof setup>>['fixture'], threads: FoldThreads) {
  let release!: () => void
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  let commits = 0
  const store = Object.create(fixture.store) as typeof fixture.store
  store.commitSpeed = async (commit, combine) => {
    commits++
    await gate
    return fixture.store.commitSpeed(commit, combine)
  }
  const folder = await claimSpeedPartition({
    store,
    views: fixture.views,
    partition: 0,
    partitions: 1,
    timeField: 'ts',
    policy: { ...manual, commitWhenCaughtUp: true },
    thread: threads.of(0),
  })
  return { folder, release, commits: () => commits }
}

/**
 * Takes one-record batches, each caught up, until MAX_LANDING commits are held and the next one
 * due waits for them (holding the folder's queue); returns the offset after them.
 */
async function fillLanding(
  folder: PartitionFolder,
  log: MemoryPartition,
  commits: () => number,
  committed: Promise<void>[],
): Promise<number> {
  for (let i = 0; i <= MAX_LANDING; i++) {
    committed.push((await folder.take({ ...log.read(i, 1), highWatermark: i + 1 })).committed)
    await until(() => folder.stats().position === i + 1)
  }
  await until(() => commits() === MAX_LANDING)
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
  assert.equal(commits(), MAX_LANDING, 'the commit past MAX_LANDING waits for the oldest to land')
  return MAX_LANDING + 1
}

async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setImmediate(resolve))
}

test('behind held commits, batches wait without holding the source only up to WAITING_BYTES (2 MiB): past it the next take is held', async (t) => {
  const { fixture, threads } = await setup(t)
  const log = new MemoryPartition()
  // Events of a twelfth of the bound each (a padding field the views do not read): five make a
  // batch of ~0.42 of it.
  const pad = 'x'.repeat(Math.floor(WAITING_BYTES / 12))
  const k = MAX_LANDING + 1
  log.append(Array.from({ length: k + 25 }, (_, i) => ({ ...pageView(i), pad })))
  const { folder, release, commits } = await heldCommits(fixture, threads)
  const live = (from: number, to: number) => ({ ...log.read(from, to - from), highWatermark: to })
  const committed: Promise<void>[] = []
  // MAX_LANDING commits held, the next one due waiting for them: the folds after it wait.
  await fillLanding(folder, log, commits, committed)
  // ~0.42 and ~0.83 of the bound waiting: taken at once.
  committed.push((await folder.take(live(k, k + 5))).committed)
  committed.push((await folder.take(live(k + 5, k + 10))).committed)
  // ~1.25 of it: this take waits for the batch before it to be folded, behind the held commits.
  let returned = false
  const third = folder.take(live(k + 10, k + 15)).then((taken) => {
    returned = true
    return taken
  })
  // The folds behind the held commits cannot run: a few turns of the event loop let anything else.
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
  assert.equal(returned, false, 'the source is held past WAITING_BYTES waiting')
  assert.equal(commits(), MAX_LANDING)
  release()
  committed.push((await third).committed)
  committed.push((await folder.take(live(k + 15, k + 25))).committed)
  await Promise.all(committed)
  await folder.flush()
  assert.equal((await fixture.store.speedPartitions())[0]!.offset, k + 25)
  const asOf = await assertExact(fixture.store, fixture.views, [log.records])
  assert.ok(asOf.every((v) => v[0] === log.end))
})

test('behind held commits, at most WAITING_BATCHES small batches wait without holding the source', async (t) => {
  const { fixture, threads } = await setup(t)
  const log = new MemoryPartition()
  const total = MAX_LANDING + 1 + WAITING_BATCHES + 5
  log.append(Array.from({ length: total }, (_, i) => pageView(i)))
  const { folder, release, commits } = await heldCommits(fixture, threads)
  const live = (from: number) => ({ ...log.read(from, 1), highWatermark: from + 1 })
  const committed: Promise<void>[] = []
  const first = await fillLanding(folder, log, commits, committed)
  // One-record batches, far under WAITING_BYTES: taken at once up to the count bound.
  let next = first
  let returned = false
  let blocked: Promise<{ committed: Promise<void> }> | undefined
  while (next < total) {
    const taking = folder.take(live(next++)).then((taken) => {
      returned = true
      return taken
    })
    returned = false
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
    if (!returned) {
      blocked = taking
      break
    }
    committed.push((await taking).committed)
  }
  assert.ok(blocked, 'a take was held')
  assert.equal(next - first, WAITING_BATCHES + 1, `held at the take past ${WAITING_BATCHES} batches waiting`)
  assert.equal(commits(), MAX_LANDING)
  release()
  committed.push((await blocked!).committed)
  while (next < total) committed.push((await folder.take(live(next++))).committed)
  await Promise.all(committed)
  await folder.flush()
  assert.equal((await fixture.store.speedPartitions())[0]!.offset, total)
  const asOf = await assertExact(fixture.store, fixture.views, [log.records])
  assert.ok(asOf.every((v) => v[0] === log.end))
})
