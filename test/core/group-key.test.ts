import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { decodeGroupKey, encodeGroupKey, groupKeyRange } from '../../src/core/group-key.ts'

const start = fc.integer({ min: -(2 ** 52) + 1, max: 2 ** 52 - 1 })

test('group key: decode inverts encode, also for keys containing the separator', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), start, (key, windowStart) => {
      assert.deepEqual(decodeGroupKey(encodeGroupKey(key, windowStart)), { key, windowStart })
    }),
  )
  assert.deepEqual(decodeGroupKey(encodeGroupKey('a\u0000b', 5)), { key: 'a\u0000b', windowStart: 5 })
})

test('group key: sorts by key, then by window start (negative starts too)', () => {
  const key = fc.string({ unit: fc.constantFrom('a', 'b', '/', 'z') })
  fc.assert(
    fc.property(fc.array(fc.tuple(key, start), { maxLength: 30 }), (groups) => {
      const byTuple = [...groups].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] - y[1]))
      const byString = groups.map(([k, s]) => encodeGroupKey(k, s)).sort()
      assert.deepEqual(
        byString,
        byTuple.map(([k, s]) => encodeGroupKey(k, s)),
      )
    }),
  )
})

test('group key range: exactly the windows of the key with start in [from, to)', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('/a', '/a/b', '/b'),
      fc.array(fc.tuple(fc.constantFrom('/a', '/a/b', '/ab', '/b'), fc.integer({ min: -50, max: 50 }))),
      fc.option(fc.integer({ min: -60, max: 60 }), { nil: undefined }),
      fc.option(fc.integer({ min: -60, max: 60 }), { nil: undefined }),
      (key, groups, from, to) => {
        const range = groupKeyRange(key, from, to)
        const inRange = groups.filter(([k, s]) => {
          const g = encodeGroupKey(k, s)
          return g >= range.start && g < range.end
        })
        const expected = groups.filter(
          ([k, s]) => k === key && (from === undefined || s >= from) && (to === undefined || s < to),
        )
        assert.deepEqual(inRange, expected)
      },
    ),
  )
})
