// The horizon rules as pure functions (src/store/speed-rules.ts), branch by branch. The same
// rules run inside both stores' transactions; speed-contract.ts checks them there end to end.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  alignPartition,
  checkSpeedCommit,
  claimState,
  collectedState,
  collectionBound,
  deltaCounts,
  keepFrom,
  loggedDeltaFate,
  registration,
  restartPartition,
} from '../../src/store/speed-rules.ts'
import type { SpeedCommit, SpeedPartition, SpeedView } from '../../src/store/store.ts'

const partition = (p: Partial<SpeedPartition> = {}): SpeedPartition => ({
  partition: 0,
  offset: 30,
  epochs: [0, 10, 20],
  required: [],
  owner: 3,
  ...p,
})

test('claimState: the next owner of a claimed partition, or a first claim that owes what is above its start', () => {
  const cases: Array<[string, SpeedPartition | undefined, number[], number, SpeedPartition]> = [
    [
      'claimed: owner token bumped, nothing else moves',
      partition({ required: [40] }),
      [50],
      0,
      partition({ required: [40], owner: 4 }),
    ],
    [
      'first claim, nothing owed',
      undefined,
      [],
      7,
      { partition: 0, offset: 7, epochs: [7], required: [], owner: 1 },
    ],
    [
      'first claim keeps what is owed above the start',
      undefined,
      [5, 9, 12],
      5,
      { partition: 0, offset: 5, epochs: [5], required: [9, 12], owner: 1 },
    ],
    [
      'first claim at or past every owed boundary owes none',
      undefined,
      [0, 3],
      3,
      { partition: 0, offset: 3, epochs: [3], required: [], owner: 1 },
    ],
  ]
  for (const [name, before, owed, initial, expected] of cases) {
    assert.deepEqual(claimState(before, owed, 0, initial), expected, name)
  }
})

test('alignPartition: a horizon is kept, required, owed or lowered (rule 3)', () => {
  const passed = partition() // offset 30, boundaries 0, 10, 20
  const cases: Array<
    [string, SpeedPartition | undefined, number[], number, number, ReturnType<typeof alignPartition>]
  > = [
    ['never claimed: owed to the first claimer', undefined, [], 15, 0, { horizon: 15, required: [15] }],
    ['never claimed: owed in order', undefined, [5, 25], 15, 0, { horizon: 15, required: [5, 15, 25] }],
    ['never claimed: owed already', undefined, [15], 15, 0, { horizon: 15 }],
    ['never claimed: 0 is owed by nobody', undefined, [], 0, 0, { horizon: 0 }],
    ['never claimed: the floor raises the wish', undefined, [], 4, 9, { horizon: 9, required: [9] }],
    ['a boundary already: kept', passed, [], 20, 0, { horizon: 20 }],
    ['the floor is a boundary: kept', passed, [], 5, 10, { horizon: 10 }],
    ['not reached yet: required', passed, [], 45, 0, { horizon: 45, required: [45] }],
    ['at the consumed offset: required', passed, [], 30, 0, { horizon: 30, required: [30] }],
    ['not reached, required already', partition({ required: [45] }), [], 45, 0, { horizon: 45 }],
    [
      'not reached: required in order',
      partition({ required: [35, 50] }),
      [],
      45,
      0,
      { horizon: 45, required: [35, 45, 50] },
    ],
    ['passed unsealed: the boundary below', passed, [], 25, 0, { horizon: 20 }],
    ['passed unsealed: the boundary below, at the floor', passed, [], 15, 10, { horizon: 10 }],
    ['passed unsealed, no boundary between floor and wish: -1', passed, [], 25, 21, { horizon: -1 }],
  ]
  for (const [name, state, owed, wished, least, expected] of cases) {
    assert.deepEqual(alignPartition(state, owed, wished, least), expected, name)
  }
})

test('restartPartition: a redefined view restarts at the consumed offset, which must become a boundary', () => {
  const cases: Array<[string, SpeedPartition | undefined, ReturnType<typeof restartPartition>]> = [
    ['never ran: starts at 0', undefined, { start: 0 }],
    ['mid-epoch: the offset becomes required', partition(), { start: 30, required: [30] }],
    ['required in order', partition({ required: [40] }), { start: 30, required: [30, 40] }],
    ['already required', partition({ required: [30] }), { start: 30 }],
    ['already a boundary', partition({ offset: 20 }), { start: 20 }],
  ]
  for (const [name, state, expected] of cases) assert.deepEqual(restartPartition(state), expected, name)
})

test('keepFrom and collectedState: epochs wholly below the bound go, the one holding it stays (rule 6)', () => {
  const cases: Array<[string, SpeedPartition | undefined, number, number | undefined]> = [
    ['never ran', undefined, 25, undefined],
    ['bound inside an epoch: keep from its start', partition(), 25, 20],
    ['bound on a boundary: keep from it', partition(), 10, 10],
    ['bound in the oldest epoch: nothing to drop', partition(), 5, undefined],
    ['bound below every epoch: nothing to drop', partition({ epochs: [10, 20] }), 5, undefined],
    ['no bound (-1): nothing to drop', partition(), -1, undefined],
  ]
  for (const [name, state, bound, expected] of cases) assert.equal(keepFrom(state, bound), expected, name)
  assert.deepEqual(collectedState(partition(), 20), partition({ epochs: [20] }))
})

test('collectionBound: the least horizon of the served versions in use, the start of a recorded view without one (rule 6)', () => {
  const served = (view: string, horizon: number[]) => ({ view, horizon })
  const recorded = (view: string, start: number[]): SpeedView => ({ view, codeHash: 'h', start })
  const cases: Array<
    [string, ReturnType<typeof served>[], SpeedView[], string[], number, number | undefined]
  > = [
    ['no served version: nothing to collect', [], [recorded('a', [0])], ['a'], 0, undefined],
    ['a view of the run', [served('a', [20, 30])], [], ['a'], 1, 30],
    ["the least over the run's views", [served('a', [20]), served('b', [10])], [], ['a', 'b'], 0, 10],
    // The race: a view registered again (start at or below its served horizon) since the run
    // began, neither in its config nor recorded when it began, holds the bound.
    [
      'a recorded view not in the run',
      [served('a', [20]), served('v', [10])],
      [recorded('v', [10])],
      ['a'],
      0,
      10,
    ],
    [
      'a served version in use by nobody reads nothing',
      [served('a', [20]), served('v', [10])],
      [],
      ['a'],
      0,
      20,
    ],
    [
      'no served version in use: every closed epoch',
      [served('v', [10])],
      [],
      ['a'],
      0,
      Number.MAX_SAFE_INTEGER,
    ],
    [
      'recorded without a version, from 0: every epoch',
      [served('a', [20])],
      [recorded('w', [0, 0])],
      ['a'],
      1,
      0,
    ],
    // Added while running: the run that gives it a version may have aligned its horizon (at or
    // above the start) already, and flip it after this collection.
    [
      'recorded without a version, not from 0: its start',
      [served('a', [20, 20])],
      [recorded('w', [0, 5])],
      ['a'],
      1,
      5,
    ],
    [
      'recorded without a version, started past the bound',
      [served('a', [20])],
      [recorded('w', [30])],
      ['a'],
      0,
      20,
    ],
    [
      'recorded with a version: its horizon, not its start',
      [served('v', [20])],
      [recorded('v', [0])],
      [],
      0,
      20,
    ],
    ['a partition past a horizon: 0', [served('a', [20])], [], ['a'], 3, 0],
  ]
  for (const [name, versions, views, running, p, expected] of cases) {
    assert.equal(collectionBound(versions, views, running, p), expected, name)
  }
})

test('checkSpeedCommit: refusals (FENCED, INTERNAL) and the state after an accepted commit', () => {
  const hashes = { hits: 'h1' }
  const recorded = new Map([['hits', 'h1']])
  const commit = (c: Partial<SpeedCommit> = {}): SpeedCommit => ({
    partition: 0,
    owner: 3,
    hashes,
    from: 30,
    offset: 40,
    deltas: [],
    seals: [],
    ...c,
  })
  const delta = (epoch: number) => ({ view: 'hits', epoch, key: 'k', window: 0, state: 1 })
  // The same deltas as a fold thread sends them (DeltaColumns).
  const columns = (epochs: number[]) => ({
    views: ['hits'],
    view: new Uint16Array(epochs.length),
    epochs: Float64Array.from(epochs),
    windows: new Float64Array(epochs.length),
    keys: epochs.map(() => 'k'),
    states: epochs.map(() => 1),
  })
  const refused: Array<[string, SpeedPartition | undefined, SpeedCommit, string, RegExp]> = [
    ['never claimed', undefined, commit(), 'STRATA_ERR_FENCED', /owned by another/],
    ['another owner', partition({ owner: 4 }), commit(), 'STRATA_ERR_FENCED', /owned by another/],
    ['a moved offset', partition({ offset: 35 }), commit(), 'STRATA_ERR_FENCED', /another writer moved it/],
    [
      'an older definition',
      partition(),
      commit({ hashes: { hits: 'h0' } }),
      'STRATA_ERR_CONFIG_CHANGED',
      /defined differently/,
    ],
    [
      'an unknown view',
      partition(),
      commit({ hashes: { other: 'o1' } }),
      'STRATA_ERR_CONFIG_CHANGED',
      /defined differently/,
    ],
    [
      'a recorded view the commit does not fold (a worker whose config predates it)',
      partition(),
      commit({ hashes: {} }),
      'STRATA_ERR_CONFIG_CHANGED',
      /view hits is in the config now .* not folded by this worker/,
    ],
    [
      'a required boundary passed unsealed',
      partition({ required: [35] }),
      commit(),
      'STRATA_ERR_FENCED',
      /35 was not sealed/,
    ],
    [
      'a required boundary at the end, unsealed',
      partition({ required: [40] }),
      commit(),
      'STRATA_ERR_FENCED',
      /40 was not sealed/,
    ],
    [
      'a required boundary at `from` that starts no epoch',
      partition({ required: [30] }),
      commit(),
      'STRATA_ERR_FENCED',
      /30 was not sealed/,
    ],
    ['a seal below from', partition(), commit({ seals: [25] }), 'STRATA_ERR_INTERNAL', /bad seal 25/],
    ['a seal past offset', partition(), commit({ seals: [45] }), 'STRATA_ERR_INTERNAL', /bad seal 45/],
    ['seals out of order', partition(), commit({ seals: [36, 33] }), 'STRATA_ERR_INTERNAL', /bad seal 33/],
    [
      'a seal at the open epoch',
      partition({ epochs: [0, 30] }),
      commit({ seals: [30] }),
      'STRATA_ERR_INTERNAL',
      /bad seal 30/,
    ],
    [
      'a delta for a closed epoch',
      partition(),
      commit({ deltas: [delta(10)] }),
      'STRATA_ERR_INTERNAL',
      /closed epoch 10/,
    ],
    // Runs of deltas in one epoch are checked by one comparison: a closed epoch after a run of
    // open ones, and after a change of epoch, is still refused, in either form of the deltas.
    [
      'a closed epoch after a run in the open one',
      partition(),
      commit({ deltas: [delta(20), delta(20), delta(20), delta(10)] }),
      'STRATA_ERR_INTERNAL',
      /closed epoch 10/,
    ],
    [
      'a closed epoch among columns, after a seal',
      partition(),
      commit({ seals: [30], deltas: columns([20, 20, 30, 30, 20, 0, 20]) }),
      'STRATA_ERR_INTERNAL',
      /closed epoch 0/,
    ],
  ]
  for (const [name, state, c, code, message] of refused) {
    assert.throws(() => checkSpeedCommit(state, c, recorded), { code, message }, name)
  }

  const accepted: Array<[string, SpeedPartition, SpeedCommit, SpeedPartition]> = [
    ['moves the offset', partition(), commit({ deltas: [delta(20)] }), partition({ offset: 40 })],
    [
      'seals start epochs; deltas go to the open one and the new ones',
      partition(),
      commit({ seals: [30, 35], deltas: [delta(20), delta(30), delta(35)] }),
      partition({ offset: 40, epochs: [0, 10, 20, 30, 35] }),
    ],
    [
      'sealed required boundaries are met; later ones stay',
      partition({ required: [35, 50] }),
      commit({ seals: [35] }),
      partition({ offset: 40, epochs: [0, 10, 20, 35], required: [50] }),
    ],
    [
      'a required boundary at `from` that starts the open epoch is met',
      partition({ epochs: [0, 30], required: [30] }),
      commit(),
      partition({ offset: 40, epochs: [0, 30] }),
    ],
    [
      'a required boundary past offset is not due yet',
      partition({ required: [41] }),
      commit(),
      partition({ offset: 40, required: [41] }),
    ],
  ]
  for (const [name, state, c, expected] of accepted) {
    assert.deepEqual(checkSpeedCommit(state, c, recorded), expected, name)
  }
})

test("registration: the recorded views become the config's (new or changed restart, absent ones are forgotten)", () => {
  const recorded = new Map([
    ['hits', 'h1'],
    ['users', 'u1'],
    ['top', 't1'],
  ])
  const cases: Array<[string, Array<{ view: string; codeHash: string }>, ReturnType<typeof registration>]> = [
    [
      'the same config: nothing',
      [
        { view: 'hits', codeHash: 'h1' },
        { view: 'users', codeHash: 'u1' },
        { view: 'top', codeHash: 't1' },
      ],
      { restarted: [], forgotten: [] },
    ],
    [
      'a changed and a new view restart',
      [
        { view: 'hits', codeHash: 'h2' },
        { view: 'users', codeHash: 'u1' },
        { view: 'top', codeHash: 't1' },
        { view: 'amount', codeHash: 'a1' },
      ],
      {
        restarted: [
          { view: 'hits', codeHash: 'h2' },
          { view: 'amount', codeHash: 'a1' },
        ],
        forgotten: [],
      },
    ],
    [
      'views the config no longer has are forgotten',
      [{ view: 'users', codeHash: 'u1' }],
      { restarted: [], forgotten: ['hits', 'top'] },
    ],
    ['an empty config forgets every view', [], { restarted: [], forgotten: ['hits', 'top', 'users'] }],
  ]
  for (const [name, views, expected] of cases) assert.deepEqual(registration(recorded, views), expected, name)
  // A forgotten view that comes back is new, whatever its hash: it restarts.
  const after = new Map([['users', 'u1']])
  assert.deepEqual(
    registration(after, [
      { view: 'hits', codeHash: 'h1' },
      { view: 'users', codeHash: 'u1' },
    ]),
    {
      restarted: [{ view: 'hits', codeHash: 'h1' }],
      forgotten: [],
    },
  )
})

test('deltaCounts and loggedDeltaFate: a logged delta is folded, dropped (it no longer counts) or kept for its owner', () => {
  const state = partition({ epochs: [10, 20] })
  const view = (start: number[]): SpeedView => ({ view: 'hits', codeHash: 'h1', start })
  const cases: Array<[string, SpeedPartition | undefined, SpeedView | undefined, number, boolean, string]> = [
    ['counts, combine known: folded', state, view([0]), 20, true, 'fold'],
    ['counts, combine unknown here: kept for a process that knows it', state, view([0]), 20, false, 'keep'],
    ['an epoch rule 6 collected: dropped', state, view([0]), 0, true, 'drop'],
    ['collected, combine unknown: dropped all the same', state, view([0]), 0, false, 'drop'],
    ['before the view restarted (redefined or re-added): dropped', state, view([20]), 10, true, 'drop'],
    ['a forgotten view: dropped, no combine needed', state, undefined, 20, false, 'drop'],
    ['a partition never claimed: dropped', undefined, view([0]), 20, true, 'drop'],
  ]
  for (const [name, s, v, epoch, combinable, expected] of cases) {
    assert.equal(loggedDeltaFate(s, v, 0, epoch, combinable), expected, name)
    assert.equal(deltaCounts(s, v, 0, epoch), expected !== 'drop', name)
  }
})
