// The exactness invariant (docs/architecture.md), driven end to end in one process: random event sequences
// (out-of-order and late event times, repeated keys, invalid records, transaction-marker gaps)
// under random schedules of speed deliveries and commits, crashes (a folder dropped without a
// flush, its partition claimed again, the old folder kept as a zombie that later tries to write),
// archiving into the master dataset and batch runs (the real runBatch, which aligns its horizon
// with the speed layer's epochs and collects old ones), and the LMDB store's speed log folded into
// its state rows at random moments (explicit passes, or the background compactor after random
// numbers of deltas, a few deltas per pass), restarts of the speed layer with a view taken out
// of the config or put back unchanged, and the records folded in process or in fold threads
// (src/speed/fold-threads.ts; zombies and their successors share a thread; every other batch
// handed over as spans of its values, as a Kafka fetch is decoded for fold threads). After every step, every query answer equals the view
// folded plainly over every valid event below the answer's asOf.
import assert from 'node:assert/strict'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import fc from 'fast-check'
import { ErrorCodes, StrataError } from '../../src/core/errors.ts'
import type { StrataEvent } from '../../src/core/event.ts'
import { queryView } from '../../src/serving/query.ts'
import { claimSpeedPartition } from '../../src/speed/claim.ts'
import { FoldThreads } from '../../src/speed/fold-threads.ts'
import type { FolderPolicy, PartitionFolder, SpeedBatch } from '../../src/speed/partition-folder.ts'
import type { CompactorOptions } from '../../src/store/lmdb-compactor.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import { deferrer } from '../helpers/cleanup.ts'
import {
  archive,
  assertExact,
  BASE,
  batch,
  HOUR,
  MemoryPartition,
  type SpeedFixture,
  speedFixture,
  TYPES,
  URLS,
  withSpans,
} from './helpers.ts'

const PARTITIONS = 2
// What the schedules exercised, reported as a diagnostic (a property that never flips a batch
// version would prove little).
const tally = {
  runs: 0,
  steps: 0,
  batches: 0,
  flips: 0,
  crashes: 0,
  fenced: 0,
  rebuilds: 0,
  retries: 0,
  reconfigured: 0,
  folded: 0,
  pipelined: 0,
  /** Batches whose spans' own buffer the folder could take whole (RecordSpans.owned). */
  owned: 0,
  held: 0,
  overlapped: 0,
  /** Commits that reached the store while the one before them was held (sent ahead of it). */
  ahead: 0,
  /** Owners replaced with a held commit and one sent ahead of it both in flight, or between them. */
  crashedInFlight: 0,
}
const RUNS = Number(process.env.STRATA_PROPERTY_RUNS ?? 60)

const validEvent: fc.Arbitrary<StrataEvent> = fc.record({
  type: fc.constantFrom(...TYPES),
  url: fc.constantFrom(...URLS),
  user: fc.constantFrom('u0', 'u1', 'u2', 'u3', 'u4'),
  n: fc.integer({ min: 0, max: 8 }).map((n) => n / 2),
  ts: fc.integer({ min: 0, max: 5 * HOUR }).map((t) => BASE + t),
})
const invalidRecord = fc.constantFrom(
  '{oops',
  '[1]',
  '',
  '"text"',
  '{"type":"click"}',
  '{"ts":"yesterday"}',
  '{"ts":-1}',
)
const partition = fc.integer({ min: 0, max: PARTITIONS - 1 })

type Step =
  | { kind: 'append'; p: number; events: Array<StrataEvent | string>; gap: boolean }
  | { kind: 'deliver'; p: number; max: number }
  // As the source hands over a live stream's fetches: batches taken back to back, each reaching
  // the partition's end as it was then, their folds and commits not awaited (with a fold thread
  // they wait on the folder's queue behind its commit in flight; decision 0011, "Freshness").
  // Their commits land during the steps after.
  | { kind: 'pipeline'; p: number; sizes: number[] }
  // A commit held in the store while the partition's next batch is taken (with a fold thread it
  // folds into the next window meanwhile: partition-folder.ts, #landing), a batch run racing it
  // or not (a required boundary inside the held window: refused, resealed, the next window
  // refolded), the held attempt failing or not (sent again before the next window's). Its
  // commits land during the steps after.
  // `sendNext`: the next window's commit asked for too (flushIfDue), so with a fold thread it is
  // sent while the held one waits (partition-folder.ts, MAX_LANDING) and reaches the store first;
  // `crash`: the owner replaced (a crash stand-in, as 'crash') with both in flight, or once the
  // held one was let through and before the other is sent again.
  | {
      kind: 'held'
      p: number
      first: number
      next: number
      race: boolean
      fail: boolean
      sendNext: boolean
      crash: 'no' | 'both in flight' | 'between'
    }
  | { kind: 'commit'; p: number }
  | { kind: 'crash'; p: number }
  | { kind: 'zombie'; p: number }
  | { kind: 'archive'; p: number /** quarters of the unarchived part */; share: number }
  | { kind: 'batch'; lower: number[] | null }
  // Fold without committing, archive and run a batch: its horizon lands inside the uncommitted
  // window, the race a required boundary recorded mid-window exists for.
  | { kind: 'race'; p: number; max: number }
  // Fold the LMDB store's speed log into its state rows now.
  | { kind: 'compact' }
  // The speed layer restarts with `hits` taken out of the config, or put back unchanged.
  | { kind: 'reconfigure' }

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      p: partition,
      events: fc.array(
        fc.oneof({ weight: 6, arbitrary: validEvent }, { weight: 1, arbitrary: invalidRecord }),
        {
          minLength: 1,
          maxLength: 8,
        },
      ),
      gap: fc.boolean(),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('deliver' as const),
      p: partition,
      max: fc.integer({ min: 1, max: 6 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('pipeline' as const),
      p: partition,
      sizes: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 4 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('held' as const),
      p: partition,
      first: fc.integer({ min: 1, max: 5 }),
      next: fc.integer({ min: 1, max: 5 }),
      race: fc.boolean(),
      fail: fc.boolean(),
      sendNext: fc.boolean(),
      crash: fc.constantFrom('no' as const, 'no' as const, 'both in flight' as const, 'between' as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('commit' as const), p: partition }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), p: partition }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('zombie' as const), p: partition }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('archive' as const),
      p: partition,
      share: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('race' as const),
      p: partition,
      max: fc.integer({ min: 1, max: 6 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('compact' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reconfigure' as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('batch' as const),
      lower: fc.option(
        fc.array(fc.integer({ min: 0, max: 6 }), { minLength: PARTITIONS, maxLength: PARTITIONS }),
      ),
    }),
  },
)

const policy: fc.Arbitrary<FolderPolicy> = fc.record({
  commitEveryMs: fc.constant(Number.POSITIVE_INFINITY),
  commitEveryRecords: fc.constantFrom(2, Number.POSITIVE_INFINITY),
  // Deliveries carry the log's end as their high watermark: on, every delivery that reaches it
  // commits by itself (the live-stream policy), between the schedule's explicit commits.
  commitWhenCaughtUp: fc.boolean(),
  sealEveryMs: fc.constantFrom(0, Number.POSITIVE_INFINITY),
})

// The background compactor: off (explicit 'compact' steps only), or after every few deltas in
// passes of a few deltas, so that its passes fall between and during the schedule's steps.
const compactor: fc.Arbitrary<CompactorOptions> = fc.record({
  auto: fc.boolean(),
  threshold: fc.integer({ min: 0, max: 10 }),
  passDeltas: fc.integer({ min: 1, max: 10 }),
  checkMs: fc.constantFrom(0, 5),
  busyAbove: fc.constantFrom(0.5, 1),
})

async function runSchedule(
  shared: SpeedFixture,
  dir: string,
  steps: Step[],
  folderPolicy: FolderPolicy,
  compactorOptions: CompactorOptions,
  threads: FoldThreads | undefined,
) {
  await mkdir(dir, { recursive: true })
  const store = await openLmdbStore(join(dir, 'store'), { compactor: compactorOptions })
  const combine = (view: string, a: unknown, b: unknown) => {
    const { monoid } = shared.views.find((v) => v.name === view) as SpeedFixture['views'][number]
    return monoid.encode(monoid.combine(monoid.decode(a as never), monoid.decode(b as never)))
  }
  const fixture: SpeedFixture = { ...shared, store, root: join(dir, 'master') }
  // The speed layer's store: its next commit of a partition can be held ('held' steps) until
  // released, and its first attempt refused (not retriable: the folder keeps the window).
  type Gate = { gate: Promise<void>; fail: boolean; entered: boolean; ahead: boolean }
  const gates = new Map<number, Gate>()
  // The held commit of each partition while it waits at its gate.
  const holding = new Map<number, Gate>()
  const speedStore = Object.create(store) as typeof store
  speedStore.commitSpeed = async (commit, combine) => {
    const waiting = holding.get(commit.partition)
    if (waiting !== undefined) {
      waiting.ahead = true
      tally.ahead++
    }
    const held = gates.get(commit.partition)
    if (held !== undefined) {
      gates.delete(commit.partition)
      held.entered = true
      holding.set(commit.partition, held)
      try {
        await held.gate
      } finally {
        holding.delete(commit.partition)
      }
      if (held.fail) throw new StrataError(ErrorCodes.STORE, 'refused once (a held commit)')
    }
    return store.commitSpeed(commit, combine)
  }
  // Commits of 'pipeline' steps still on their folder's queue, and where each folder's source is.
  const inFlight: Promise<void>[] = []
  const sentBy = new WeakMap<PartitionFolder, number>()
  try {
    const { views } = fixture
    // The views the speed layer runs now ('reconfigure' takes `hits` out and puts it back); the
    // batch runs and the queries use every view, as the serving layer would.
    let running = views
    const register = () =>
      store.registerSpeedViews(
        running.map((v) => ({ view: v.name, codeHash: v.codeHash })),
        PARTITIONS,
      )
    await register()
    const taken = new Set<string>()
    const claim = (p: number) =>
      claimSpeedPartition({
        store: speedStore,
        views: running,
        partition: p,
        partitions: PARTITIONS,
        timeField: 'ts',
        policy: folderPolicy,
        ...(threads ? { thread: threads.of(p) } : {}),
      })
    // With fold threads, every other batch also carries its records as spans (as a Kafka source
    // decodes them for fold threads): the folder copies those, not the records, or (one in four:
    // one part in a buffer the batch alone holds, RecordSpans.owned) hands that buffer on whole.
    // That one comes first in each four, so that every threaded run with a batch has one (the
    // check after the property needs some; fourth, only runs of seven batches or more had one).
    let batches = 0
    const spanned = (b: SpeedBatch): SpeedBatch => {
      if (!threads || batches++ % 2 !== 0) return b
      const k = (batches >> 1) % 4
      const out = withSpans(b, k === 0 ? 1 : k, k === 0)
      if (out.spans?.owned !== undefined) tally.owned++
      return out
    }
    const logs = Array.from({ length: PARTITIONS }, () => new MemoryPartition())
    const records = () => logs.map((l) => l.records)
    const folders: PartitionFolder[] = []
    for (let p = 0; p < PARTITIONS; p++) folders.push(await claim(p))
    const zombies: Array<PartitionFolder | undefined> = []
    const archived = new Array(PARTITIONS).fill(0)

    const apply = async (s: Step): Promise<void> => {
      switch (s.kind) {
        case 'append':
          return logs[s.p].append(s.events, s.gap)
        case 'deliver':
          return folders[s.p].add(
            spanned({
              ...logs[s.p].read(folders[s.p].stats().position, s.max),
              highWatermark: logs[s.p].end,
            }),
          )
        case 'pipeline': {
          const folder = folders[s.p]
          for (const max of s.sizes) {
            const read = logs[s.p].read(Math.max(folder.stats().position, sentBy.get(folder) ?? 0), max)
            sentBy.set(folder, read.nextOffset)
            const { committed } = await folder.take(spanned({ ...read, highWatermark: read.nextOffset }))
            inFlight.push(committed)
          }
          tally.pipelined++
          return
        }
        case 'held': {
          const folder = folders[s.p]
          let release!: () => void
          const gate = new Promise<void>((resolve) => {
            release = resolve
          })
          const held = { gate, fail: s.fail, entered: false, ahead: false }
          gates.set(s.p, held)
          // Nothing here awaits the folder (in process its queue waits for the held commit): a
          // due commit is asked for (flushIfDue past any age), the next batch taken behind it, a
          // bounded number of turns let the fold thread fold it into the next window.
          const read = (max: number) => {
            const r = logs[s.p].read(Math.max(folder.stats().position, sentBy.get(folder) ?? 0), max)
            sentBy.set(folder, r.nextOffset)
            return r
          }
          const first = read(s.first)
          inFlight.push(folder.take({ ...first, highWatermark: logs[s.p].end }).then((t) => t.committed))
          inFlight.push(folder.flushIfDue(Number.POSITIVE_INFINITY))
          const next = read(s.next)
          inFlight.push(folder.take({ ...next, highWatermark: logs[s.p].end }).then((t) => t.committed))
          for (
            let turn = 0;
            turn < 200 && !(held.entered && folder.stats().position >= next.nextOffset);
            turn++
          )
            await new Promise((resolve) => setImmediate(resolve))
          if (s.sendNext) {
            inFlight.push(folder.flushIfDue(Number.POSITIVE_INFINITY))
            for (let turn = 0; turn < 200 && held.entered && !held.ahead; turn++)
              await new Promise((resolve) => setImmediate(resolve))
          }
          if (s.crash === 'both in flight' && held.entered) {
            if (held.ahead) tally.crashedInFlight++
            zombies[s.p] = folder
            folders[s.p] = await claim(s.p)
          }
          if (held.entered && folder.stats().position >= next.nextOffset && next.records.length > 0)
            tally.overlapped++
          if (s.race) {
            const to = folder.stats().position - 1
            if (to > archived[s.p]) {
              await archive(fixture.root, s.p, logs[s.p].records, archived[s.p], to)
              archived[s.p] = to
            }
            await apply({ kind: 'batch', lower: null })
          }
          gates.delete(s.p)
          release()
          if (s.crash === 'between' && held.entered) {
            // The held one lands (or is refused), the one sent ahead of it not sent again yet.
            for (let turn = 0; turn < 200 && holding.has(s.p); turn++)
              await new Promise((resolve) => setImmediate(resolve))
            await new Promise((resolve) => setImmediate(resolve))
            if (held.ahead) tally.crashedInFlight++
            zombies[s.p] = folder
            folders[s.p] = await claim(s.p)
          }
          tally.held++
          return
        }
        case 'commit':
          return folders[s.p].flush()
        case 'crash':
          // Dropped without a flush, and left running: it is a zombie now.
          zombies[s.p] = folders[s.p]
          tally.crashes++
          folders[s.p] = await claim(s.p)
          return
        case 'zombie': {
          const zombie = zombies[s.p]
          if (zombie === undefined) return
          await zombie.add(logs[s.p].read(zombie.stats().position, 3))
          await zombie.flush()
          assert.ok(zombie.stopped, 'a fenced folder stops')
          tally.fenced++
          return
        }
        case 'archive': {
          const to = Math.ceil(archived[s.p] + (s.share / 4) * (logs[s.p].end - archived[s.p]))
          if (to === archived[s.p]) return
          await archive(fixture.root, s.p, logs[s.p].records, archived[s.p], to)
          archived[s.p] = to
          return
        }
        case 'race': {
          await apply({ kind: 'deliver', p: s.p, max: s.max })
          // Up to just before the folder's position: inside its window when one is pending.
          const to = folders[s.p].stats().position - 1
          if (to > archived[s.p]) {
            await archive(fixture.root, s.p, logs[s.p].records, archived[s.p], to)
            archived[s.p] = to
          }
          return apply({ kind: 'batch', lower: null })
        }
        case 'compact':
          tally.folded += await store.compactSpeed(combine)
          return
        case 'reconfigure': {
          // A restart with the other config: what is pending is committed (as close() does), the
          // views registered, the partitions claimed again (the old folders become zombies).
          for (const folder of folders) await folder.flush()
          running = running.length === views.length ? views.filter((v) => v.name !== 'hits') : views
          if (running.length < views.length) taken.add('hits')
          await register()
          tally.reconfigured++
          for (let p = 0; p < PARTITIONS; p++) {
            zombies[p] = folders[p]
            folders[p] = await claim(p)
          }
          return
        }
        case 'batch': {
          const wished = s.lower
            ? archived.map((a, p) => Math.max(0, a - (s.lower as number[])[p]))
            : undefined
          const result = await batch(fixture, wished)
          tally.batches++
          if (result.versions.length > 0) tally.flips++
          return
        }
      }
    }

    tally.runs++
    for (const [i, s] of steps.entries()) {
      tally.steps++
      await apply(s)
      await assertExact(store, views, records(), `after step ${i} (${s.kind})`)
    }
    await Promise.all(inFlight)
    // Live: once everything is delivered and committed, every answer is as of the log's end.
    for (let p = 0; p < PARTITIONS; p++) {
      await folders[p].add(logs[p].read(folders[p].stats().position))
      await folders[p].flush()
      assert.equal(folders[p].stopped, false)
    }
    // (A view taken out at some point answers as of its batch horizon until a batch run reaches
    // where it came back: exact, checked above and below, but not live.)
    for (const view of running.filter((v) => !taken.has(v.name))) {
      const answer = await queryView(store, view, 'all')
      assert.deepEqual(
        answer.asOf,
        logs.map((l) => l.end),
        view.name,
      )
    }
    await assertExact(store, views, records(), 'at the end')
    // And once the whole log is folded.
    tally.folded += await store.compactSpeed(combine)
    await assertExact(store, views, records(), 'at the end, the log folded')
    for (const f of [...folders, ...zombies]) {
      tally.rebuilds += f?.stats().rebuilds ?? 0
      tally.retries += f?.stats().retries ?? 0
    }
  } finally {
    await Promise.allSettled(inFlight)
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
}

test('query == full recompute at asOf, under random events, commits, crashes, zombies, batch runs and config changes', async (t) => {
  const defer = deferrer(t)
  const shared = await speedFixture(t, PARTITIONS)
  const threads = new FoldThreads(shared.configPath, shared.views, 1)
  defer(() => threads.close())
  await threads.ready()
  // Every batch here is small: pooled all the same, so that windows are folded, rebuilt and
  // dropped in buffers reused from windows dropped before them (src/speed/batch-buffers.ts).
  threads.of(0).buffers.smallest = 1
  let run = 0
  await fc.assert(
    fc.asyncProperty(
      fc.array(step, { minLength: 4, maxLength: 40, size: 'max' }),
      policy,
      compactor,
      fc.boolean(),
      (steps, folderPolicy, compactorOptions, threaded) =>
        runSchedule(
          shared,
          join(shared.dir, `run-${run++}`),
          steps,
          folderPolicy,
          compactorOptions,
          threaded ? threads : undefined,
        ),
    ),
    { numRuns: RUNS },
  )
  const buffers = threads.of(0).buffers
  assert.ok(tally.owned > 0, 'some batches handed their own buffer on whole')
  t.diagnostic(JSON.stringify({ ...tally, buffersCreated: buffers.created, buffersPooled: buffers.pooled }))
})
