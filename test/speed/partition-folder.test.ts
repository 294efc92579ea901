// The partition folder over an in-memory log and a real LMDB store: state and offset move
// together, restarts neither lose nor repeat, old owners are fenced, required boundaries are
// sealed exactly (even when they appear while a window is being folded), bad records are skipped.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compileView } from '../../src/core/compiled-view.ts'
import { count } from '../../src/core/monoids/count.ts'
import { view } from '../../src/core/view.ts'
import { claimSpeedPartition } from '../../src/speed/claim.ts'
import type { FolderPolicy, PartitionFolder } from '../../src/speed/partition-folder.ts'
import {
  archive,
  assertExact,
  batch,
  MemoryPartition,
  pageView,
  type SpeedFixture,
  speedFixture,
  waitFor,
} from './helpers.ts'

// Commits only when the test says so (flush), no periodic seals.
const manual: FolderPolicy = {
  commitEveryMs: Number.POSITIVE_INFINITY,
  commitEveryRecords: Number.POSITIVE_INFINITY,
  sealEveryMs: Number.POSITIVE_INFINITY,
}

async function setup(t: Parameters<typeof speedFixture>[0], partitions = 1) {
  const fixture = await speedFixture(t, partitions)
  await fixture.store.registerSpeedViews(
    fixture.views.map((v) => ({ view: v.name, codeHash: v.codeHash })),
    partitions,
  )
  const errors: Error[] = []
  const claim = (partition = 0, policy: Partial<FolderPolicy> = manual) =>
    claimSpeedPartition({
      store: fixture.store,
      views: fixture.views,
      partition,
      partitions,
      timeField: 'ts',
      policy,
      onError: (e) => errors.push(e),
    })
  return { fixture, claim, errors }
}

const events = (from: number, n: number) => Array.from({ length: n }, (_, i) => pageView(from + i))

async function stored(fixture: SpeedFixture, partition = 0) {
  return (await fixture.store.speedPartitions()).find((p) => p.partition === partition)!
}

test('a commit moves the realtime states and the consumed offset together', async (t) => {
  const { fixture, claim } = await setup(t)
  const log = new MemoryPartition()
  log.append(events(0, 30))
  const folder = await claim()
  await folder.add(log.read(0, 20))
  // Folded but not committed: the store has neither the states nor the offset.
  assert.equal((await stored(fixture)).offset, 0)
  await assertExact(fixture.store, fixture.views, [[]])
  await folder.flush()
  assert.equal((await stored(fixture)).offset, 20)
  const asOf = await assertExact(fixture.store, fixture.views, [log.records])
  assert.ok(asOf.every((v) => v[0] === 20))
  assert.equal(folder.stats().commits, 1)
  assert.equal(folder.stats().folded, 20)
})

test('a restart resumes at the stored offset: nothing lost, nothing counted twice', async (t) => {
  const { fixture, claim } = await setup(t)
  const log = new MemoryPartition()
  log.append(events(0, 50))
  const first = await claim()
  await first.add(log.read(0, 15))
  await first.flush()
  await first.add(log.read(15, 20)) // folded, never committed: the crash loses it
  first.stop('crash')

  const second = await claim()
  assert.equal(second.offset, 15)
  await second.add(log.read(second.offset))
  await second.flush()
  assert.equal((await stored(fixture)).offset, 50)
  await assertExact(fixture.store, fixture.views, [log.records])
})

test('an old owner is fenced: its commit is refused and it stops for good', async (t) => {
  const { fixture, claim, errors } = await setup(t)
  const log = new MemoryPartition()
  log.append(events(0, 40))
  const old = await claim()
  await old.add(log.read(0, 10))
  await old.flush()
  await old.add(log.read(10, 10))

  const current = await claim() // a rebalance gave the partition to another worker
  await old.flush() // the zombie wakes up
  assert.ok(old.stopped)
  assert.match(old.stats().stopped ?? '', /no longer ours/)
  assert.equal(errors.at(-1)?.message.includes('owner token 2'), true)
  assert.equal((await stored(fixture)).offset, 10)
  // It never writes again, whatever it is given.
  await old.add(log.read(20))
  await old.flush()
  assert.equal((await stored(fixture)).offset, 10)

  await current.add(log.read(current.offset))
  await current.flush()
  await assertExact(fixture.store, fixture.views, [log.records])
})

test('a required boundary known before folding is sealed exactly there', async (t) => {
  const { fixture, claim } = await setup(t)
  const log = new MemoryPartition()
  log.append(events(0, 30))
  const folder = await claim()
  await folder.add(log.read(0, 5))
  await folder.flush()
  assert.deepEqual(await fixture.store.alignHorizon([12], [0]), [12])
  await folder.add(log.read(5))
  await folder.flush()
  const state = await stored(fixture)
  assert.deepEqual(state.epochs, [0, 12])
  assert.deepEqual(state.required, [])
  assert.equal(folder.stats().retries, 0)
})

test('a required boundary recorded while the window is folded: the commit is rebuilt with the seal', async (t) => {
  const { fixture, claim } = await setup(t)
  const log = new MemoryPartition()
  log.append(events(0, 40))
  const folder = await claim()
  await folder.add(log.read(0, 10))
  await folder.flush()
  // The batch run aligns its horizon after the folder folded 10..39, before it commits.
  await folder.add(log.read(10))
  assert.deepEqual(await fixture.store.alignHorizon([25], [0]), [25])
  await folder.flush()
  const state = await stored(fixture)
  assert.deepEqual(state.epochs, [0, 25])
  assert.equal(state.offset, 40)
  assert.equal(folder.stats().rebuilds, 1)
  assert.equal(folder.stats().retries, 1)

  // Epoch 25 holds exactly the events at 25..39: a batch version at horizon 25 plus the
  // realtime epochs from 25 on is the whole log, once.
  const snap = await fixture.store.snapshot('amount', 'page_view')
  const epoch25 = snap.realtime.filter((r) => r.epoch === 25)
  const expected = log.records.filter((r) => r.offset >= 25 && r.event?.type === 'page_view')
  const sum = expected.reduce((s, r) => s + (r.event!.n as number), 0)
  const view = fixture.views.find((v) => v.name === 'amount')!
  assert.equal(view.result(view.monoid.decode(epoch25[0]!.state as never)), sum)
  await assertExact(fixture.store, fixture.views, [log.records])

  // And truly concurrently: whichever comes first, 50 ends up a boundary.
  log.append(events(40, 30))
  const [, aligned] = await Promise.all([folder.add(log.read(40)), fixture.store.alignHorizon([50], [0])])
  assert.deepEqual(aligned, [50])
  await folder.flush()
  assert.deepEqual((await stored(fixture)).epochs, [0, 25, 50])
  await assertExact(fixture.store, fixture.views, [log.records])
})

test('a required boundary at the end of the window, and one passed by a jump over a marker', async (t) => {
  const { fixture, claim } = await setup(t)
  const log = new MemoryPartition()
  log.append(events(0, 10), true) // offset 10 is a transaction marker; next record at 11
  log.append(events(10, 5))
  const folder = await claim()
  await folder.add(log.read(0, 5))
  await fixture.store.alignHorizon([10], [0])
  // The batch ends at 11 (past the marker): 10 is passed without a record there.
  await folder.add(log.read(5, 5))
  await folder.flush()
  let state = await stored(fixture)
  assert.equal(state.offset, 11)
  assert.deepEqual(state.epochs, [0, 10])
  await fixture.store.alignHorizon([16], [0])
  await folder.add(log.read(11))
  await folder.flush()
  state = await stored(fixture)
  assert.equal(state.offset, 16)
  assert.deepEqual(state.epochs, [0, 10, 16])
  await assertExact(fixture.store, fixture.views, [log.records])
})

test('records that are not valid events are skipped, counted, and do not stall the partition', async (t) => {
  const { fixture } = await setup(t)
  const skipped: Array<[number, string]> = []
  const folder: PartitionFolder = await claimSpeedPartition({
    store: fixture.store,
    views: fixture.views,
    partition: 0,
    partitions: 1,
    timeField: 'ts',
    policy: manual,
    onSkip: (_p, offset, reason) => skipped.push([offset, reason]),
  })
  const log = new MemoryPartition()
  const big = JSON.stringify({ ts: 1, pad: 'x'.repeat(300 * 1024) })
  log.append([pageView(0), '{oops', '[1,2]', '"text"', '', '{"type":"click"}', '{"ts":"yesterday"}', big])
  log.append([pageView(1), '{"ts":-5,"url":"/a"}', pageView(2)])
  await folder.add(log.read(0))
  await folder.flush()
  assert.deepEqual(
    skipped.map(([offset]) => offset),
    [1, 2, 3, 4, 5, 6, 7, 9],
  )
  assert.equal(folder.stats().skipped, 8)
  assert.equal(folder.stats().folded, 3)
  assert.equal((await stored(fixture)).offset, 11)
  await assertExact(fixture.store, fixture.views, [log.records])
})

test('commits happen by themselves every N records, and periodic seals cut epochs', async (t) => {
  const { fixture, claim } = await setup(t)
  const folder = await claim(0, {
    commitEveryRecords: 4,
    commitEveryMs: Number.POSITIVE_INFINITY,
    sealEveryMs: 0,
  })
  const log = new MemoryPartition()
  log.append(events(0, 12))
  for (let at = 0; at < 12; at += 3) await folder.add(log.read(at, 3))
  const state = await stored(fixture)
  // Seals before every batch after the first; a commit once 4 or more events are pending.
  assert.equal(state.offset, 12)
  assert.deepEqual(state.epochs, [0, 3, 6, 9])
  await assertExact(fixture.store, fixture.views, [log.records])
})

test('a batch that reaches the partition end commits at once; one short of it waits for the limits', async (t) => {
  const { fixture, claim } = await setup(t)
  const folder = await claim(0, { ...manual, commitWhenCaughtUp: true })
  const log = new MemoryPartition()
  log.append(events(0, 10))
  // Caught up as of the fetch (its high watermark is 10) only after the second batch.
  await folder.add({ ...log.read(0, 6), highWatermark: 10 })
  assert.equal((await stored(fixture)).offset, 0)
  await folder.add({ ...log.read(6), highWatermark: 10 })
  assert.equal((await stored(fixture)).offset, 10)
  assert.equal(folder.stats().commits, 1)
  await assertExact(fixture.store, fixture.views, [log.records])

  // Off: the same caught-up batch stays pending until a limit or a flush.
  const { fixture: other, claim: claimOther } = await setup(t)
  const batching = await claimOther(0, { ...manual, commitWhenCaughtUp: false })
  await batching.add({ ...log.read(0), highWatermark: 10 })
  assert.equal((await stored(other)).offset, 0)
  await batching.flush()
  assert.equal((await stored(other)).offset, 10)
  await assertExact(other.store, other.views, [log.records])
})

test('a partition never seen starts at the served batch horizon, and owes a boundary at every other', async (t) => {
  const { fixture, claim } = await setup(t)
  const log = new MemoryPartition()
  log.append(events(0, 30))
  // The batch layer ran before any speed worker: horizon 10 for every view.
  await archive(fixture.root, 0, log.records, 0, 10)
  await batch(fixture)
  // A later version of one view only (as when a view is added and recomputed): horizon 20.
  const stage = await fixture.store.stageBatch('top')
  const served = (await fixture.store.servedBatch('top'))!
  await stage.put(await collect(fixture.store.scanBatch('top', served.version)))
  const { view: _view, version: _version, ...meta } = served
  await stage.commit({ ...meta, horizon: [20] })

  const folder = await claim()
  assert.equal(folder.offset, 10)
  assert.deepEqual((await stored(fixture)).required, [20])
  await folder.add(log.read(folder.offset))
  await folder.flush()
  assert.deepEqual((await stored(fixture)).epochs, [10, 20])
  // 'top' at horizon 20 holds only what was folded below 10: its answer covers [0, 10) and
  // [20, 30) but not [10, 20) — the made-up version above is not a real fold. Check the others.
  await assertExact(
    fixture.store,
    fixture.views.filter((v) => v.name !== 'top'),
    [log.records],
  )
})

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of items) out.push(item)
  return out
}

test("a view defined with onError('stop') stops the partition, names the event in its stats and records it in the store", async (t) => {
  const fixture = await speedFixture(t, 1)
  const stops = compileView(
    view('stops')
      .key((e: any) => e.nope.x)
      .aggregate(count())
      .onError('stop'),
  )
  const views = [...fixture.views, stops]
  await fixture.store.registerSpeedViews(
    views.map((v) => ({ view: v.name, codeHash: v.codeHash })),
    1,
  )
  const folder = await claimSpeedPartition({
    store: fixture.store,
    views,
    partition: 0,
    partitions: 1,
    timeField: 'ts',
    policy: manual,
  })
  const log = new MemoryPartition()
  log.append(events(0, 5))
  await folder.add(log.read(0)).catch(() => undefined)
  const stats = folder.stats()
  assert.equal(stats.stoppedCode, 'STRATA_ERR_VIEW_FAILED')
  assert.deepEqual(
    { ...stats.viewFailure, message: undefined },
    {
      view: 'stops',
      partition: 0,
      offset: 0,
      message: undefined,
    },
  )
  assert.match(stats.viewFailure?.message ?? '', /^TypeError/)
  // Recorded for every process serving the store (view-errors.ts, currentStops).
  await waitFor(
    async () => (await fixture.store.speedViewErrors()).get('stops')?.stops?.length === 1,
    'the stop in the store',
  )
  assert.deepEqual((await fixture.store.speedViewErrors()).get('stops')?.stops, [stats.viewFailure])
})

test('a view stop is in the store once flush() resolves, however slow the store (a worker closing right after a stop must not lose it)', async (t) => {
  const fixture = await speedFixture(t, 1)
  const stops = compileView(
    view('stops')
      .key((e: any) => e.nope.x)
      .aggregate(count())
      .onError('stop'),
  )
  const views = [...fixture.views, stops]
  await fixture.store.registerSpeedViews(
    views.map((v) => ({ view: v.name, codeHash: v.codeHash })),
    1,
  )
  // The store takes its time recording the stop (a PostgreSQL round trip, a busy disk).
  const store = fixture.store
  const slow = new Proxy(store, {
    get(target, name) {
      if (name === 'recordViewStop') {
        return async (failure: Parameters<typeof store.recordViewStop>[0]) => {
          await new Promise((resolve) => setTimeout(resolve, 300))
          return target.recordViewStop(failure)
        }
      }
      const value = Reflect.get(target, name)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  const folder = await claimSpeedPartition({
    store: slow,
    views,
    partition: 0,
    partitions: 1,
    timeField: 'ts',
    policy: manual,
  })
  const log = new MemoryPartition()
  log.append(events(0, 5))
  await folder.add(log.read(0)).catch(() => undefined)
  assert.equal(folder.stats().stoppedCode, 'STRATA_ERR_VIEW_FAILED')
  // What a worker's close does (PartitionSet.release): flush, then the store may close.
  await folder.flush()
  assert.deepEqual((await fixture.store.speedViewErrors()).get('stops')?.stops, [folder.stats().viewFailure])
})
