import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compileViews, defineConfig, findView, isStrataConfig } from '../../src/core/config.ts'
import { count } from '../../src/core/monoids/count.ts'
import { view } from '../../src/core/view.ts'

const pv = view('pv')
  .key((e) => e.url)
  .aggregate(count())

test('defineConfig: fills in defaults and freezes the result', () => {
  const config = defineConfig({ source: { topic: 'events' }, views: [pv] })
  assert.deepEqual(config.source, { topic: 'events', partitions: 6, time: 'ts' })
  // No replicationFactor: the topic gets the cluster's default; one given is kept.
  assert.equal(
    defineConfig({ source: { topic: 'e', replicationFactor: 3 }, views: [pv] }).source.replicationFactor,
    3,
  )
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.source) && Object.isFrozen(config.views))
  assert.ok(isStrataConfig(config))
  assert.equal(defineConfig(config), config)
  assert.equal(findView(config, 'pv'), pv)
  assert.throws(() => findView(config, 'nope'), { code: 'STRATA_ERR_UNKNOWN_VIEW', status: 404 })
  const [compiled] = compileViews(defineConfig({ source: { topic: 'e', time: 'at' }, views: [pv] }))
  assert.equal(compiled.timeField, 'at')
})

test('defineConfig: every bad field is an INVALID_CONFIG that names it', () => {
  const cases: Array<[unknown, string]> = [
    [null, '(root)'],
    [{ source: { topic: 'events' }, views: [pv], extra: 1 }, 'extra'],
    [{ views: [pv] }, 'source'],
    [{ source: {}, views: [pv] }, 'source.topic'],
    [{ source: { topic: 'bad topic' }, views: [pv] }, 'source.topic'],
    [{ source: { topic: '..' }, views: [pv] }, 'source.topic'],
    [{ source: { topic: 'e', partitions: 0 }, views: [pv] }, 'source.partitions'],
    [{ source: { topic: 'e', partitions: 2.5 }, views: [pv] }, 'source.partitions'],
    [{ source: { topic: 'e', replicationFactor: '3' }, views: [pv] }, 'source.replicationFactor'],
    [{ source: { topic: 'e', time: '' }, views: [pv] }, 'source.time'],
    [{ source: { topic: 'e', replication: 3 }, views: [pv] }, 'source.replication'],
    [{ source: { topic: 'e' }, views: [] }, 'views'],
    [{ source: { topic: 'e' }, views: [pv, { name: 'x' }] }, 'views[1]'],
    [{ source: { topic: 'e' }, views: [view('a').aggregate(count())] }, 'views[0].key'],
    [{ source: { topic: 'e' }, views: [pv, view('b').key((e) => e.x)] }, 'views[1].aggregate'],
    [{ source: { topic: 'e' }, views: [pv, pv] }, 'views[1].name'],
  ]
  for (const [input, field] of cases) {
    assert.throws(
      () => defineConfig(input as never),
      (error: { code: string; field: string; message: string }) => {
        assert.equal(error.code, 'STRATA_ERR_INVALID_CONFIG')
        assert.equal(error.field, field)
        assert.ok(error.message.includes(field), error.message)
        return true
      },
      `expected ${field} to be rejected`,
    )
  }
})
