import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import fc from 'fast-check'
import { type CompiledView, compileView } from '../../src/core/compiled-view.ts'
import { compileViews } from '../../src/core/config.ts'
import { loadConfig } from '../../src/core/config-loader.ts'
import type { StrataEvent } from '../../src/core/event.ts'
import { count } from '../../src/core/monoids/count.ts'
import { quantiles } from '../../src/core/monoids/quantiles.ts'
import { sum } from '../../src/core/monoids/sum.ts'
import { view } from '../../src/core/view.ts'
import type { ViewTable } from '../../src/core/view-table.ts'
import { hopping, tumbling } from '../../src/core/window.ts'

const H = 3_600_000
const D = 86_400_000
const T0 = Date.UTC(2026, 0, 1)
const example = join(import.meta.dirname, '../../examples/pageviews/strata.config.ts')

const event = fc.record({
  type: fc.constantFrom('page_view', 'page_view', 'click'),
  url: fc.constantFrom('/a', '/b', '/c', '/a/b'),
  user: fc.integer({ min: 0, max: 40 }).map((n) => `u${n}`),
  ts: fc.integer({ min: T0 - 2 * D, max: T0 + 3 * D }),
  ms: fc.integer({ min: 1, max: 5000 }),
})

function foldInto<S>(
  v: CompiledView<S, unknown>,
  events: StrataEvent[],
  table = v.createTable(),
): ViewTable<S> {
  for (const e of events) v.fold(table, e)
  return table
}

function snapshot<S>(v: CompiledView<S, unknown>, table: ViewTable<S>): string[] {
  return [...table.entries()].map(([k, s, state]) => JSON.stringify([k, s, v.monoid.encode(state)])).sort()
}

test('the example views equal a plain reference computation', async () => {
  const [pageviews, uniques, top] = compileViews(await loadConfig(example))
  fc.assert(
    fc.property(fc.array(event, { maxLength: 300 }), (events) => {
      const pv = new Map<string, number>()
      const users = new Map<string, Set<string>>()
      const urls = new Map<string, number>()
      for (const e of events) {
        const hour = Math.floor(e.ts / H) * H
        const day = Math.floor(e.ts / D) * D
        if (e.type === 'page_view') pv.set(`${e.url}@${hour}`, (pv.get(`${e.url}@${hour}`) ?? 0) + 1)
        if (e.type === 'page_view') urls.set(e.url, (urls.get(e.url) ?? 0) + 1)
        const u = users.get(`${e.url}@${day}`) ?? new Set()
        users.set(`${e.url}@${day}`, u.add(e.user))
      }
      const pvTable = foldInto(pageviews, events)
      assert.deepEqual(new Map([...pvTable.entries()].map(([k, s, n]) => [`${k}@${s}`, n])), pv)
      const uTable = foldInto(uniques, events)
      assert.deepEqual(
        new Map([...uTable.entries()].map(([k, s, st]) => [`${k}@${s}`, uniques.result(st)])),
        new Map([...users].map(([g, set]) => [g, set.size])),
      )
      const topTable = foldInto(top, events)
      const expected = [...urls]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .map(([item, n]) => ({ item, count: n }))
      const state = topTable.get('all', 0)
      assert.deepEqual(state === undefined ? [] : (top.result(state) as { items: unknown }).items, expected)
    }),
    { numRuns: 60 },
  )
})

test('folding partitions separately and merging the tables equals folding everything at once', async () => {
  const config = await loadConfig(example)
  const extra = compileView(
    view('latency')
      .key((e) => e.url)
      .window(hopping({ size: '1h', advance: '20m' }))
      .aggregate(quantiles((e) => e.ms)),
  )
  const views: CompiledView<any, unknown>[] = [...compileViews(config), extra]
  fc.assert(
    fc.property(fc.array(fc.tuple(event, fc.integer({ min: 0, max: 3 })), { maxLength: 200 }), (routed) => {
      for (const v of views) {
        const whole = foldInto(
          v,
          routed.map(([e]) => e),
        )
        const partitions = [0, 1, 2, 3].map((p) =>
          foldInto(
            v,
            routed.filter(([, q]) => q === p).map(([e]) => e),
          ),
        )
        const merged = partitions.reduce((acc, t) => acc.merge(t), v.createTable())
        assert.deepEqual(snapshot(v, merged), snapshot(v, whole))
      }
    }),
    { numRuns: 40 },
  )
})

test('fold: returns the number of groups touched; hopping windows get every overlapping window', () => {
  const v = compileView(
    view('h')
      .key((e) => e.k)
      .window(hopping({ size: '1h', advance: '15m' }))
      .aggregate(count()),
  )
  const table = v.createTable()
  assert.equal(v.fold(table, { k: 'x', ts: T0 + 20 * 60_000 }), 4)
  assert.deepEqual(table.windowStarts(), [T0 - 30 * 60_000, T0 - 15 * 60_000, T0, T0 + 15 * 60_000])
  assert.equal(v.fold(table, { k: null, ts: T0 }), 0)
})

test('fold: map output feeds key and aggregate; the window uses the raw event time; keys become strings', () => {
  const v = compileView(
    view('spend')
      .filter((e) => e.type === 'order')
      .map((e) => ({ customer: e.customer, cents: Math.round(Number(e.amount) * 100) }))
      .key((o) => o.customer)
      .window(tumbling('1d'))
      .aggregate(sum((o) => o.cents)),
  )
  const table = v.createTable()
  v.fold(table, { type: 'order', customer: 7, amount: 1.1, ts: '2026-01-01T10:00:00Z' })
  v.fold(table, { type: 'order', customer: 7, amount: 2.2, ts: T0 + 5 })
  v.fold(table, { type: 'refund', customer: 7, amount: 9, ts: T0 })
  v.fold(table, { type: 'order', customer: null, amount: 9, ts: T0 })
  assert.deepEqual([...table.entries()], [['7', T0, 330]])
})

test('fold: an unreadable event time is an error, never a silent drop', () => {
  const v = compileView(
    view('x')
      .key(() => 'all')
      .window(tumbling('1h'))
      .aggregate(count()),
    'at',
  )
  assert.throws(() => v.fold(v.createTable(), { at: 'yesterday' }), {
    code: 'STRATA_ERR_INVALID_EVENT_TIME',
    field: 'at',
  })
  assert.throws(() => v.fold(v.createTable(), { ts: T0 }), { code: 'STRATA_ERR_INVALID_EVENT_TIME' })
  // Non-windowed views do not need the time.
  const nw = compileView(
    view('y')
      .key(() => 'all')
      .aggregate(count()),
  )
  assert.equal(nw.fold(nw.createTable(), { no: 'time' }), 1)
})

test('windowResults: ascending, limited to window starts in [from, to)', () => {
  const v = compileView(
    view('pv')
      .key((e) => e.url)
      .window(tumbling('1h'))
      .aggregate(count()),
  )
  const table = v.createTable()
  for (const h of [3, 0, 1, 2, 1]) v.fold(table, { url: '/a', ts: T0 + h * H + 7 })
  const all = v.windowResults(table.windowsOf('/a'))
  assert.deepEqual(
    all.map((r) => [r.windowStart - T0, r.windowEnd - T0, r.value]),
    [
      [0, H, 1],
      [H, 2 * H, 2],
      [2 * H, 3 * H, 1],
      [3 * H, 4 * H, 1],
    ],
  )
  const some = v.windowResults(table.windowsOf('/a'), { from: T0 + 1, to: T0 + 3 * H })
  assert.deepEqual(
    some.map((r) => r.windowStart - T0),
    [H, 2 * H],
  )
  assert.throws(() => v.windowResults([], { from: 2, to: 1 }), { code: 'STRATA_ERR_INVALID_TIME_RANGE' })
})

test('compileView: an incomplete view cannot be compiled', () => {
  assert.throws(() => compileView(view('x').key(() => 'k')), {
    code: 'STRATA_ERR_INVALID_VIEW',
    field: 'aggregate',
  })
})
