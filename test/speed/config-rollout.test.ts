// Configs that change under a running speed layer: a view taken out and put back, and two workers
// briefly holding different configs during a rollout. The recorded definitions are always the
// config of the last worker that started (registration forgets the views it lacks), and a worker
// running any other config has its commits refused with STRATA_ERR_CONFIG_CHANGED — whether it
// lacks a recorded view or folds one no longer recorded — so it is restarted with the current
// file, never left moving offsets past events it does not fold.
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import type { TestContext } from 'node:test'
import { test } from 'node:test'
import type { StrataConfig } from '../../src/core/config.ts'
import type { StrataEvent } from '../../src/core/event.ts'
import { EmbeddedLog } from '../../src/log/embedded/index.ts'
import { queryView } from '../../src/serving/query.ts'
import { createSpeedWorker, type SpeedWorker } from '../../src/speed/speed-worker.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { schemaStores } from '../store/postgres-helpers.ts'
import {
  assertExact,
  batch,
  byPartition,
  pageView,
  type SpeedFixture,
  speedFixture,
  waitFor,
} from './helpers.ts'

const PARTITIONS = 2

/** The fixture's config without the view `hits`. */
const withoutHits = (config: StrataConfig): StrataConfig => ({
  ...config,
  views: config.views.filter((v) => v.name !== 'hits'),
})

type StoreKind = 'lmdb' | 'postgres'

/** The speed fixture (config, master dataset folder) on the embedded log, with either store. */
async function embedded(t: TestContext, kind: StoreKind) {
  const defer = deferrer(t)
  const base = await speedFixture(t, PARTITIONS)
  const fixture: SpeedFixture = kind === 'lmdb' ? base : { ...base, store: await schemaStores(t).open() }
  await mkdir(fixture.root, { recursive: true })
  const log = await EmbeddedLog.open({ dir: fixture.root, partitions: PARTITIONS })
  defer(() => log.close())
  const records = byPartition(PARTITIONS, [], [])
  let n = 0
  const append = async (count: number) => {
    const values: StrataEvent[] = []
    for (let i = 0; i < count; i++, n++) values.push(pageView(n))
    const positions = await log.append(
      values.map((v, i) => ({ key: `k${(n + i) % 7}`, value: JSON.stringify(v) })),
    )
    byPartition(PARTITIONS, values, positions, records)
  }
  const start = async (config: StrataConfig): Promise<SpeedWorker> => {
    const worker = createSpeedWorker({ store: fixture.store, config, log, policy: { commitEveryMs: 20 } })
    defer(() => worker.close())
    await worker.start()
    return worker
  }
  const caughtUp = async () => {
    const ends = await log.endOffsets()
    await waitFor(async () => {
      const stored = await fixture.store.speedPartitions()
      return ends.every((end, p) => stored.find((s) => s.partition === p)?.offset === end)
    }, 'the speed layer commits up to the end of the log')
    return ends
  }
  return { fixture, log, records, append, start, caughtUp }
}

const hitsOf = (fixture: SpeedFixture) => fixture.views.find((v) => v.name === 'hits')!

// Regression: `hits` kept its recorded definition while it was out of the config, and came back
// resuming its old realtime states past the events committed meanwhile (counted zero times).
for (const kind of ['lmdb', 'postgres'] as const) {
  test(`${kind}: a view taken out of the config and put back restarts as a new view; the batch run covers the gap`, async (t) => {
    const { fixture, log, records, append, start, caughtUp } = await embedded(t, kind)
    let worker = await start(fixture.config)
    await append(60)
    await caughtUp()
    await worker.close()

    worker = await start(withoutHits(fixture.config))
    await append(60)
    await caughtUp()
    await worker.close()

    worker = await start(fixture.config)
    await append(60)
    const ends = await caughtUp()
    // Before a batch run: `hits` is new again, its realtime states begin at its restart, so it
    // answers for nothing it missed (recomputing); every view is exact at its asOf.
    await assertExact(fixture.store, fixture.views, records, 'after the view came back')
    const before = await queryView(fixture.store, hitsOf(fixture), '/a')
    assert.equal(before.recomputing, true)
    assert.deepEqual(before.asOf, [0, 0])

    // The batch run reaches the restart (a required boundary), and the answer covers everything.
    await log.seal()
    const run = await batch(fixture)
    assert.ok(run.plan.views.includes('hits'), 'the batch run recomputes hits')
    await assertExact(fixture.store, fixture.views, records, 'after the batch run')
    const after = await queryView(fixture.store, hitsOf(fixture), '/a')
    assert.equal(after.recomputing, false)
    assert.deepEqual(after.asOf, ends)
    await worker.close()
  })
}

// Rollout, both directions. Each time the worker running the other config stops its partitions
// with CONFIG_CHANGED and commits nothing more; restarted with the current config it runs, exact.
for (const [what, running, current] of [
  ['lacks a view another worker registered', withoutHits, (c: StrataConfig) => c],
  ['folds a view another worker dropped', (c: StrataConfig) => c, withoutHits],
] as const) {
  for (const kind of ['lmdb', 'postgres'] as const)
    test(`${kind}: a worker whose config ${what} is refused, not left moving offsets`, async (t) => {
      const { fixture, log, records, append, start, caughtUp } = await embedded(t, kind)
      const old = await start(running(fixture.config))
      await append(40)
      await caughtUp()

      // Another worker starts with the current config.
      const now = current(fixture.config)
      await fixture.store.registerSpeedViews(
        fixture.views
          .filter((v) => now.views.some((w) => w.name === v.name))
          .map((v) => ({ view: v.name, codeHash: v.codeHash })),
        PARTITIONS,
      )
      const frozen = await fixture.store.speedPartitions()
      await append(40)
      await waitFor(
        () => old.stats().partitions.every((p) => p.stoppedCode === 'STRATA_ERR_CONFIG_CHANGED'),
        'both partitions stop with STRATA_ERR_CONFIG_CHANGED',
      )
      assert.deepEqual(await fixture.store.speedPartitions(), frozen)
      await old.close()

      // Restarted with the current file: it runs, and the views it has are exact.
      await start(now)
      await caughtUp()
      await log.seal()
      await batch(fixture)
      const views = fixture.views.filter((v) => now.views.some((w) => w.name === v.name))
      await assertExact(fixture.store, views, records, 'after the restart')
    })
}
