// The batch layer over a generated master dataset, checked against a reference computed plainly
// here: exact for count and top-k, within HyperLogLog's bound for distinct counts.
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { adjacentRuns, runBatch } from '../../src/batch/batch-run.ts'
import { compileViews } from '../../src/core/config.ts'
import { loadConfig } from '../../src/core/config-loader.ts'
import { SegmentBuilder, SegmentStore } from '../../src/master-dataset/index.ts'
import { ROW_WINDOWS } from '../../src/store/lmdb-batch.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { collectRaceContract } from './collect-race.ts'

const HOUR = 3_600_000
const index = pathToFileURL(join(import.meta.dirname, '../../src/config.ts')).href

function configSource(filterType: string): string {
  return `import { count, defineConfig, distinctCount, topK, tumbling, view } from '${index}'
export default defineConfig({
  source: { topic: 'events', partitions: 3 },
  views: [
    view('pageviews_by_url').filter((e) => e.type === '${filterType}').key((e) => e.url).window(tumbling('1h')).aggregate(count()),
    view('unique_users_by_url').key((e) => e.url).window(tumbling('1d')).aggregate(distinctCount((e) => e.user)),
    view('top_urls').filter((e) => e.type === 'page_view').key(() => 'all').aggregate(topK(3, (e) => e.url)),
  ],
})
`
}

interface Ev {
  type: string
  url: string
  user: string
  ts: number
}

// A deterministic pseudo-random stream: repeated keys, out-of-order times across 30 hours.
function generate(n: number, seed = 7): Ev[] {
  let x = seed
  const rand = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31
    return x / 2 ** 31
  }
  const base = Date.UTC(2025, 10, 24)
  return Array.from({ length: n }, () => ({
    type: rand() < 0.8 ? 'page_view' : 'click',
    url: `/p${Math.floor(rand() ** 2 * 20)}`,
    user: `u${Math.floor(rand() * 300)}`,
    ts: base + Math.floor(rand() * 30 * HOUR),
  }))
}

async function setup(t: TestContext, events: Ev[]) {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-batch-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const root = join(dir, 'master')
  const segments = await SegmentStore.open(root)
  // Round-robin over 3 partitions, segments of 700 records.
  const byPartition: Ev[][] = [[], [], []]
  for (const [i, e] of events.entries()) byPartition[i % 3].push(e)
  for (const [p, list] of byPartition.entries()) {
    for (let start = 0; start < list.length; start += 700) {
      const builder = new SegmentBuilder()
      const chunk = list.slice(start, start + 700)
      for (const [i, e] of chunk.entries()) {
        builder.add({ offset: start + i, timestamp: e.ts, key: null, value: Buffer.from(JSON.stringify(e)) })
      }
      await segments.writeSegment(p, { start, end: start + chunk.length }, builder.data(), builder.packer())
    }
  }
  const configPath = join(dir, 'strata.config.ts')
  await writeFile(configPath, configSource('page_view'))
  const store = await openLmdbStore(join(dir, 'store'))
  defer(() => store.close())
  return { dir, root, configPath, store }
}

test('batch views equal a plain recomputation, and an unchanged run is skipped', async (t) => {
  const events = generate(5000)
  const { root, configPath, store } = await setup(t, events)
  const config = await loadConfig(configPath)
  const progress: number[] = []
  const run = await runBatch({
    config,
    configPath,
    root,
    store,
    threads: 2,
    onProgress: (n) => progress.push(n),
  })
  assert.deepEqual(run.plan.horizon, [1667, 1667, 1666])
  assert.equal(run.events, 5000)
  assert.equal(
    progress.reduce((a, b) => a + b, 0),
    5000,
  )
  assert.deepEqual(run.versions.map((v) => v.view).sort(), [
    'pageviews_by_url',
    'top_urls',
    'unique_users_by_url',
  ])

  const views = Object.fromEntries(compileViews(config).map((v) => [v.name, v]))
  const served = async (name: string, key: string) => {
    const meta = (await store.servedBatch(name))!
    const entries = await store.readBatch(name, meta.version, key)
    return entries.map((e) => ({
      window: e.window,
      value: views[name].result(views[name].monoid.decode(e.state as never)),
    }))
  }

  // pageviews_by_url: exact hourly counts per URL.
  const expected = new Map<string, Map<number, number>>()
  for (const e of events) {
    if (e.type !== 'page_view') continue
    const hours = expected.get(e.url) ?? new Map()
    expected.set(e.url, hours)
    const hour = Math.floor(e.ts / HOUR) * HOUR
    hours.set(hour, (hours.get(hour) ?? 0) + 1)
  }
  for (const [url, hours] of expected) {
    const got = await served('pageviews_by_url', url)
    assert.deepEqual(
      got,
      [...hours].sort((a, b) => a[0] - b[0]).map(([window, value]) => ({ window, value })),
      url,
    )
  }

  // unique_users_by_url: within HyperLogLog's documented error (exact for small sets).
  const users = new Map<string, Set<string>>()
  for (const e of events) {
    const k = `${e.url}|${Math.floor(e.ts / (24 * HOUR)) * 24 * HOUR}`
    users.set(k, (users.get(k) ?? new Set()).add(e.user))
  }
  for (const [k, set] of users) {
    const [url, day] = k.split('|')
    const got = (await served('unique_users_by_url', url)).find((w) => w.window === Number(day))
    assert.ok(got, k)
    assert.ok(
      Math.abs((got.value as number) - set.size) <= Math.max(1, set.size * 0.03),
      `${k}: ${got.value} vs ${set.size}`,
    )
  }

  // top_urls: the exact three most viewed URLs.
  const totals = new Map<string, number>()
  for (const [url, hours] of expected)
    totals.set(
      url,
      [...hours.values()].reduce((a, b) => a + b, 0),
    )
  const top = [...totals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 3)
  const [{ value: topValue }] = await served('top_urls', 'all')
  const topResult = topValue as { items: Array<{ item: string; count: number }>; exact: boolean }
  assert.equal(topResult.exact, true)
  assert.deepEqual(
    topResult.items.map((e) => [e.item, e.count]),
    top,
  )

  // Same data, same definitions: nothing to do.
  const again = await runBatch({ config, configPath, root, store, threads: 2 })
  assert.deepEqual(again.plan.views, [])
  assert.equal(again.versions.length, 0)
})

test('a changed view definition recomputes only that view', async (t) => {
  const events = generate(2000, 11)
  const { dir, root, configPath, store } = await setup(t, events)
  const first = await runBatch({ config: await loadConfig(configPath), configPath, root, store, threads: 1 })
  assert.equal(first.versions.length, 3)
  const before = (await store.servedBatch('pageviews_by_url'))!

  const changedPath = join(dir, 'changed.config.ts')
  await writeFile(changedPath, configSource('click'))
  const config = await loadConfig(changedPath)
  const second = await runBatch({ config, configPath: changedPath, root, store, threads: 1 })
  assert.deepEqual(second.plan.views, ['pageviews_by_url'])
  assert.deepEqual(second.plan.skipped.sort(), ['top_urls', 'unique_users_by_url'])
  const after = (await store.servedBatch('pageviews_by_url'))!
  assert.ok(after.version > before.version)
  assert.notEqual(after.codeHash, before.codeHash)
  const clicks = events.filter((e) => e.type === 'click' && e.url === '/p0').length
  const entries = await store.readBatch('pageviews_by_url', after.version, '/p0')
  const view = compileViews(config).find((v) => v.name === 'pageviews_by_url')!
  assert.equal(
    entries.reduce((sum, e) => sum + (view.result(view.monoid.decode(e.state as never)) as number), 0),
    clicks,
  )
})

test('a batch run whose config file was edited after the process loaded it stops with CONFIG_CHANGED and serves nothing', async (t) => {
  const { root, configPath, store } = await setup(t, generate(600))
  const config = await loadConfig(configPath)
  // The worker threads load the file as it is now: other code than the hashes the run stamps.
  await writeFile(configPath, configSource('click'))
  await assert.rejects(runBatch({ config, configPath, root, store, threads: 2 }), {
    code: 'STRATA_ERR_CONFIG_CHANGED',
  })
  assert.deepEqual(await store.listBatchViews(), [])
})

test('a batch run fails with SEGMENT_CORRUPT on a deleted first segment or a segment that fails its checksum, and publishes nothing', async (t) => {
  const events = generate(3000)
  const { root, configPath, store } = await setup(t, events)
  const config = await loadConfig(configPath)
  // Partition 1: its first segment [0, 700) deleted (data and sidecar, as a careless cleanup would).
  const first = join(root, 'p0001', '00000000000000000000-00000000000000000700')
  for (const ext of ['.ndjson', '.ndjson.sha256', '.packed']) await unlink(first + ext)
  await assert.rejects(
    runBatch({ config, configPath, root, store, threads: 1 }),
    (error: Error & { code: string }) => {
      assert.equal(error.code, 'STRATA_ERR_SEGMENT_CORRUPT')
      assert.match(error.message, /partition 1: offsets \[0, 700\) are in no segment/)
      return true
    },
  )
  assert.deepEqual(await store.listBatchViews(), [])
  // Partition 2: one changed byte in a sealed segment whose packed cache is gone.
  const segment = join(root, 'p0002', '00000000000000000700-00000000000000001000')
  await unlink(segment + '.packed')
  const data = await readFile(segment + '.ndjson')
  data[100] = data[100] === 0x41 ? 0x42 : 0x41
  await writeFile(segment + '.ndjson', data)
  // (partition 1 emptied, so that the run reaches partition 2)
  for (const name of await readdir(join(root, 'p0001'))) await unlink(join(root, 'p0001', name))
  await assert.rejects(
    runBatch({ config, configPath, root, store, threads: 1 }),
    (error: Error & { code: string }) => {
      assert.equal(error.code, 'STRATA_ERR_SEGMENT_CORRUPT')
      assert.match(
        error.message,
        /partition 2: segment \[700, 1000\) \(p0002\/\S+\.ndjson\) does not match its checksum/,
      )
      return true
    },
  )
  assert.deepEqual(await store.listBatchViews(), [])
})

test('a sealed segment whose NDJSON and packed copy are both damaged fails the run with SEGMENT_CORRUPT naming it; one copy damaged folds exactly', async (t) => {
  const events = generate(3000)
  const { root, configPath, store } = await setup(t, events)
  const config = await loadConfig(configPath)
  const segment = join(root, 'p0001', '00000000000000000000-00000000000000000700')
  const flip = async (path: string, at: number) => {
    const bytes = await readFile(path)
    bytes[at] = bytes[at]! ^ 0x01
    await writeFile(path, bytes)
  }
  // The NDJSON damaged, the packed copy intact: it still holds the verified content.
  await flip(`${segment}.ndjson`, 100)
  // (a horizon short of the end, so that the run below is not skipped as unchanged)
  const run = await runBatch({ config, configPath, root, store, threads: 1, horizon: [800, 800, 800] })
  assert.equal(run.events, 2400)
  // The packed copy damaged too (its header): the run refuses rather than fold around it.
  await flip(`${segment}.packed`, 24)
  const before = await store.listBatchViews()
  await assert.rejects(
    runBatch({ config, configPath, root, store, threads: 1 }),
    (error: Error & { code: string }) => {
      assert.equal(error.code, 'STRATA_ERR_SEGMENT_CORRUPT')
      assert.match(
        error.message,
        /partition 1: segment \[0, 700\) \(p0001\/00000000000000000000-00000000000000000700\.ndjson\) does not match its checksum/,
      )
      return true
    },
  )
  assert.deepEqual(await store.listBatchViews(), before)
})

// Regression: rule 6 collected below the served horizons of the run's own views only. A run of a
// config that no longer has a view the speed layer still records (the batch rolled out before
// the speed workers and the server) collected the epochs that view's served version still reads
// through: its realtime states of [700, 1400) were deleted while queries merged them, and the
// answer lost those events. A recorded view's served horizon holds collection back like the
// run's own (registration forgets the view, and its states, once the speed layer drops it).
test('a batch run of a config without a view the speed layer still records keeps the epochs that view reads', async (t) => {
  const { dir, root, configPath, store } = await setup(t, generate(5000))
  const config = await loadConfig(configPath)
  const views = compileViews(config)
  await runBatch({ config, configPath, root, store, threads: 1, horizon: [700, 700, 700] })
  assert.equal((await store.servedBatch('pageviews_by_url'))?.horizon[0], 700)
  // The speed layer runs this config: partition 0 from 700, one group of pageviews_by_url in the
  // epoch 700 and one in the epoch 1400 (the next horizon, aligned below).
  const hashes = Object.fromEntries(views.map((v) => [v.name, v.codeHash]))
  await store.registerSpeedViews(
    views.map((v) => ({ view: v.name, codeHash: v.codeHash })),
    3,
  )
  const { owner } = await store.claimPartition(0, 700)
  const window = Date.UTC(2025, 10, 24)
  const delta = (epoch: number, state: number) => ({
    view: 'pageviews_by_url',
    epoch,
    key: '/x',
    window,
    state,
  })
  const add = (_view: string, a: unknown, b: unknown) => (a as number) + (b as number)
  const base = { partition: 0, owner, hashes }
  await store.commitSpeed({ ...base, from: 700, offset: 1000, deltas: [delta(700, 3)], seals: [] }, add)
  assert.deepEqual(await store.alignHorizon([1400, 1400, 1400], [700, 700, 700]), [1400, 1400, 1400])
  await store.commitSpeed({ ...base, from: 1000, offset: 1500, deltas: [delta(1400, 2)], seals: [1400] }, add)

  // The next batch run's config has no pageviews_by_url.
  const lessPath = join(dir, 'less.config.ts')
  await writeFile(lessPath, configSource('page_view').replace(/\n {4}view\('pageviews_by_url'\)[^\n]*/, ''))
  const less = await loadConfig(lessPath)
  const run = await runBatch({
    config: less,
    configPath: lessPath,
    root,
    store,
    threads: 1,
    horizon: [1400, 1400, 1400],
  })
  assert.deepEqual(run.plan.views.sort(), ['top_urls', 'unique_users_by_url'])
  // Served at 700, pageviews_by_url still reads the realtime states from 700 on: all of them.
  const snapshot = await store.snapshot('pageviews_by_url', '/x')
  assert.deepEqual(snapshot.realtime.map((r) => [r.epoch, r.state]).sort(), [
    [1400, 2],
    [700, 3],
  ])
})

// The same for a view the speed layer records without a served version yet, its realtime states
// reaching back to offset 0 (registered before any partition was claimed): queries answer it from
// those states alone (query.ts), every epoch of them.
test('a batch run of a config without a view the speed layer answers from offset 0 keeps all its epochs', async (t) => {
  const { dir, root, store } = await setup(t, generate(5000))
  const lessPath = join(dir, 'less.config.ts')
  await writeFile(lessPath, configSource('page_view').replace(/\n {4}view\('pageviews_by_url'\)[^\n]*/, ''))
  const less = await loadConfig(lessPath)
  const hashes = {
    pageviews_by_url: 'p1',
    ...Object.fromEntries(compileViews(less).map((v) => [v.name, v.codeHash])),
  }
  const [speedView] = await store.registerSpeedViews(
    Object.entries(hashes).map(([view, codeHash]) => ({ view, codeHash })),
    3,
  )
  assert.deepEqual(speedView, { view: 'pageviews_by_url', codeHash: 'p1', start: [0, 0, 0] })
  const { owner } = await store.claimPartition(0, 0)
  const window = Date.UTC(2025, 10, 24)
  const delta = (epoch: number, state: number) => ({
    view: 'pageviews_by_url',
    epoch,
    key: '/x',
    window,
    state,
  })
  const add = (_view: string, a: unknown, b: unknown) => (a as number) + (b as number)
  const base = { partition: 0, owner, hashes }
  await store.commitSpeed({ ...base, from: 0, offset: 500, deltas: [delta(0, 3)], seals: [] }, add)
  assert.deepEqual(await store.alignHorizon([700, 700, 700], [0, 0, 0]), [700, 700, 700])
  await store.commitSpeed({ ...base, from: 500, offset: 900, deltas: [delta(700, 2)], seals: [700] }, add)

  const run = await runBatch({
    config: less,
    configPath: lessPath,
    root,
    store,
    threads: 1,
    horizon: [700, 700, 700],
  })
  assert.deepEqual(run.plan.views.sort(), ['top_urls', 'unique_users_by_url'])
  const snapshot = await store.snapshot('pageviews_by_url', '/x')
  assert.equal(snapshot.batch, undefined)
  assert.deepEqual(snapshot.realtime.map((r) => [r.epoch, r.state]).sort(), [
    [0, 3],
    [700, 2],
  ])
})

collectRaceContract(test, async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-batch-store-'))
  const store = await openLmdbStore(dir)
  defer(async () => {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })
  return { store }
})

// One thread folds every partition and combines them itself (worker.ts); several threads send
// one answer per partition, which the main thread combines. Both combine in partition order, so
// the versions must be the same bits: float sums, sketches, top-k and hopping windows included.
test('one thread and several threads write the same batch version, entry for entry', async (t) => {
  const events = generate(4000, 11).map((e, i) => ({ ...e, n: (i % 7) * 0.1 + 1e-9 * i }))
  const { root, store, dir } = await setup(t, events)
  const exactPath = join(dir, 'exact.config.ts')
  await writeFile(
    exactPath,
    `import { count, defineConfig, distinctCount, hopping, mean, quantiles, sum, topK, tumbling, view } from '${index}'
export default defineConfig({
  source: { topic: 'events', partitions: 3 },
  views: [
    view('sum_by_url').key((e) => e.url).window(tumbling('1h')).aggregate(sum((e) => e.n)),
    view('mean_by_type').key((e) => e.type).window(hopping({ size: '3h', advance: '1h' })).aggregate(mean((e) => e.n)),
    view('users').key((e) => e.url).aggregate(distinctCount((e) => e.user)),
    view('p_by_type').key((e) => e.type).aggregate(quantiles((e) => e.n)),
    view('top').key(() => 'all').aggregate(topK(3, (e) => e.url)),
    view('counts').key((e) => e.url).window(hopping({ size: '2h', advance: '30m' })).aggregate(count()),
  ],
})
`,
  )
  const config = await loadConfig(exactPath)
  const scanAll = async () => {
    const out: Record<string, string[]> = {}
    for (const meta of await store.listBatchViews()) {
      const lines: string[] = []
      for await (const e of store.scanBatch(meta.view, meta.version)) lines.push(JSON.stringify(e))
      out[meta.view] = lines
    }
    return out
  }
  await runBatch({ config, configPath: exactPath, root, store, threads: 3, force: true })
  const several = await scanAll()
  await runBatch({ config, configPath: exactPath, root, store, threads: 1, force: true })
  const one = await scanAll()
  assert.equal(Object.keys(one).length, 6)
  for (const view of Object.keys(several)) {
    assert.ok(several[view]!.length > 0, view)
    assert.deepEqual(one[view], several[view], view)
  }
})

// Views whose states combine associatively in every bit (count, min, max) let each thread combine
// a run of adjacent partitions (batch-run.ts): ((p0 + p1) + p2) becomes (p0 + (p1 + p2)) with two
// threads; the version must not change.
test('runs of adjacent partitions per thread write the same version as one thread', async (t) => {
  const events = generate(3000, 5).map((e, i) => ({ ...e, n: (i % 11) * 0.25 - 1 + (i % 3 === 0 ? -0 : 0) }))
  const { root, store, dir } = await setup(t, events)
  const path = join(dir, 'numeric.config.ts')
  await writeFile(
    path,
    `import { count, defineConfig, hopping, max, min, tumbling, view } from '${index}'
export default defineConfig({
  source: { topic: 'events', partitions: 3 },
  views: [
    view('counts').filter((e) => e.type === 'page_view').key((e) => e.url).window(tumbling('1h')).aggregate(count()),
    view('lows').key((e) => e.url).window(hopping({ size: '2h', advance: '30m' })).aggregate(min((e) => e.n)),
    view('highs').key((e) => e.type).aggregate(max((e) => e.n)),
  ],
})
`,
  )
  const config = await loadConfig(path)
  const scanAll = async () => {
    const out: Record<string, string[]> = {}
    for (const meta of await store.listBatchViews()) {
      const lines: string[] = []
      for await (const e of store.scanBatch(meta.view, meta.version)) lines.push(JSON.stringify(e))
      out[meta.view] = lines
    }
    return out
  }
  await runBatch({ config, configPath: path, root, store, threads: 1, force: true })
  const one = await scanAll()
  assert.equal(Object.keys(one).length, 3)
  for (const threads of [2, 3]) {
    await runBatch({ config, configPath: path, root, store, threads, force: true })
    const several = await scanAll()
    for (const view of Object.keys(one)) {
      assert.ok(one[view]!.length > 0, view)
      assert.deepEqual(several[view], one[view], `${view}, ${threads} threads`)
    }
  }
})

test('adjacentRuns cuts partitions into runs as even as can be, in order', () => {
  assert.deepEqual(adjacentRuns([0, 1, 2, 3], 2), [
    [0, 1],
    [2, 3],
  ])
  assert.deepEqual(adjacentRuns([0, 1, 2], 2), [[0], [1, 2]])
  assert.deepEqual(adjacentRuns([0, 1, 2], 3), [[0], [1], [2]])
  assert.deepEqual(adjacentRuns([0, 1, 2, 3, 4], 1), [[0, 1, 2, 3, 4]])
  assert.deepEqual(adjacentRuns([], 0), [])
})

// The fast paths of a run: one thread combining every partition's NumericTables in place
// (worker.ts), and the answer written as columns (BatchStage.putColumns). A run with a thread
// per partition (combined on the main thread) into a store that only takes put() must serve
// exactly the same entries, for every view.
test('columns and in-place combines serve what a thread per partition and put() serve', async (t) => {
  const events = generate(4000, 11)
  const { root, configPath, store } = await setup(t, events)
  const config = await loadConfig(configPath)
  const everything = async () => {
    const out: Record<string, unknown[]> = {}
    for (const meta of await store.listBatchViews()) {
      const entries: unknown[] = []
      for await (const e of store.scanBatch(meta.view, meta.version)) entries.push(e)
      out[meta.view] = entries
    }
    return out
  }
  await runBatch({ config, configPath, root, store, threads: 1, force: true })
  const fast = await everything()
  assert.equal(Object.keys(fast).length, 3)
  let staged = 0
  const putOnly = new Proxy(store, {
    get(target, property) {
      if (property !== 'stageBatch') return Reflect.get(target, property, target)
      return async (view: string) => {
        const stage = await target.stageBatch(view)
        staged++
        return {
          view: stage.view,
          version: stage.version,
          put: stage.put.bind(stage),
          commit: stage.commit.bind(stage),
          abort: stage.abort.bind(stage),
        }
      }
    },
  })
  await runBatch({ config, configPath, root, store: putOnly, threads: 3, force: true })
  assert.equal(staged, 3)
  assert.deepEqual(await everything(), fast)
})

// One thread's answer goes to the store keyed (BatchStage.putKeyed: each distinct key once, grouped
// by key numbers in lmdb-batch.ts); a store without putKeyed is given the per-entry columns. Both
// must store the same version, entry for entry, for numeric and object states and for windows of
// several kinds (a key whose windows span rows, a view with no key): a dropped or doubled entry, or
// one under another key, shows here.
test('a version written keyed equals the same run written as per-entry columns', async (t) => {
  const events = generate(5000, 23).map((e, i) => ({ ...e, n: (i % 13) * 0.3 - 1 }))
  const { root, store, dir } = await setup(t, events)
  const path = join(dir, 'keyed.config.ts')
  await writeFile(
    path,
    `import { count, defineConfig, hopping, max, mean, min, sum, topK, tumbling, view } from '${index}'
export default defineConfig({
  source: { topic: 'events', partitions: 3 },
  views: [
    view('counts').filter((e) => e.type === 'page_view').key((e) => e.url).window(tumbling('1h')).aggregate(count()),
    view('sums').key((e) => e.user).window(hopping({ size: '2h', advance: '30m' })).aggregate(sum((e) => e.n)),
    view('lows').key((e) => e.url + '|' + e.type).window(tumbling('15m')).aggregate(min((e) => e.n)),
    view('highs').key((e) => e.type).aggregate(max((e) => e.n)),
    view('means').key((e) => e.url).window(tumbling('3h')).aggregate(mean((e) => e.n)),
    view('top').key((e) => e.type).window(tumbling('1d')).aggregate(topK(3, (e) => e.url)),
    view('minutes').key((e) => e.type).window(tumbling('1m')).aggregate(count()),
    view('none').filter((e) => e.type === 'purchase').key((e) => e.url).aggregate(count()),
  ],
})
`,
  )
  const config = await loadConfig(path)
  const everything = async () => {
    const out: Record<string, unknown[]> = {}
    for (const meta of await store.listBatchViews()) {
      const entries: unknown[] = []
      for await (const e of store.scanBatch(meta.view, meta.version)) entries.push(e)
      out[meta.view] = entries
    }
    return out
  }
  let keyed = 0
  const counting = new Proxy(store, {
    get(target, property) {
      if (property !== 'stageBatch') return Reflect.get(target, property, target)
      return async (view: string) => {
        const stage = await target.stageBatch(view)
        const putKeyed = stage.putKeyed!.bind(stage)
        return Object.assign(stage, {
          putKeyed: (columns: Parameters<typeof putKeyed>[0]) => {
            keyed++
            return putKeyed(columns)
          },
        })
      }
    },
  })
  await runBatch({ config, configPath: path, root, store: counting, threads: 1, force: true })
  assert.equal(keyed, 8)
  const byKey = await everything()
  const noKeyed = new Proxy(store, {
    get(target, property) {
      if (property !== 'stageBatch') return Reflect.get(target, property, target)
      return async (view: string) => {
        const stage = await target.stageBatch(view)
        return {
          view: stage.view,
          version: stage.version,
          put: stage.put.bind(stage),
          putColumns: stage.putColumns!.bind(stage),
          commit: stage.commit.bind(stage),
          abort: stage.abort.bind(stage),
        }
      }
    },
  })
  await runBatch({ config, configPath: path, root, store: noKeyed, threads: 1, force: true })
  const byColumns = await everything()
  assert.equal(Object.keys(byKey).length, 8)
  for (const view of Object.keys(byColumns)) {
    // 'none' matches no event: a version with no key.
    assert.equal(byColumns[view]!.length > 0, view !== 'none', view)
    assert.deepEqual(byKey[view], byColumns[view], view)
  }
  // A key of 'minutes' has more windows than one row holds (1,800 minutes): its rows span.
  const perKey = new Map<string, number>()
  for (const e of byKey.minutes as Array<{ key: string }>) perKey.set(e.key, (perKey.get(e.key) ?? 0) + 1)
  assert.ok(Math.max(...perKey.values()) > ROW_WINDOWS)
})
