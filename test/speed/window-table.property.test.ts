// A pending window's WindowTable (src/speed/window-table.ts) against a ViewTable, the naive Map
// fold: the same inputs give the same groups, in the same order, with the same states; many
// tables share one key dictionary small enough to be reset while they are live (their ids then
// re-indexed), keys collide in the index, grow across windows and tables, are long or non-ASCII;
// an add() that throws leaves no group in either.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import type { Monoid } from '../../src/core/monoid.ts'
import { count } from '../../src/core/monoids/count.ts'
import { distinctCount } from '../../src/core/monoids/distinct-count.ts'
import { max } from '../../src/core/monoids/extremes.ts'
import { sum } from '../../src/core/monoids/sum.ts'
import { ViewTable } from '../../src/core/view-table.ts'
import { KeyDictionary, WindowTable } from '../../src/speed/window-table.ts'

interface Input {
  n: number
  boom: boolean
}

const throwing = (i: Input): number => {
  if (i.boom) throw new Error('boom')
  return i.n
}

const monoids: Array<() => Monoid<any, Input, any>> = [
  () => count(),
  () => sum(throwing),
  () => max(throwing),
  () => distinctCount((i: Input) => (i.boom ? undefined : i.n)),
]

const key = fc.oneof(
  fc.constantFrom('', '/a', '/b', '/ü', '__proto__', 'constructor', 'x'.repeat(300), '日本語', '\u0000'),
  fc.string({ maxLength: 3 }),
  fc.integer({ min: 0, max: 5_000 }).map((i) => `/p/${i}`),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
)
const add = fc.record({
  table: fc.nat({ max: 4 }),
  start: fc.constantFrom(0, 3_600_000, -3_600_000, 7_200_000, 1.5, 2 ** 40),
  key,
  n: fc.integer({ min: -3, max: 9 }),
  boom: fc.boolean(),
})

function groups<S>(
  t: { forEachGroup(visit: (key: string, start: number, state: S) => void): void },
  m: Monoid<S, any, any>,
) {
  const out: unknown[] = []
  t.forEachGroup((k, start, state) => out.push([k, start, m.encode(state)]))
  return out
}

function both(
  m: () => Monoid<any, Input, any>,
  ops: Array<{ table: number; start: number; key: string; n: number; boom: boolean }>,
  dict: KeyDictionary,
) {
  // Tables are opened as windows are: one after another, the earlier ones still live.
  const monoid = m()
  const mine: WindowTable<unknown>[] = []
  const naive: ViewTable<unknown>[] = []
  for (const op of ops) {
    while (mine.length <= op.table) {
      mine.push(new WindowTable(monoid, dict))
      naive.push(new ViewTable(monoid))
    }
    const input = { n: op.n, boom: op.boom }
    let a: unknown
    let b: unknown
    try {
      mine[op.table]!.add(op.start, op.key, input)
    } catch (e) {
      a = (e as Error).message
    }
    try {
      naive[op.table]!.add(op.start, op.key, input)
    } catch (e) {
      b = (e as Error).message
    }
    assert.equal(a, b)
  }
  for (let t = 0; t < mine.length; t++) {
    assert.equal(mine[t]!.size, naive[t]!.size)
    assert.deepEqual(groups(mine[t]!, monoid), groups(naive[t]!, monoid))
  }
}

test('window table: the groups, order and states of a ViewTable, the dictionary reset under live tables', () => {
  fc.assert(
    fc.property(
      fc.nat({ max: monoids.length - 1 }),
      fc.array(add, { maxLength: 400 }),
      fc.integer({ min: 2, max: 64 }),
      (m, ops, limit) => both(monoids[m]!, ops, new KeyDictionary(limit)),
    ),
    { numRuns: 300 },
  )
})

test('window table: many keys (index growth, collisions), across windows and tables, one dictionary', () => {
  const dict = new KeyDictionary(3_000)
  let seed = 7
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    return seed % n
  }
  for (let round = 0; round < 4; round++) {
    const ops = Array.from({ length: 20_000 }, () => ({
      table: rand(3),
      start: rand(3) * 60_000,
      key: rand(10) === 0 ? `long/${'é'.repeat(rand(40))}/${rand(9_000)}` : `/p/${rand(9_000)}`,
      n: rand(10),
      boom: rand(50) === 0,
    }))
    for (const m of monoids) both(m, ops, dict)
  }
  assert.ok(dict.epoch > 0, 'the dictionary was reset along the way')
})

test('window table: a key first seen in one window reuses the dictionary string in the next', () => {
  const dict = new KeyDictionary()
  const a = new WindowTable(count(), dict)
  const b = new WindowTable(count(), dict)
  a.add(0, ['/', 'p'].join(''), {})
  b.add(0, ['/', 'p'].join(''), {})
  b.add(10, '/q', {})
  b.add(0, '/p', {})
  assert.equal(dict.size, 2)
  assert.deepEqual(groups(b, count()), [
    ['/p', 0, 2],
    ['/q', 10, 1],
  ])
})
