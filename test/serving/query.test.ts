// queryView keeps the last answer computed from a snapshot's realtime rows (src/serving/query.ts):
// the same snapshot parts and the same question give the same answer object; any part read
// afresh, or another question, computes it again.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import config from '../../examples/pageviews/strata.config.ts'
import { compileViews } from '../../src/core/config.ts'
import { queryView } from '../../src/serving/query.ts'
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
