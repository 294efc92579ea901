// A real LMDB store in a temp dir, the example's views, and helpers that set up batch versions
// and speed-layer state through the store API only (what the batch and speed layers do), so the
// serving tests check the routes against states whose meaning is known.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import config from '../../examples/pageviews/strata.config.ts'
import type { CompiledView } from '../../src/core/compiled-view.ts'
import { compileViews } from '../../src/core/config.ts'
import { createServer, type ServerOptions } from '../../src/serving/server.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import type { Horizon, RealtimeDelta, Store } from '../../src/store/store.ts'
import { deferrer } from '../helpers/cleanup.ts'

export { config }
export const views = compileViews(config)
export const PARTITIONS = config.source.partitions
export const HOUR = 3_600_000
/** Three consecutive hourly windows of pageviews_by_url. */
export const W0 = Date.UTC(2026, 0, 1)
export const W1 = W0 + HOUR
export const W2 = W0 + 2 * HOUR

export function viewNamed(name: string): CompiledView<any, any> {
  const view = views.find((v) => v.name === name)
  if (!view) throw new Error(`no view ${name} in the example`)
  return view
}

/** The encoded state of a view's aggregate over some inputs (what the layers store). */
export function stateOf(view: CompiledView<any, any>, inputs: unknown[]): unknown {
  let state = view.monoid.zero()
  for (const input of inputs) state = view.monoid.add(state, input)
  return view.monoid.encode(state)
}

/** n page views of one URL by distinct users. */
export const pageViews = (n: number, url = '/a') =>
  Array.from({ length: n }, (_, i) => ({ type: 'page_view', url, user: `u${i}` }))

export async function openStore(t: TestContext): Promise<Store> {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-serving-'))
  const store = await openLmdbStore(join(dir, 'store'))
  let closed = false
  defer(async () => {
    if (!closed) await store.close()
    await rm(dir, { recursive: true, force: true })
  })
  const close = store.close.bind(store)
  store.close = async () => {
    closed = true
    await close()
  }
  return store
}

/** Serves the example's views from `store`; closed after the test. */
export async function serve(t: TestContext, store: Store, options: Partial<ServerOptions> = {}) {
  const defer = deferrer(t)
  const app = await createServer({ store, views, endOffsetsMaxAgeMs: 0, ...options })
  defer(() => app.close())
  return app
}

export async function installBatch(
  store: Store,
  view: CompiledView<any, any>,
  horizon: Horizon,
  entries: Array<{ key: string; window: number; state: unknown }>,
  codeHash = view.codeHash,
) {
  // Ran for 4 s and completed 1 s ago.
  const now = Date.now()
  const stage = await store.stageBatch(view.name)
  await stage.put(entries)
  return stage.commit({
    codeHash,
    horizon,
    events: 0,
    groups: entries.length,
    startedAt: now - 5000,
    completedAt: now - 1000,
  })
}

/** The speed layer's side: registered views, claimed partitions, and atomic commits. */
export class SpeedFixture {
  readonly #store: Store
  readonly #owners = new Map<number, number>()
  readonly #offsets = new Map<number, number>()

  constructor(store: Store) {
    this.#store = store
  }

  async register(): Promise<void> {
    await this.#store.registerSpeedViews(
      views.map((v) => ({ view: v.name, codeHash: v.codeHash })),
      PARTITIONS,
    )
  }

  async claim(partition: number): Promise<void> {
    const claimed = await this.#store.claimPartition(partition, 0)
    this.#owners.set(partition, claimed.owner)
    this.#offsets.set(partition, claimed.offset)
  }

  /** Commits the deltas folded from [stored offset, to) of a partition, sealing at `seals`. */
  async commit(
    partition: number,
    to: number,
    deltas: Array<Omit<RealtimeDelta, 'view'> & { view?: string }>,
    seals: number[] = [],
  ): Promise<void> {
    if (!this.#owners.has(partition)) await this.claim(partition)
    const from = this.#offsets.get(partition) ?? 0
    await this.#store.commitSpeed(
      {
        partition,
        owner: this.#owners.get(partition) ?? 0,
        hashes: Object.fromEntries(views.map((v) => [v.name, v.codeHash])),
        from,
        offset: to,
        deltas: deltas.map((d) => ({ view: 'pageviews_by_url', ...d }) as RealtimeDelta),
        seals,
      },
      (name, stored, delta) => {
        const { monoid } = viewNamed(name)
        return monoid.encode(monoid.combine(monoid.decode(stored as never), monoid.decode(delta as never)))
      },
    )
    this.#offsets.set(partition, to)
  }
}

export const ZEROS: Horizon = Array.from({ length: PARTITIONS }, () => 0)
/** The served horizon of the shared scenario: 10 in partition 0, 4 in partition 1. */
export const HORIZON: Horizon = [10, 4, 0, 0, 0, 0]

/**
 * The scenario the route tests share, set up as the layers would:
 * - the speed layer folds partition 0 [0, 10) and partition 1 [0, 6), and partition 0 [10, 15);
 * - a batch run fixes its horizon at [10, 4] (required boundaries the speed layer seals at) and
 *   serves pageviews_by_url: /a → W0 5, W1 3; /b → W0 7.
 * Realtime rows below the horizon (epoch 0) are also in the batch version: a query must not add
 * them. The merged answers are therefore
 *   /a → W0 5+4 = 9, W1 3+2 = 5, W2 0+1 = 1;  /b → W0 7;  /c → W2 20 (speed only),
 * with speed [15, 6, null…] and asOf [15, 6, 0…].
 */
export async function mergedScenario(store: Store): Promise<void> {
  const pv = viewNamed('pageviews_by_url')
  const count = (n: number) => stateOf(pv, pageViews(n))
  const speed = new SpeedFixture(store)
  await speed.register()
  await speed.claim(0)
  await speed.claim(1)
  await speed.commit(0, 10, [{ epoch: 0, key: '/a', window: W1, state: count(3) }])
  const horizon = await store.alignHorizon(HORIZON, ZEROS)
  if (horizon.join() !== HORIZON.join()) throw new Error(`aligned horizon ${horizon}`)
  await speed.commit(
    0,
    15,
    [
      { epoch: 10, key: '/a', window: W1, state: count(2) },
      { epoch: 10, key: '/a', window: W2, state: count(1) },
      { epoch: 10, key: '/c', window: W2, state: count(20) },
    ],
    [10],
  )
  await speed.commit(
    1,
    6,
    [
      { epoch: 0, key: '/a', window: W0, state: count(1) },
      { epoch: 4, key: '/a', window: W0, state: count(4) },
    ],
    [4],
  )
  await installBatch(store, pv, HORIZON, [
    { key: '/a', window: W0, state: count(5) },
    { key: '/a', window: W1, state: count(3) },
    { key: '/b', window: W0, state: count(7) },
  ])
}
