import assert from 'node:assert/strict'
import { test } from 'node:test'
import { count } from '../../src/core/monoids/count.ts'
import { distinctCount } from '../../src/core/monoids/distinct-count.ts'
import { topK } from '../../src/core/monoids/top-k.ts'
import { view } from '../../src/core/view.ts'
import { codeHash } from '../../src/core/view-hash.ts'
import { hopping, tumbling } from '../../src/core/window.ts'

function pageviews(filterType = 'page_view') {
  if (filterType === 'page_view') {
    return view('pageviews_by_url')
      .filter((e) => e.type === 'page_view')
      .key((e) => e.url)
      .window(tumbling('1h'))
      .aggregate(count())
  }
  return view('pageviews_by_url')
    .filter((e) => e.type === 'click')
    .key((e) => e.url)
    .window(tumbling('1h'))
    .aggregate(count())
}

test('code hash: an identical rebuild has the same hash', () => {
  const a = codeHash(pageviews(), 'ts')
  assert.match(a, /^[0-9a-f]{64}$/)
  assert.equal(codeHash(pageviews(), 'ts'), a)
})

test('code hash: changing the filter changes the hash', () => {
  assert.notEqual(codeHash(pageviews('click'), 'ts'), codeHash(pageviews(), 'ts'))
})

test('code hash: key, window, aggregate parameters and the time field all count', () => {
  const base = view('v').key((e) => e.url)
  const hashes = [
    codeHash(base.window(tumbling('1h')).aggregate(count()), 'ts'),
    codeHash(base.window(tumbling('1d')).aggregate(count()), 'ts'),
    codeHash(base.window(hopping({ size: '1d', advance: '1h' })).aggregate(count()), 'ts'),
    codeHash(base.aggregate(count()), 'ts'),
    codeHash(base.aggregate(count()), 'time'),
    codeHash(base.aggregate(topK(10, (e) => e.url)), 'ts'),
    codeHash(base.aggregate(topK(20, (e) => e.url)), 'ts'),
    codeHash(base.aggregate(topK(10, (e) => e.path)), 'ts'),
    codeHash(base.aggregate(distinctCount((e) => e.user)), 'ts'),
    codeHash(base.aggregate(distinctCount((e) => e.user, { precision: 12 })), 'ts'),
    codeHash(
      view('v')
        .key((e) => e.path)
        .aggregate(count()),
      'ts',
    ),
    codeHash(
      view('w')
        .key((e) => e.url)
        .aggregate(count()),
      'ts',
    ),
  ]
  assert.equal(new Set(hashes).size, hashes.length)
})
