import assert from 'node:assert/strict'
import { test } from 'node:test'
import { count } from '../../src/core/monoids/count.ts'
import { distinctCount } from '../../src/core/monoids/distinct-count.ts'
import { ViewTable } from '../../src/core/view-table.ts'

test('view table: get/set per (key, window), entries ordered by window', () => {
  const t = new ViewTable(count())
  t.set('/b', 20, 2)
  t.set('/a', 10, 1)
  t.set('/a', 20, 3)
  assert.equal(t.get('/a', 20), 3)
  assert.equal(t.get('/a', 30), undefined)
  assert.equal(t.size, 3)
  assert.deepEqual(
    [...t.entries()],
    [
      ['/a', 10, 1],
      ['/b', 20, 2],
      ['/a', 20, 3],
    ],
  )
  assert.deepEqual(t.windowsOf('/a'), [
    [10, 1],
    [20, 3],
  ])
  t.clear()
  assert.equal(t.size, 0)
  assert.equal(t.get('/a', 20), undefined)
})

test('view table: merge combines and leaves the other table untouched', () => {
  const m = distinctCount((x: string) => x)
  const a = new ViewTable(m)
  const b = new ViewTable(m)
  a.set('k', 0, m.add(m.zero(), 'u1'))
  b.set('k', 0, m.add(m.add(m.zero(), 'u1'), 'u2'))
  b.set('j', 0, m.add(m.zero(), 'u3'))
  a.merge(b)
  assert.equal(m.result(a.get('k', 0) as never), 2)
  assert.equal(m.result(a.get('j', 0) as never), 1)
  // b's states are not shared with a: growing a does not change b.
  m.add(a.get('j', 0) as never, 'u4')
  assert.equal(m.result(b.get('j', 0) as never), 1)
})
