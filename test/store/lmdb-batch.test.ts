// A batch version's rows in LMDB (lmdb-batch.ts): a key's windows in one row (several past
// ROW_WINDOWS), written from puts in any order, read back as exactly the entries that were put.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { open } from 'lmdb'
import { ROW_WINDOWS } from '../../src/store/lmdb-batch.ts'
import { ChecksummedValues } from '../../src/store/lmdb-checksum.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import type { ViewEntry } from '../../src/store/store.ts'
import { deferrer } from '../helpers/cleanup.ts'

test('entries put in any order, in several puts, read back by key, range and scan as put', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-lmdb-batch-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const store = await openLmdbStore(dir)
  defer(() => store.close())
  const many = ROW_WINDOWS * 2 + 7
  const entries: ViewEntry[] = []
  for (let w = many - 1; w >= 0; w--) entries.push({ key: '/many', window: w * 1000 - 5000, state: { n: w } })
  entries.push({ key: '/a', window: 7, state: 0.1 }, { key: '/a', window: 3, state: -1.5 })
  entries.push({ key: 'x'.repeat(2000), window: 0, state: [1, 'two'] })
  const stage = await store.stageBatch('v')
  await stage.put(entries.slice(0, 300))
  // A later put of the same group wins, as a later LMDB put of one row did.
  await stage.put([...entries.slice(300), { key: '/a', window: 7, state: 0.2 }])
  const meta = await stage.commit({
    codeHash: 'h',
    horizon: [1],
    events: 1,
    groups: entries.length,
    startedAt: 0,
    completedAt: 1,
  })

  const a = await store.readBatch('v', meta.version, '/a')
  assert.deepEqual(a, [
    { key: '/a', window: 3, state: -1.5 },
    { key: '/a', window: 7, state: 0.2 },
  ])
  for (const [from, to] of [
    [0, 1],
    [ROW_WINDOWS * 1000 - 5000, ROW_WINDOWS * 1000 - 4000],
    [100_000, 400_000],
    [-5000, -4999],
    [-10_000, 10_000_000],
  ] as const) {
    const got = await store.readBatch('v', meta.version, '/many', { from, to })
    const want = entries
      .filter((e) => e.key === '/many' && e.window >= from && e.window < to)
      .sort((x, y) => x.window - y.window)
    assert.deepEqual(got, want, `[${from}, ${to})`)
    const snap = await store.snapshot('v', '/many', { from, to })
    assert.deepEqual(snap.batchEntries, want, `snapshot [${from}, ${to})`)
  }
  const scanned: ViewEntry[] = []
  for await (const e of store.scanBatch('v', meta.version)) scanned.push(e)
  assert.equal(scanned.length, many + 3)
  assert.deepEqual(
    scanned.filter((e) => e.key.length === 2000),
    [{ key: 'x'.repeat(2000), window: 0, state: [1, 'two'] }],
  )
  assert.deepEqual(await store.readBatch('v', meta.version, '/none'), [])
})

test('putColumns writes exactly the rows put() of the same entries writes', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-lmdb-batch-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const store = await openLmdbStore(dir)
  defer(() => store.close())
  const entries: ViewEntry[] = []
  // Windows out of order, a key past ROW_WINDOWS, a long key (stored by digest), repeats (the
  // later wins), numeric and other states.
  for (let w = ROW_WINDOWS + 40; w >= 0; w--) entries.push({ key: '/many', window: w * 3600, state: w })
  for (let k = 0; k < 50; k++) entries.push({ key: `/k${k % 17}`, window: (k % 5) * 3600, state: k / 3 })
  entries.push(
    { key: 'x'.repeat(2000), window: 0, state: [1, 'two'] },
    { key: '\u0001ctl', window: 5, state: null },
  )
  entries.push({ key: '/k3', window: 3600, state: -0 }, { key: '/many', window: 7200, state: { n: 1 } })
  const columns = {
    keys: entries.map((e) => e.key),
    windows: Float64Array.from(entries, (e) => e.window),
    states: entries.map((e) => e.state),
  }
  const meta = {
    codeHash: 'h',
    horizon: [1],
    events: 1,
    groups: entries.length,
    startedAt: 0,
    completedAt: 1,
  }
  const byEntries = await store.stageBatch('entries')
  await byEntries.put(entries.slice(0, 200))
  await byEntries.put(entries.slice(200))
  const a = await byEntries.commit(meta)
  const byColumns = await store.stageBatch('columns')
  assert.ok(byColumns.putColumns)
  const half = (c: typeof columns, from: number, to?: number) => ({
    keys: c.keys.slice(from, to),
    windows: c.windows.slice(from, to),
    states: c.states.slice(from, to),
  })
  await byColumns.putColumns(half(columns, 0, 200))
  await byColumns.putColumns(half(columns, 200))
  const b = await byColumns.commit(meta)

  // The rows themselves, key by key (after the view and version), and every answer.
  const raw = open<unknown, (string | number)[]>({
    path: dir,
    compression: false,
    encoder: new ChecksummedValues(),
  })
  defer(() => raw.close())
  const rows = (view: string, version: number) =>
    [...raw.getRange({ start: ['b', view, version], end: ['b', view, version + 0.5] })].map(
      ({ key, value }) => [key.slice(3), value],
    )
  const written = rows('entries', a.version)
  assert.ok(written.length > 20)
  assert.deepEqual(rows('columns', b.version), written)
  const scan = async (view: string, version: number) => {
    const out: ViewEntry[] = []
    for await (const e of store.scanBatch(view, version)) out.push(e)
    return out
  }
  assert.deepEqual(await scan('columns', b.version), await scan('entries', a.version))
  for (const key of new Set(columns.keys)) {
    assert.deepEqual(
      await store.readBatch('columns', b.version, key),
      await store.readBatch('entries', a.version, key),
    )
  }
})

test('a version written in transactions cut by their time bound: every key written, none visible before the flip', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-lmdb-batch-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const store = await openLmdbStore(dir)
  defer(() => store.close())
  const meta = (version: number) => ({
    codeHash: 'h',
    horizon: [version],
    events: 1,
    groups: 1,
    startedAt: 0,
    completedAt: version,
  })
  const keys = Array.from({ length: 1000 }, (_, i) => `/k${i}`)
  const old = await store.stageBatch('v')
  await old.put(keys.map((key) => ({ key, window: 0, state: 1 })))
  const first = await old.commit(meta(1))
  const next = await store.stageBatch('v')
  await next.put(keys.map((key, i) => ({ key, window: 0, state: i + 2 })))
  // Every 64th key's clock check finds the transaction past its time: ~16 transactions.
  const now = performance.now
  let clock = 0
  performance.now = () => (clock += 1000)
  defer(() => {
    performance.now = now
  })
  let committing = true
  const seen: string[] = []
  const poll = (async () => {
    while (committing) {
      const served = await store.servedBatch('v')
      const probe = keys[seen.length % keys.length]!
      const snap = await store.snapshot('v', probe)
      // The old version whole, or the new one whole: never a staged row in an answer.
      const want = snap.batch?.version === first.version ? 1 : keys.indexOf(probe) + 2
      assert.deepEqual(
        snap.batchEntries.map((e) => e.state),
        [want],
        `${probe} in version ${snap.batch?.version}`,
      )
      seen.push(`${served?.version}`)
      await new Promise((resolve) => setImmediate(resolve))
    }
  })()
  const second = await next.commit(meta(2))
  committing = false
  await poll
  performance.now = now
  assert.ok(clock > 0, 'the time bound was checked')
  for (const [i, key] of keys.entries()) {
    assert.deepEqual(await store.readBatch('v', second.version, key), [{ key, window: 0, state: i + 2 }], key)
  }
  const scanned: ViewEntry[] = []
  for await (const e of store.scanBatch('v', second.version)) scanned.push(e)
  assert.equal(scanned.length, keys.length)
})
