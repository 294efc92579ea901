// The store and the ingest side of the queries-while-ingesting micro benches
// (bench/query-ingest-micro.ts, bench/query-ingest-stalls.ts): an LMDB store of <root>'s build
// with a batch version of `keys` keys x 25 hourly windows, and per tick a speed commit of 200
// deltas to random keys (2,000 events/s at 100 ms a tick) with a compaction pass every 10 ticks.
// The random keys come from one seeded sequence, so every run does the same work in the same order.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const hour = 3_600_000

export async function queryIngestStore(root: string, keys: number, prefix: string) {
  const { default: config } = await import(`${root}/examples/pageviews/strata.config.ts`)
  const { compileViews } = await import(`${root}/src/core/config.ts`)
  const { queryViewAt } = await import(`${root}/src/serving/query.ts`)
  const { openLmdbStore } = await import(`${root}/src/store/lmdb-store.ts`)
  const [view] = compileViews(config).filter((v: { name: string }) => v.name === 'pageviews_by_url')
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const store = await openLmdbStore(dir, { compactor: { auto: false } })
  const enc = (n: number) => view.monoid.encode(n)
  const combine = (_v: string, a: unknown, b: unknown) =>
    view.monoid.encode(view.monoid.combine(view.monoid.decode(a), view.monoid.decode(b)))
  let seed = 1
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed / 0x7fffffff
  }
  const stage = await store.stageBatch(view.name)
  const entries = []
  for (let k = 0; k < keys; k++)
    for (let w = 0; w < 25; w++) entries.push({ key: `/p/${k}`, window: w * hour, state: enc(1 + (k % 7)) })
  await stage.put(entries)
  await stage.commit({
    codeHash: view.codeHash,
    horizon: [0],
    events: entries.length,
    groups: entries.length,
    startedAt: 0,
    completedAt: Date.now(),
  })
  await store.registerSpeedViews([{ view: view.name, codeHash: view.codeHash }], 1)
  await store.claimPartition(0, 0)
  let offset = 0
  return {
    view,
    store,
    queryViewAt,
    /** A random key of the batch version. */
    randomKey: () => `/p/${Math.floor(rand() * keys)}`,
    /** Tick t's speed commit, and its compaction pass on every tenth: whether it had one. */
    async tick(t: number): Promise<boolean> {
      const deltas = []
      for (let i = 0; i < 200; i++)
        deltas.push({
          view: view.name,
          epoch: 0,
          key: `/p/${Math.floor(rand() * keys)}`,
          window: 24 * hour,
          state: enc(1),
        })
      await store.commitSpeed(
        {
          partition: 0,
          owner: 1,
          from: offset,
          offset: offset + 200,
          hashes: { [view.name]: view.codeHash },
          deltas,
          seals: [],
        },
        combine,
      )
      offset += 200
      const pass = t % 10 === 9
      if (pass) await store.compactSpeed(combine)
      return pass
    },
    async close(): Promise<void> {
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
