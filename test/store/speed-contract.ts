// The store's part of the horizon hand-off (docs/horizon.md), run against every store.
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import type { DeltaColumns, SpeedCommit, ViewSnapshot } from '../../src/store/store.ts'
import type { OpenStore } from './store-contract.ts'

// Encoded states in these tests are counts; combining adds them.
const add = (_view: string, a: unknown, b: unknown) => (a as number) + (b as number)
const hashes = { hits: 'h1' }

// A group's realtime state may be several rows (its folded state and deltas logged since, as the
// LMDB store keeps them): what counts is their combination per (partition, epoch, window).
function realtimeOf(snap: ViewSnapshot): ViewSnapshot['realtime'] {
  const groups = new Map<string, ViewSnapshot['realtime'][number]>()
  for (const row of snap.realtime) {
    const id = `${row.partition}:${row.epoch}:${row.window}`
    const group = groups.get(id)
    if (group) group.state = (group.state as number) + (row.state as number)
    else groups.set(id, { ...row })
  }
  return [...groups.values()].sort(
    (a, b) => a.window - b.window || a.partition - b.partition || a.epoch - b.epoch,
  )
}

function commit(partial: Partial<SpeedCommit> & Pick<SpeedCommit, 'owner' | 'from' | 'offset'>): SpeedCommit {
  return { partition: 0, hashes, deltas: [], seals: [], ...partial }
}

export function speedContract(
  test: (name: string, fn: (t: TestContext) => Promise<void>) => unknown,
  openStore: OpenStore,
) {
  test('speed: deltas given as columns (as a fold thread packs them) land as the same list would', async (t) => {
    const { store } = await openStore(t)
    await store.registerSpeedViews(
      [
        { view: 'hits', codeHash: 'h1' },
        { view: 'other', codeHash: 'h2' },
      ],
      1,
    )
    const both = { hits: 'h1', other: 'h2' }
    await store.claimPartition(0, 0)
    const long = `/${'x'.repeat(600)}`
    const columns: DeltaColumns = {
      views: ['other', 'hits'],
      view: Uint16Array.from([1, 1, 0, 1]),
      epochs: Float64Array.from([0, 0, 0, 0]),
      windows: Float64Array.from([0, 3_600_000, 0, 0]),
      keys: ['/a', '/a', '/a', long],
      states: Float64Array.from([2, 5, 7, 1]),
    }
    await store.commitSpeed(commit({ owner: 1, from: 0, offset: 4, hashes: both, deltas: columns }), add)
    await store.commitSpeed(
      commit({
        owner: 1,
        from: 4,
        offset: 6,
        hashes: both,
        deltas: [{ view: 'hits', epoch: 0, key: '/a', window: 0, state: 1 }],
      }),
      add,
    )
    const hits = await store.snapshot('hits', '/a')
    assert.deepEqual(realtimeOf(hits), [
      { partition: 0, epoch: 0, window: 0, state: 3 },
      { partition: 0, epoch: 0, window: 3_600_000, state: 5 },
    ])
    assert.deepEqual(realtimeOf(await store.snapshot('other', '/a')), [
      { partition: 0, epoch: 0, window: 0, state: 7 },
    ])
    assert.deepEqual(realtimeOf(await store.snapshot('hits', long)), [
      { partition: 0, epoch: 0, window: 0, state: 1 },
    ])
    assert.equal(hits.speed[0]?.offset, 6)
  })

  test('speed: a claim fences the previous owner; commits combine deltas and move the offset together', async (t) => {
    const { store } = await openStore(t)
    await store.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 1)
    const first = await store.claimPartition(0, 0)
    assert.deepEqual({ ...first }, { partition: 0, offset: 0, epochs: [0], required: [], owner: 1 })
    const delta = (state: number) => ({ view: 'hits', epoch: 0, key: '/a', window: 0, state })
    await store.commitSpeed(commit({ owner: 1, from: 0, offset: 5, deltas: [delta(2)] }), add)
    await store.commitSpeed(commit({ owner: 1, from: 5, offset: 9, deltas: [delta(3)] }), add)
    const snap = await store.snapshot('hits', '/a')
    assert.deepEqual(realtimeOf(snap), [{ partition: 0, epoch: 0, window: 0, state: 5 }])
    assert.equal(snap.speed[0]?.offset, 9)

    // A commit whose `from` is not the stored offset is a second writer: refused, nothing written.
    await assert.rejects(
      store.commitSpeed(commit({ owner: 1, from: 5, offset: 12, deltas: [delta(1)] }), add),
      {
        code: 'STRATA_ERR_FENCED',
      },
    )
    const second = await store.claimPartition(0, 0)
    assert.equal(second.owner, 2)
    assert.equal(second.offset, 9)
    await assert.rejects(
      store.commitSpeed(commit({ owner: 1, from: 9, offset: 12, deltas: [delta(1)] }), add),
      {
        code: 'STRATA_ERR_FENCED',
      },
    )
    assert.deepEqual(
      realtimeOf(await store.snapshot('hits', '/a')).map((r) => r.state),
      [5],
    )
    // A commit built by an older definition of the view is refused too (not as fencing: the
    // partition is still this owner's).
    await assert.rejects(
      store.commitSpeed(commit({ owner: 2, from: 9, offset: 12, hashes: { hits: 'old' } }), add),
      { code: 'STRATA_ERR_CONFIG_CHANGED' },
    )
  })

  test('speed: a batch horizon is always a boundary (required, kept, or lowered)', async (t) => {
    const { store } = await openStore(t)
    await store.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 2)
    // Partition 1 has no speed state yet: any horizon stands.
    await store.claimPartition(0, 0)
    await store.commitSpeed(commit({ owner: 1, from: 0, offset: 10 }), add)
    assert.deepEqual(await store.alignHorizon([20, 7], [0, 0]), [20, 7])
    // 20 is now required in partition 0: passing it without a seal is refused…
    await assert.rejects(store.commitSpeed(commit({ owner: 1, from: 10, offset: 25 }), add), {
      code: 'STRATA_ERR_FENCED',
    })
    // …sealing there is accepted, and the deltas after it go to the new epoch.
    await store.commitSpeed(
      commit({
        owner: 1,
        from: 10,
        offset: 25,
        seals: [20],
        deltas: [
          { view: 'hits', epoch: 0, key: 'k', window: 0, state: 10 },
          { view: 'hits', epoch: 20, key: 'k', window: 0, state: 5 },
        ],
      }),
      add,
    )
    const [p0] = await store.speedPartitions()
    assert.deepEqual(p0.epochs, [0, 20])
    assert.deepEqual(p0.required, [])
    // 22 was passed without a seal: the horizon drops to the boundary below it.
    assert.deepEqual(await store.alignHorizon([22], [0]), [20])
    // A floor above every boundary the speed layer passed cannot be met: -1 says so.
    assert.deepEqual(await store.alignHorizon([22], [21]), [-1])

    // A query with a batch horizon at 20 sees only the epochs from 20 on.
    const stage = await store.stageBatch('hits')
    await stage.put([{ key: 'k', window: 0, state: 20 }])
    await stage.commit({
      codeHash: 'h1',
      horizon: [20, 0],
      events: 20,
      groups: 1,
      startedAt: 0,
      completedAt: 1,
    })
    const snap = await store.snapshot('hits', 'k')
    assert.deepEqual(
      snap.batchEntries.map((e) => e.state),
      [20],
    )
    assert.deepEqual(realtimeOf(snap), [{ partition: 0, epoch: 20, window: 0, state: 5 }])

    // GC below the horizon drops epoch 0 and keeps epoch 20.
    await store.collectEpochs(['hits'])
    const [after] = await store.speedPartitions()
    assert.deepEqual(after.epochs, [20])
    const again = await store.snapshot('hits', 'k')
    assert.deepEqual(realtimeOf(again), [{ partition: 0, epoch: 20, window: 0, state: 5 }])
  })

  test('speed: a changed definition drops its realtime states and restarts them at the current offsets', async (t) => {
    const { store } = await openStore(t)
    await store.registerSpeedViews(
      [
        { view: 'hits', codeHash: 'h1' },
        { view: 'other', codeHash: 'o1' },
      ],
      1,
    )
    await store.claimPartition(0, 0)
    await store.commitSpeed(
      commit({
        owner: 1,
        from: 0,
        offset: 8,
        hashes: { hits: 'h1', other: 'o1' },
        deltas: [
          { view: 'hits', epoch: 0, key: 'k', window: 0, state: 8 },
          { view: 'other', epoch: 0, key: 'k', window: 0, state: 8 },
        ],
      }),
      add,
    )
    const views = await store.registerSpeedViews(
      [
        { view: 'hits', codeHash: 'h2' },
        { view: 'other', codeHash: 'o1' },
      ],
      1,
    )
    assert.deepEqual(
      views.find((v) => v.view === 'hits'),
      { view: 'hits', codeHash: 'h2', start: [8] },
    )
    assert.deepEqual(realtimeOf(await store.snapshot('hits', 'k')), [])
    assert.equal(realtimeOf(await store.snapshot('other', 'k')).length, 1)
    // 8 must become a boundary before anything more is folded.
    const [p0] = await store.speedPartitions()
    assert.deepEqual(p0.required, [8])
    const both = { hits: 'h2', other: 'o1' }
    await assert.rejects(store.commitSpeed(commit({ owner: 1, from: 8, offset: 9, hashes: both }), add), {
      code: 'STRATA_ERR_FENCED',
    })
    await store.commitSpeed(commit({ owner: 1, from: 8, offset: 9, seals: [8], hashes: both }), add)
  })

  // Regression: a view taken out of the config kept its recorded definition and realtime states,
  // and a config that added it back (same code hash) resumed them: the events committed while it
  // was absent counted zero times for it.
  test('speed: a view dropped from the config is forgotten, and comes back as a new view', async (t) => {
    const { store } = await openStore(t)
    const both = { hits: 'h1', other: 'o1' }
    const delta = (view: string, epoch: number, state: number) => ({
      view,
      epoch,
      key: 'k',
      window: 0,
      state,
    })
    await store.registerSpeedViews(
      [
        { view: 'hits', codeHash: 'h1' },
        { view: 'other', codeHash: 'o1' },
      ],
      1,
    )
    await store.claimPartition(0, 0)
    await store.commitSpeed(
      commit({
        owner: 1,
        from: 0,
        offset: 8,
        hashes: both,
        deltas: [delta('hits', 0, 8), delta('other', 0, 8)],
      }),
      add,
    )
    // A config without `hits`: forgotten, states and all.
    const views = await store.registerSpeedViews([{ view: 'other', codeHash: 'o1' }], 1)
    assert.deepEqual(
      views.map((v) => v.view),
      ['other'],
    )
    assert.deepEqual(realtimeOf(await store.snapshot('hits', 'k')), [])
    assert.equal((await store.snapshot('hits', 'k')).speedView, undefined)
    // A worker still running the old config folds `hits`, which is no longer recorded: refused.
    await assert.rejects(
      store.commitSpeed(
        commit({ owner: 1, from: 8, offset: 12, hashes: both, deltas: [delta('hits', 0, 4)] }),
        add,
      ),
      { code: 'STRATA_ERR_CONFIG_CHANGED' },
    )
    await store.commitSpeed(
      commit({ owner: 1, from: 8, offset: 12, hashes: { other: 'o1' }, deltas: [delta('other', 0, 4)] }),
      add,
    )
    // Back with the same definition: a new view, starting at the current offset (12), which
    // becomes a boundary; nothing of its old states or of the events between comes back.
    const again = await store.registerSpeedViews(
      [
        { view: 'hits', codeHash: 'h1' },
        { view: 'other', codeHash: 'o1' },
      ],
      1,
    )
    assert.deepEqual(
      again.find((v) => v.view === 'hits'),
      { view: 'hits', codeHash: 'h1', start: [12] },
    )
    assert.deepEqual((await store.speedPartitions())[0]?.required, [12])
    await store.commitSpeed(
      commit({
        owner: 1,
        from: 12,
        offset: 14,
        seals: [12],
        hashes: both,
        deltas: [delta('hits', 12, 2), delta('other', 12, 2)],
      }),
      add,
    )
    assert.deepEqual(realtimeOf(await store.snapshot('hits', 'k')), [
      { partition: 0, epoch: 12, window: 0, state: 2 },
    ])
    assert.deepEqual(
      realtimeOf(await store.snapshot('other', 'k')).map((r) => [r.epoch, r.state]),
      [
        [0, 12],
        [12, 2],
      ],
    )
  })

  // Regression: commits were checked only for the views they carried, so a worker whose config
  // predates a view moved the offsets past events it never folded for that view.
  test('speed: a commit that does not carry every recorded view is refused', async (t) => {
    const { store } = await openStore(t)
    await store.registerSpeedViews(
      [
        { view: 'hits', codeHash: 'h1' },
        { view: 'other', codeHash: 'o1' },
      ],
      1,
    )
    await store.claimPartition(0, 0)
    const delta = { view: 'hits', epoch: 0, key: 'k', window: 0, state: 3 }
    await assert.rejects(store.commitSpeed(commit({ owner: 1, from: 0, offset: 3, deltas: [delta] }), add), {
      code: 'STRATA_ERR_CONFIG_CHANGED',
      message: /view other is in the config now/,
    })
    assert.equal((await store.speedPartitions())[0]?.offset, 0)
    assert.deepEqual(realtimeOf(await store.snapshot('hits', 'k')), [])
    await store.commitSpeed(
      commit({ owner: 1, from: 0, offset: 3, hashes: { hits: 'h1', other: 'o1' }, deltas: [delta] }),
      add,
    )
    assert.equal((await store.speedPartitions())[0]?.offset, 3)
  })

  // Regression, found by the speed layer (src/speed/claim.ts): a batch run that aligned its horizon
  // before the speed layer ever claimed a partition recorded nothing, so a worker claiming below it
  // afterwards never sealed there, and the events in [H, C) counted zero times.
  test('speed: view errors are tallied with the commit that skipped them, once, and reset by a redefinition', async (t) => {
    const { store } = await openStore(t)
    await store.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 1)
    await store.claimPartition(0, 0)
    const error = (offset: number) => ({ view: 'hits', partition: 0, offset, message: 'TypeError: x' })
    await store.commitSpeed(
      commit({ owner: 1, from: 0, offset: 5, errors: [error(1), error(3)], offered: 5 }),
      add,
    )
    // A refused commit (a second writer) records nothing.
    await assert.rejects(
      store.commitSpeed(commit({ owner: 1, from: 0, offset: 7, errors: [error(6)], offered: 2 }), add),
      { code: 'STRATA_ERR_FENCED' },
    )
    await store.commitSpeed(commit({ owner: 1, from: 5, offset: 7, errors: [error(6)], offered: 2 }), add)
    const tally = (await store.speedViewErrors()).get('hits')
    assert.equal(tally?.count, 3)
    assert.deepEqual(
      tally?.recent.map((e) => e.offset),
      [1, 3, 6],
    )
    assert.equal(tally?.last?.errors, 1)
    assert.equal(tally?.last?.offered, 2)
    assert.equal((await store.speedViewErrors()).has('other'), false)
    await store.registerSpeedViews([{ view: 'hits', codeHash: 'h2' }], 1)
    assert.equal((await store.speedViewErrors()).has('hits'), false)
  })

  test("speed: a view's stop is recorded with its tally, kept by later commits, one per partition, reset by a redefinition", async (t) => {
    const { store } = await openStore(t)
    await store.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 2)
    await store.claimPartition(0, 0)
    const error = (partition: number, offset: number) => ({
      view: 'hits',
      partition,
      offset,
      message: 'TypeError: x',
    })
    // A view with no errors before: a tally of its stop alone.
    await store.recordViewStop(error(1, 4))
    assert.deepEqual((await store.speedViewErrors()).get('hits'), {
      count: 0,
      recent: [],
      stops: [error(1, 4)],
    })
    await store.commitSpeed(commit({ owner: 1, from: 0, offset: 5, errors: [error(0, 2)], offered: 5 }), add)
    await store.recordViewStop(error(1, 9))
    await store.recordViewStop(error(0, 5))
    const tally = (await store.speedViewErrors()).get('hits')
    assert.equal(tally?.count, 1)
    assert.deepEqual(tally?.stops, [error(0, 5), error(1, 9)])
    await store.registerSpeedViews([{ view: 'hits', codeHash: 'h2' }], 2)
    assert.equal((await store.speedViewErrors()).has('hits'), false)
  })

  test('keys too long for an index, or that look like a digest, are stored safely and answered as themselves', async (t) => {
    const { store } = await openStore(t)
    const long = `/${'é'.repeat(1500)}`
    const lookalike = '§sha256:' + '0'.repeat(64)
    const short = '/a'
    const control = `\u0001${'x'.repeat(80)}`
    await store.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 1)
    await store.claimPartition(0, 0)
    const delta = (key: string, state: number) => ({ view: 'hits', epoch: 0, key, window: 0, state })
    await store.commitSpeed(
      commit({
        owner: 1,
        from: 0,
        offset: 3,
        deltas: [delta(long, 2), delta(lookalike, 1), delta(short, 5), delta(control, 4)],
      }),
      add,
    )
    await store.commitSpeed(commit({ owner: 1, from: 3, offset: 4, deltas: [delta(long, 1)] }), add)
    const stage = await store.stageBatch('hits')
    await stage.put([
      { key: long, window: 0, state: 7 },
      { key: lookalike, window: 0, state: 8 },
      { key: short, window: 0, state: 9 },
      { key: control, window: 0, state: 6 },
    ])
    await stage.commit({ codeHash: 'h1', horizon: [0], events: 0, groups: 3, startedAt: 0, completedAt: 1 })
    for (const [key, batch, realtime] of [
      [long, 7, 3],
      [lookalike, 8, 1],
      [short, 9, 5],
      [control, 6, 4],
    ] as const) {
      const snap = await store.snapshot('hits', key)
      assert.deepEqual(
        snap.batchEntries.map((e) => [e.key, e.state]),
        [[key, batch]],
      )
      assert.deepEqual(
        realtimeOf(snap).map((r) => r.state),
        [realtime],
      )
      const served = await store.servedBatch('hits')
      assert.deepEqual(
        (await store.readBatch('hits', served!.version, key)).map((e) => e.state),
        [batch],
      )
    }
    const scanned: string[] = []
    const served = await store.servedBatch('hits')
    for await (const e of store.scanBatch('hits', served!.version)) scanned.push(e.key)
    assert.deepEqual(scanned.sort(), [long, lookalike, short, control].sort())
    const keys: string[] = []
    for await (const k of store.realtimeKeys('hits')) keys.push(k)
    assert.deepEqual(keys.sort(), [long, lookalike, short, control].sort())
  })

  test('speed: a horizon aligned before the first claim is required of the claimer', async (t) => {
    const { store } = await openStore(t)
    await store.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 1)
    assert.deepEqual(await store.alignHorizon([5], [0]), [5]) // the batch run's step 1
    const claimed = await store.claimPartition(0, 0) // the speed worker starts meanwhile
    assert.deepEqual(claimed.required, [5])
    // Passing 5 without sealing there must be refused, as for any other required boundary.
    await assert.rejects(store.commitSpeed(commit({ owner: claimed.owner, from: 0, offset: 10 }), add), {
      code: 'STRATA_ERR_FENCED',
    })
  })

  test('speed: speedPartition reads one claimed partition, as speedPartitions lists it', async (t) => {
    const { store } = await openStore(t)
    await store.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 3)
    assert.equal(await store.speedPartition(0), undefined)
    // A boundary owed by a partition nobody claimed yet does not make it claimed.
    assert.deepEqual(await store.alignHorizon([0, 5, 0], [0, 0, 0]), [0, 5, 0])
    assert.equal(await store.speedPartition(1), undefined)
    await store.claimPartition(0, 0)
    await store.claimPartition(1, 0)
    await store.commitSpeed(commit({ owner: 1, from: 0, offset: 4 }), add)
    const listed = await store.speedPartitions()
    assert.deepEqual({ ...(await store.speedPartition(0)) }, { ...listed[0] })
    assert.deepEqual({ ...(await store.speedPartition(1)) }, { ...listed[1] })
    assert.deepEqual((await store.speedPartition(1))?.required, [5])
    assert.equal((await store.speedPartition(0))?.offset, 4)
    assert.equal(await store.speedPartition(2), undefined)
  })

  test('speed: realtimeKeys lists each key with realtime states once', async (t) => {
    const { store } = await openStore(t)
    await store.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 1)
    await store.claimPartition(0, 0)
    const delta = (key: string, window: number) => ({ view: 'hits', epoch: 0, key, window, state: 1 })
    await store.commitSpeed(
      commit({ owner: 1, from: 0, offset: 3, deltas: [delta('b', 0), delta('a', 0), delta('a', 3_600_000)] }),
      add,
    )
    const keys: string[] = []
    for await (const key of store.realtimeKeys('hits')) keys.push(key)
    assert.deepEqual(keys, ['a', 'b'])
  })

  // Regression: rule 6 held collection only for a version-less recorded view starting at 0. One
  // added while running (here at 5) has no served version until a batch run of a config with it
  // flips one, at a horizon it aligned earlier (10): a collection by a concurrent run of another
  // config (hits, served at 20) dropped the epochs below 20 before that flip, and the view's
  // answers then lacked [10, 20).
  test('speed: a view added while running holds collection at its start until its first version', async (t) => {
    const { store } = await openStore(t)
    const cell = (view: string, epoch: number, state: number) => ({ view, epoch, key: 'k', window: 0, state })
    await store.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 1)
    await store.claimPartition(0, 0)
    await store.commitSpeed(commit({ owner: 1, from: 0, offset: 5, deltas: [cell('hits', 0, 5)] }), add)
    const both = { hits: 'h1', w: 'w1' }
    const [, w] = await store.registerSpeedViews(
      [
        { view: 'hits', codeHash: 'h1' },
        { view: 'w', codeHash: 'w1' },
      ],
      1,
    )
    assert.deepEqual(w.start, [5])
    // w's batch run aligns 10, hits' 20; the speed layer seals both on its way to 25.
    assert.deepEqual(await store.alignHorizon([10], [0]), [10])
    assert.deepEqual(await store.alignHorizon([20], [0]), [20])
    const deltas = [cell('w', 5, 1), cell('w', 10, 3), cell('w', 20, 2)]
    await store.commitSpeed(
      commit({ owner: 1, from: 5, offset: 25, hashes: both, deltas, seals: [5, 10, 20] }),
      add,
    )
    const flip = async (view: string, horizon: number) => {
      const stage = await store.stageBatch(view)
      await stage.commit({
        codeHash: both[view as 'w'],
        horizon: [horizon],
        events: 0,
        groups: 0,
        startedAt: 0,
        completedAt: 1,
      })
    }
    await flip('hits', 20)
    await store.collectEpochs(['hits'])
    assert.deepEqual((await store.speedPartition(0))?.epochs, [5, 10, 20])
    await flip('w', 10)
    assert.deepEqual(
      realtimeOf(await store.snapshot('w', 'k')).map((r) => [r.epoch, r.state]),
      [
        [10, 3],
        [20, 2],
      ],
    )
  })
}
