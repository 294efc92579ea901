// The contract every store implements, run against each of them (LMDB here; PostgreSQL in
// its own *.integration.test.ts). Not a test file itself: the store tests call it.
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import type { Store, ViewEntry } from '../../src/store/store.ts'

export type OpenStore = (t: TestContext) => Promise<{ store: Store; reopen: () => Promise<Store> }>

const meta = (horizon: number[], events: number) => ({
  codeHash: 'h1',
  horizon,
  events,
  groups: 2,
  startedAt: 1000,
  completedAt: Date.now(),
})

async function collect(iterable: AsyncIterable<ViewEntry>): Promise<ViewEntry[]> {
  const out: ViewEntry[] = []
  for await (const entry of iterable) out.push(entry)
  return out
}

export function storeContract(
  test: (name: string, fn: (t: TestContext) => Promise<void>) => unknown,
  openStore: OpenStore,
) {
  test('a staged batch version is invisible until committed, then served with its horizon', async (t) => {
    const { store } = await openStore(t)
    assert.equal(await store.servedBatch('v'), undefined)
    const stage = await store.stageBatch('v')
    await stage.put([
      { key: '/a', window: 3_600_000, state: 2 },
      { key: '/a', window: 0, state: 1 },
      { key: '/b', window: 0, state: 5 },
    ])
    assert.equal(await store.servedBatch('v'), undefined)
    const served = await stage.commit(meta([10, 20], 8))
    assert.equal(served.version, stage.version)
    assert.deepEqual((await store.servedBatch('v'))?.horizon, [10, 20])
    const a = await store.readBatch('v', served.version, '/a')
    assert.deepEqual(
      a.map((e) => [e.window, e.state]),
      [
        [0, 1],
        [3_600_000, 2],
      ],
    )
    assert.deepEqual(await store.readBatch('v', served.version, '/c'), [])
  })

  test('window ranges select [from, to)', async (t) => {
    const { store } = await openStore(t)
    const stage = await store.stageBatch('w')
    await stage.put([0, 1, 2, 3].map((h) => ({ key: 'k', window: h * 3_600_000, state: h })))
    const { version } = await stage.commit(meta([1], 4))
    const got = await store.readBatch('w', version, 'k', { from: 3_600_000, to: 3 * 3_600_000 })
    assert.deepEqual(
      got.map((e) => e.state),
      [1, 2],
    )
  })

  test('a new version replaces the old at the flip, and the old entries are dropped', async (t) => {
    const { store: opened, reopen } = await openStore(t)
    let store = opened
    const first = await store.stageBatch('v')
    await first.put([{ key: 'x', window: 0, state: 1 }])
    const v1 = await first.commit(meta([1], 1))
    const second = await store.stageBatch('v')
    assert.ok(second.version > v1.version)
    await second.put([{ key: 'y', window: 0, state: 2 }])
    // Until the flip the old version serves.
    assert.equal((await store.servedBatch('v'))?.version, v1.version)
    const v2 = await second.commit(meta([2], 2))
    assert.equal((await store.servedBatch('v'))?.version, v2.version)
    // Old entries may be dropped in the background; they are gone once the store has settled.
    store = await reopen()
    assert.deepEqual(await collect(store.scanBatch('v', v1.version)), [])
    assert.deepEqual(await collect(store.scanBatch('v', v2.version)), [{ key: 'y', window: 0, state: 2 }])
    const history = await store.batchHistory(10)
    assert.deepEqual(
      history.filter((h) => h.view === 'v').map((h) => h.version),
      [v2.version, v1.version],
    )
  })

  test('an aborted or crashed stage leaves nothing behind and the served version stands', async (t) => {
    const { store, reopen } = await openStore(t)
    const good = await store.stageBatch('v')
    await good.put([{ key: 'x', window: 0, state: 1 }])
    const served = await good.commit(meta([1], 1))

    const aborted = await store.stageBatch('v')
    await aborted.put([{ key: 'junk', window: 0, state: 9 }])
    await aborted.abort()
    assert.deepEqual(await collect(store.scanBatch('v', aborted.version)), [])

    const crashed = await store.stageBatch('v')
    await crashed.put([{ key: 'junk', window: 0, state: 9 }])
    // No commit: the process "dies" here, and the store is opened again.
    const again = await reopen()
    assert.equal((await again.servedBatch('v'))?.version, served.version)
    assert.deepEqual(await collect(again.scanBatch('v', crashed.version)), [])
    assert.deepEqual(await collect(again.scanBatch('v', served.version)), [{ key: 'x', window: 0, state: 1 }])
  })

  test('meta: the first value claimed stays, survives a reopen, and clear() removes it with the rest', async (t) => {
    const { store, reopen } = await openStore(t)
    assert.equal(await store.readMeta('source'), undefined)
    const first = { kind: 'kafka', topic: 't', topicId: 'a', clusterId: 'c', partitions: 2 }
    assert.deepEqual(await store.claimMeta('source', first), first)
    assert.deepEqual(await store.claimMeta('source', { ...first, topicId: 'b' }), first)
    assert.equal(await store.claimMeta('dataset', 'd1'), 'd1')
    const stage = await store.stageBatch('v')
    await stage.put([{ key: '/a', window: 0, state: 1 }])
    await stage.commit(meta([1, 1], 2))
    const again = await reopen()
    assert.deepEqual(await again.readMeta('source'), first)
    await again.clear()
    assert.equal(await again.readMeta('source'), undefined)
    assert.equal(await again.readMeta('dataset'), undefined)
    assert.deepEqual(await again.listBatchViews(), [])
    assert.deepEqual(await again.speedPartitions(), [])
  })

  test('meta: writeMeta replaces (a heartbeat), listMeta lists by prefix only, deleteMeta removes, claimMeta untouched', async (t) => {
    const { store, reopen } = await openStore(t)
    assert.equal(await store.claimMeta('source', 's1'), 's1')
    await store.writeMeta('heartbeat archiver h 1', { heardAt: 1 })
    await store.writeMeta('heartbeat archiver h 1', { heardAt: 2 })
    await store.writeMeta('heartbeat batch h 2', { heardAt: 3 })
    await store.writeMeta('heartbeaten', 'not under the prefix')
    const again = await reopen()
    assert.deepEqual(await again.listMeta('heartbeat '), [
      ['heartbeat archiver h 1', { heardAt: 2 }],
      ['heartbeat batch h 2', { heardAt: 3 }],
    ])
    assert.equal(await again.readMeta('source'), 's1')
    await again.deleteMeta('heartbeat archiver h 1')
    assert.deepEqual(await again.listMeta('heartbeat '), [['heartbeat batch h 2', { heardAt: 3 }]])
    await again.clear()
    assert.deepEqual(await again.listMeta('heartbeat '), [])
  })

  test('views are independent', async (t) => {
    const { store } = await openStore(t)
    for (const view of ['a', 'b']) {
      const stage = await store.stageBatch(view)
      await stage.put([{ key: 'k', window: 0, state: view }])
      await stage.commit(meta([1], 1))
    }
    const views = await store.listBatchViews()
    assert.deepEqual(views.map((v) => v.view).sort(), ['a', 'b'])
    const b = views.find((v) => v.view === 'b')!
    assert.deepEqual(
      (await store.readBatch('b', b.version, 'k')).map((e) => e.state),
      ['b'],
    )
  })
}
