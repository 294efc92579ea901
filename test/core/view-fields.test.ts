import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Monoid } from '../../src/core/monoid.ts'
import { count } from '../../src/core/monoids/count.ts'
import { distinctCount } from '../../src/core/monoids/distinct-count.ts'
import { max, min } from '../../src/core/monoids/extremes.ts'
import { mean } from '../../src/core/monoids/mean.ts'
import { quantiles } from '../../src/core/monoids/quantiles.ts'
import { sum } from '../../src/core/monoids/sum.ts'
import { topK } from '../../src/core/monoids/top-k.ts'
import { view } from '../../src/core/view.ts'
import { fieldsOfFunction, fieldsRead, keyFieldOf, unionOfFields } from '../../src/core/view-fields.ts'
import { hopping, tumbling } from '../../src/core/window.ts'

test('fields read by functions that touch their argument only as arg.field', () => {
  const cases: Array<[(e: any) => unknown, string[]]> = [
    [(e) => e.url, ['url']],
    [(e) => e.type === 'page_view' && e.url?.startsWith('/'), ['type', 'url']],
    [(ev) => `${ev.a}:${ev.b.c}`, ['a', 'b']],
    [() => 'all', []],
    [(x) => x.n + 1, ['n']],
    [
      function named(x) {
        return x.n
      },
      ['n'],
    ],
    [(e) => other.e + e.z, ['z']], // `other.e` is a property, not the argument
  ]
  const other = { e: 1 }
  for (const [fn, fields] of cases) assert.deepEqual(fieldsOfFunction(fn)?.sort(), fields, String(fn))
})

test('functions that could see more of the event than named fields are not analysed (null)', () => {
  const keep: unknown[] = []
  const cases: Array<(e: any) => unknown> = [
    (e) => e,
    (e) => JSON.stringify(e),
    (e) => ({ ...e }),
    (e) => Object.keys(e).length,
    (e) => e['url'],
    (e) => ({ e: 1, url: e.url }).url, // conservative: `e:` is not an access
    (e) => e?.[0],
    (e) => 'url' in e,
    (e) => Object.hasOwn(e, 'x'),
    (e) => e.toString(),
    (e) => e.constructor,
    (e) => keep.push(e),
    (e) => [1].map((e) => e)[0] + e.x,
    (e) => (e.x = 1),
    (e) => e.n++,
    (e) => delete e.n,
    (e) => {
      let out: unknown
      ;[e.a] = [1]
      for (e.b of [1]) out = e.b
      return out
    },
    // biome-ignore lint/security/noGlobalEval: what is tested
    (_e) => eval('_e.x'),
    (e) => e.café,
    (e, i?: number) => e.x + (i ?? 0),
    async (e) => e.x,
    function (e) {
      // biome-ignore lint/complexity/noArguments: what is tested
      return arguments[0].x + e.y
    },
    JSON.stringify,
    ((e: any) => e.x).bind(null),
  ]
  for (const fn of cases) assert.equal(fieldsOfFunction(fn), null, String(fn))
})

test('a view reads its filters, key, built-in aggregate extractor and time field, up to a map', () => {
  const base = view('v').filter((e) => e.type === 'page_view')
  assert.deepEqual(
    fieldsRead(
      base
        .key((e) => e.url)
        .window(tumbling('1h'))
        .aggregate(count()),
      'ts',
    ),
    ['ts', 'type', 'url'],
  )
  assert.deepEqual(fieldsRead(base.key((e) => e.url).aggregate(count()), 'time'), ['type', 'url'])
  assert.deepEqual(
    fieldsRead(
      view('h')
        .key(() => 'all')
        .window(hopping({ size: '2h', advance: '1h' }))
        .aggregate(count()),
      'at',
    ),
    ['at'],
  )
  const aggregates: Array<[Monoid<any, any, any>, string]> = [
    [sum((e: any) => e.n), 'n'],
    [min((e: any) => e.n), 'n'],
    [max((e: any) => e.n), 'n'],
    [mean((e: any) => e.n), 'n'],
    [distinctCount((e: any) => e.user), 'user'],
    [topK(3, (e: any) => e.item), 'item'],
    [quantiles((e: any) => e.latency), 'latency'],
  ]
  for (const [monoid, field] of aggregates) {
    assert.deepEqual(
      fieldsRead(
        view('a')
          .key((e) => e.k)
          .aggregate(monoid),
        'ts',
      ),
      [field, 'k'].sort(),
    )
  }
  // After a map, the key and aggregate see the map's output, not the event.
  const mapped = view('m')
    .filter((e) => e.ok)
    .map((e) => ({ u: e.url, n: e.n }))
    .key((x: any) => x.whatever)
    .aggregate(sum((x: any) => JSON.stringify(x).length))
  assert.deepEqual(fieldsRead(mapped, 'ts'), ['n', 'ok', 'url'])
})

test('aggregates whose reads are unknown leave the view whole events', () => {
  const keyed = view('v').key((e) => e.url)
  // topK without a function counts the input itself (as JSON for an event).
  assert.equal(fieldsRead(keyed.aggregate(topK(3)), 'ts'), null)
  // A copy of a built-in with its add() replaced, and one changed after the factory returned it.
  const copy: Monoid<number, any, number> = {
    ...count(),
    add: (s: number, e: any) => s + JSON.stringify(e).length,
  }
  assert.equal(fieldsRead(keyed.aggregate(copy), 'ts'), null)
  const changed = count() as { add: unknown }
  changed.add = (s: number, e: any) => s + Object.keys(e).length
  assert.equal(fieldsRead(keyed.aggregate(changed as Monoid<number, any, number>), 'ts'), null)
  assert.equal(
    fieldsRead(
      view('w')
        .key((e) => e.url)
        .window(tumbling('1h'))
        .aggregate(count()),
      '__proto__',
    ),
    null,
  )
  assert.equal(unionOfFields([['a'], null]), null)
  assert.deepEqual(
    unionOfFields([
      ['b', 'a'],
      ['a', 'c'],
    ]),
    ['a', 'b', 'c'],
  )
})

test('comments, parentheses and nested functions do not hide a read, a write or a kept object', () => {
  // A `.` that ends a comment is not a property access: the field after it is read.
  const commented = (e: any) =>
    // Only page views.
    e.type === 'page_view'
  assert.deepEqual(fieldsOfFunction(commented), ['type'])
  // biome-ignore lint/complexity/useArrowFunction: the function form is what is analysed
  const spaced = function (e: any) {
    return /* the url. */ e.url
  }
  assert.deepEqual(fieldsOfFunction(spaced), ['url'])
  let kept: unknown
  const cases: Array<(e: any) => unknown> = [
    // Writes with a comment or parentheses between the field and the operator.
    (e) => (e.n /* bump */ = 1),
    // biome-ignore format: the parentheses are what is tested
    (e) => ((e.n) = 1),
    // biome-ignore format: the parentheses are what is tested
    (e) => (e.n)++,
    // biome-ignore format: the comment is what is tested
    (e) => ++ /* c */ e.n,
    // biome-ignore format: the parentheses are what is tested
    (e) => delete (e.n),
    // biome-ignore format: the comment is what is tested
    (e) => ([e.a] /* c */ = [1]),
    // Closures that could read the object after the call: kept and called for a later event.
    (e) => (kept = () => e.url),
    (e) =>
      (kept = {
        get url() {
          return e.url
        },
      }),
    (e) =>
      // biome-ignore lint/complexity/useArrowFunction: the function form is what is analysed
      (kept = function () {
        return e.url
      }),
    (e) =>
      (kept = class {
        url = e.url
      }),
    // Conservative: any nested function or `) {` in the text, used or not.
    (e) => e.tags.some((t: string) => t === 'x'),
    (e) => {
      if (e.a) {
        return 1
      }
      return 2
    },
  ]
  for (const fn of cases) assert.equal(fieldsOfFunction(fn), null, String(fn))
  // A nested function that never sees the parameter is no closure over it.
  assert.deepEqual(
    fieldsOfFunction(() => [1].map((x) => x)),
    [],
  )
  void kept
})

test('a key function is a key field only when its whole source is a read of one field', () => {
  assert.equal(
    keyFieldOf((e: any) => e.url),
    'url',
  )
  assert.equal(
    keyFieldOf((e: any) => e.url),
    'url',
  )
  // Arrow functions compiled from `e => e.url` keep their source; as strings:
  const ok = [`(e) => e.url`, `e => e.url`, `( e )=>e . url`, `$ => $.user_id`]
  for (const source of ok) assert.notEqual(keyFieldOf(new Function(`return ${source}`)()), null, source)
  const no = [
    `(e) => e?.url`,
    `(e) => e.url + ''`,
    `(e) => e.meta.k`,
    `(e) => x.url`,
    `(e) => { return e.url }`,
    `(e) => e.toString`,
    `(e) => /* c */ e.url`,
    `(e, f) => e.url`,
    `() => 'all'`,
    `function (e) { return e.url }`,
  ]
  for (const source of no) assert.equal(keyFieldOf(new Function(`return ${source}`)()), null, source)
  // A bound function hides its source.
  assert.equal(keyFieldOf(((e: any) => e.url).bind(null)), null)
})
