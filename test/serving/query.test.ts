// queryView keeps the last answer computed from a snapshot's realtime rows (src/serving/query.ts):
// the same snapshot parts and the same question give the same answer object; any part read
// afresh, or another question, computes it again.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fastJsonStringify from 'fast-json-stringify'
import config from '../../examples/pageviews/strata.config.ts'
import { compileView } from '../../src/core/compiled-view.ts'
import { compileViews } from '../../src/core/config.ts'
import { sum } from '../../src/core/monoids/sum.ts'
import { view as defineView } from '../../src/core/view.ts'
import { tumbling } from '../../src/core/window.ts'
import { queryAnswerSchema } from '../../src/serving/api/answer-schemas.ts'
import { answerFrom, queryView } from '../../src/serving/query.ts'
import type { Store, ViewSnapshot } from '../../src/store/store.ts'

const [view] = compileViews(config).filter((v) => v.name === 'pageviews_by_url')
const hour = 3_600_000

function storeGiving(snapshots: ViewSnapshot[]): Store {
  let next = 0
  return {
    snapshot: async () => ({ ...snapshots[Math.min(next++, snapshots.length - 1)] }),
  } as unknown as Store
}

function snapshotOf(count: number): ViewSnapshot {
  return {
    batch: undefined,
    batchEntries: [],
    realtime: [{ partition: 0, epoch: 0, window: hour, state: view.monoid.encode(count as never) }],
    speedView: { view: view.name, codeHash: view.codeHash, start: [0] },
    speed: [{ partition: 0, owner: 1, offset: 5, epochs: [0], required: [] }],
  }
}

test('the same snapshot parts and question give the same answer; new parts or another question recompute', async () => {
  const first = snapshotOf(3)
  const store = storeGiving([first, first, first, { ...first, speed: [...first.speed] }, snapshotOf(4)])
  const a = await queryView(store, view, '/a')
  assert.deepEqual(
    a.windows?.map((w) => w.value),
    [3],
  )
  assert.equal(await queryView(store, view, '/a'), a, 'the same parts: the same answer')
  const parts = await queryView(store, view, '/a', { parts: true })
  assert.notEqual(parts, a, 'another question')
  assert.ok(parts.windows?.[0] && 'batch' in parts.windows[0])
  const moved = await queryView(store, view, '/a')
  assert.notEqual(moved, a, 'the partitions read afresh')
  assert.deepEqual(moved, a)
  const later = await queryView(store, view, '/a')
  assert.deepEqual(
    later.windows?.map((w) => w.value),
    [4],
  )
})

// A monoid may decode to its input and combine into its first argument (monoid.ts), and the
// snapshot's rows are shared by the queries of one snapshot version (the LMDB memo): an answer
// never combines into a row, so asking twice, with and without parts, gives the same counts.
test('an answer never changes the snapshot rows it reads: a monoid that decodes to its input and combines in place', () => {
  const monoid = {
    definition: { name: 'boxedSum', version: 1, params: {}, functions: [] },
    commutative: true,
    zero: () => [0],
    lift: (x: number) => [x],
    combine: (a: number[], b: number[]) => {
      a[0]! += b[0]!
      return a
    },
    add: (s: number[], x: number) => {
      s[0]! += x
      return s
    },
    result: (s: number[]) => s[0],
    encode: (s: number[]) => s,
    decode: (e: number[]) => e,
  }
  const boxed = { name: 'boxed', codeHash: 'h', window: null, monoid, result: monoid.result } as never
  const snapshot = {
    batch: {
      view: 'boxed',
      version: 1,
      codeHash: 'h',
      horizon: [1],
      events: 1,
      groups: 1,
      startedAt: 0,
      completedAt: 1,
    },
    batchEntries: [{ key: 'k', window: 0, state: [5] }],
    realtime: [
      { partition: 0, epoch: 1, window: 0, state: [1] },
      { partition: 0, epoch: 1, window: 0, state: [1] },
    ],
    speedView: { view: 'boxed', codeHash: 'h', start: [1] },
    speed: [{ partition: 0, owner: 1, offset: 3, epochs: [1], required: [] }],
  } as unknown as ViewSnapshot
  const rows = JSON.stringify(snapshot)
  assert.equal(answerFrom(boxed, 'k', snapshot).value, 7)
  assert.equal(answerFrom(boxed, 'k', snapshot, { parts: true }).value, 7)
  assert.equal(answerFrom(boxed, 'k', snapshot).value, 7)
  assert.equal(JSON.stringify(snapshot), rows, 'the rows are as read')
})

test('keep: false answers the same without keeping the answer for the next ask of the same parts', async () => {
  const first = snapshotOf(3)
  const store = storeGiving([first])
  const unkept = await queryView(store, view, '/k', { keep: false })
  const again = await queryView(store, view, '/k', { keep: false })
  assert.deepEqual(again, unkept)
  assert.notEqual(again, unkept, 'computed again: nothing was kept')
  const kept = await queryView(store, view, '/k')
  assert.deepEqual(kept, unkept)
  assert.equal(await queryView(store, view, '/k'), kept, 'the default keeps it')
})

// A sum past ±1.8e308 is Infinity, which JSON writes as null: before, the answer read
// `"value": null`, the same as no value at all. It now says `"overflow": "Infinity"` beside it,
// through the serializer both query paths use (the route's response schema).
test('a sum that overflowed is answered with overflow beside its null value, not a bare null', () => {
  const serialize = fastJsonStringify(queryAnswerSchema as object, { schema: {} })
  const sums = {
    windowed: compileView(
      defineView<any>('sums')
        .key((e) => e.k)
        .window(tumbling('1h'))
        .aggregate(sum((e) => e.amount)),
      'ts',
    ),
    single: compileView(
      defineView<any>('total')
        .key(() => 'all')
        .aggregate(sum((e) => e.amount)),
      'ts',
    ),
  }
  const snapshot = (of: typeof sums.windowed, states: Array<[number, number]>) =>
    ({
      batch: {
        view: of.name,
        version: 1,
        codeHash: of.codeHash,
        horizon: [1],
        events: 1,
        groups: 1,
        startedAt: 0,
        completedAt: 1,
      },
      batchEntries: states.map(([window, value]) => ({
        key: 'k',
        window,
        state: of.monoid.encode(value as never),
      })),
      realtime: [],
      speedView: undefined,
      speed: [{ partition: 0, owner: 1, offset: 1, epochs: [], required: [] }],
    }) as unknown as ViewSnapshot
  const windowed = answerFrom(
    sums.windowed,
    'k',
    snapshot(sums.windowed, [
      [0, Number.POSITIVE_INFINITY],
      [hour, 2],
      [2 * hour, Number.NEGATIVE_INFINITY],
    ]),
  )
  assert.deepEqual(
    windowed.windows?.map((w) => [w.value, w.overflow]),
    [
      [Number.POSITIVE_INFINITY, 'Infinity'],
      [2, undefined],
      [Number.NEGATIVE_INFINITY, '-Infinity'],
    ],
  )
  const body = JSON.parse(serialize({ ...windowed, lag: null }))
  assert.deepEqual(
    body.windows.map((w: { value: unknown; overflow?: string }) => [w.value, w.overflow]),
    [
      [null, 'Infinity'],
      [2, undefined],
      [null, '-Infinity'],
    ],
  )
  const single = answerFrom(sums.single, 'all', snapshot(sums.single, [[0, Number.NaN]]))
  const written = JSON.parse(serialize({ ...single, lag: null }))
  assert.equal(written.value, null)
  assert.equal(written.overflow, 'NaN')
  const finite = answerFrom(sums.single, 'all', snapshot(sums.single, [[0, 1e308]]))
  assert.equal('overflow' in finite, false)
})
