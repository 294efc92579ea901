import assert from 'node:assert/strict'
import { test } from 'node:test'
import { count } from '../../src/core/monoids/count.ts'
import { sum } from '../../src/core/monoids/sum.ts'
import { incompleteField, isView, view } from '../../src/core/view.ts'
import { tumbling } from '../../src/core/window.ts'

test('view: builder steps return new frozen views and leave the original as it was', () => {
  const base = view('pv').filter((e) => e.type === 'page_view')
  const byUrl = base.key((e) => e.url)
  const byUser = base.key((e) => e.user)
  assert.notEqual(byUrl, byUser)
  assert.equal(base.keyFn, undefined)
  assert.equal(base.steps.length, 1)
  assert.ok(Object.isFrozen(byUrl))
  assert.ok(Object.isFrozen(byUrl.steps))
  assert.throws(() => {
    ;(byUrl as { name: string }).name = 'other'
  }, TypeError)
  const done = byUrl.window(tumbling('1h')).aggregate(count())
  assert.ok(isView(done))
  assert.equal(incompleteField(done), null)
  assert.equal(done.timeWindow?.size, 3_600_000)
})

test('view: names must be safe in URLs and topic names', () => {
  for (const bad of ['', '1st', 'has space', 'a/b', 'x'.repeat(65), 42]) {
    assert.throws(() => view(bad as string), { code: 'STRATA_ERR_INVALID_VIEW', field: 'name' })
  }
  for (const good of ['pageviews_by_url', 'P95-latency', 'a']) assert.equal(view(good).name, good)
})

test('view: misuse of the builder is an error that names the view and the step', () => {
  const v = view('v')
  assert.throws(() => v.key((e) => e.a).key((e) => e.b), {
    code: 'STRATA_ERR_INVALID_VIEW',
    field: 'key',
    message: /'v'/,
  })
  assert.throws(() => v.aggregate(count()).aggregate(count()), { field: 'aggregate' })
  assert.throws(() => v.window(tumbling('1h')).window(tumbling('1d')), { field: 'window' })
  assert.throws(() => v.key((e) => e.a).filter(() => true), { field: 'filter', message: /before key/ })
  assert.throws(() => v.aggregate(count()).map((e) => e), { field: 'map' })
  assert.throws(() => v.filter('yes' as never), { field: 'filter' })
  assert.throws(() => v.window('1h' as never), { field: 'window' })
  assert.throws(() => v.aggregate({} as never), { field: 'aggregate' })
})

test('view: incomplete views say what is missing', () => {
  assert.equal(incompleteField(view('v')), 'key')
  assert.equal(incompleteField(view('v').key((e) => e.a)), 'aggregate')
})

test('view: map changes what key and aggregate see (typed)', () => {
  const v = view('amounts')
    .map((e) => ({ who: String(e.user), cents: Number(e.amount) }))
    .key((x) => x.who)
    .aggregate(sum((x) => x.cents))
  assert.equal(v.steps[0].kind, 'map')
  assert.equal(v.monoid?.definition.name, 'sum')
})
