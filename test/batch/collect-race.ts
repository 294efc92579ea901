// Rule 6 against a registration landing while a batch run collects, for any store: LMDB runs it
// in batch-run.test.ts, PostgreSQL in postgres-store.integration.test.ts.
//
// Regression: the run read the served versions and the recorded views, then asked the store to
// collect below the bound it computed from them. A view registered again in between (a speed
// worker starting with a config that has it), its realtime states restarting at or below its old
// served horizon, was in neither read, and the speed layer passing the run's horizon meanwhile let
// the collection drop its epochs from that served horizon on: its answers lost those events. The
// store now computes the bound in the collecting transaction (collectionBound). Here the
// registration and the speed commit are made at the moment the run asks the store to collect,
// after every read the run makes itself.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { pathToFileURL } from 'node:url'
import { runBatch } from '../../src/batch/batch-run.ts'
import { compileViews } from '../../src/core/config.ts'
import { loadConfig } from '../../src/core/config-loader.ts'
import { SegmentBuilder, SegmentStore } from '../../src/master-dataset/index.ts'
import type { Store } from '../../src/store/store.ts'
import { deferrer } from '../helpers/cleanup.ts'

const index = pathToFileURL(join(import.meta.dirname, '../../src/config.ts')).href

function configSource(withPageviews: boolean): string {
  return `import { count, defineConfig, view } from '${index}'
export default defineConfig({
  source: { topic: 'events', partitions: 1 },
  views: [
    view('hits').key(() => 'all').aggregate(count()),
    ${withPageviews ? "view('pageviews_by_url').key((e) => e.url).aggregate(count())," : ''}
  ],
})
`
}

/** 1500 events in partition 0, in segments [0, 700), [700, 1400), [1400, 1500). */
async function masterDataset(root: string): Promise<void> {
  const segments = await SegmentStore.open(root)
  for (const [start, end] of [
    [0, 700],
    [700, 1400],
    [1400, 1500],
  ]) {
    const builder = new SegmentBuilder()
    for (let offset = start; offset < end; offset++) {
      const value = Buffer.from(JSON.stringify({ url: `/p${offset % 7}` }))
      builder.add({ offset, timestamp: 1_700_000_000_000 + offset, key: null, value })
    }
    await segments.writeSegment(0, { start, end }, builder.data(), builder.packer())
  }
}

export function collectRaceContract(
  test: (name: string, fn: (t: TestContext) => Promise<void>) => unknown,
  openStore: (t: TestContext) => Promise<{ store: Store }>,
): void {
  test('a view registered again while a batch run collects keeps the epochs its served version reads', async (t) => {
    const defer = deferrer(t)
    const { store } = await openStore(t)
    const dir = await mkdtemp(join(tmpdir(), 'strata-collect-race-'))
    defer(() => rm(dir, { recursive: true, force: true }))
    const root = join(dir, 'master')
    await masterDataset(root)
    const fullPath = join(dir, 'full.config.ts')
    const lessPath = join(dir, 'less.config.ts')
    await writeFile(fullPath, configSource(true))
    await writeFile(lessPath, configSource(false))
    const [fullConfig, less] = [await loadConfig(fullPath), await loadConfig(lessPath)]
    const full = compileViews(fullConfig)

    await runBatch({ config: fullConfig, configPath: fullPath, root, store, threads: 1, horizon: [700] })
    assert.equal((await store.servedBatch('pageviews_by_url'))?.horizon[0], 700)
    // The speed layer runs the config without pageviews_by_url, from 700.
    await store.registerSpeedViews(
      compileViews(less).map((v) => ({ view: v.name, codeHash: v.codeHash })),
      1,
    )
    const { owner } = await store.claimPartition(0, 700)

    const delta = (epoch: number, state: number) => ({
      view: 'pageviews_by_url',
      epoch,
      key: '/x',
      window: 0,
      state,
    })
    const add = (_view: string, a: unknown, b: unknown) => (a as number) + (b as number)
    let interleaved = false
    const collecting = new Proxy(store, {
      get(target, name) {
        if (name === 'collectEpochs') {
          return async (...args: Parameters<Store['collectEpochs']>) => {
            // A worker with the full config starts: pageviews_by_url restarts at 700, its served
            // horizon. It folds [700, 1500), sealing at the run's horizon 1400.
            const views = await target.registerSpeedViews(
              full.map((v) => ({ view: v.name, codeHash: v.codeHash })),
              1,
            )
            assert.deepEqual(views.find((v) => v.view === 'pageviews_by_url')?.start, [700])
            await target.commitSpeed(
              {
                partition: 0,
                owner,
                hashes: Object.fromEntries(full.map((v) => [v.name, v.codeHash])),
                from: 700,
                offset: 1500,
                deltas: [delta(700, 3), delta(1400, 2)],
                seals: [1400],
              },
              add,
            )
            interleaved = true
            return target.collectEpochs(...args)
          }
        }
        const value = Reflect.get(target, name, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const run = await runBatch({
      config: less,
      configPath: lessPath,
      root,
      store: collecting,
      threads: 1,
      horizon: [1400],
    })
    assert.ok(interleaved)
    assert.deepEqual([run.plan.horizon, run.plan.views], [[1400], ['hits']])
    // Served at 700, pageviews_by_url reads its realtime states from 700 on: both epochs.
    const snapshot = await store.snapshot('pageviews_by_url', '/x')
    assert.equal(snapshot.batch?.horizon[0], 700)
    assert.deepEqual(snapshot.realtime.map((r) => [r.epoch, r.state]).sort(), [
      [1400, 2],
      [700, 3],
    ])
  })
}
