import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { alignDown, GLOBAL_WINDOW_START, hopping, tumbling, windowStarts } from '../../src/core/window.ts'

const H = 3_600_000
const M = 60_000

test('tumbling: boundaries belong to the window they start', () => {
  const w = tumbling('1h')
  const t0 = Date.UTC(2026, 0, 1, 10) // 10:00
  assert.deepEqual(windowStarts(w, t0), [t0])
  assert.deepEqual(windowStarts(w, t0 + H - 1), [t0])
  assert.deepEqual(windowStarts(w, t0 + H), [t0 + H])
  assert.deepEqual(windowStarts(w, t0 - 1), [t0 - H])
})

test('tumbling: the epoch edge and times before 1970', () => {
  const w = tumbling('1d')
  assert.deepEqual(windowStarts(w, 0), [0])
  assert.deepEqual(windowStarts(w, 86_399_999), [0])
  assert.deepEqual(windowStarts(w, -1), [-86_400_000])
  assert.deepEqual(windowStarts(w, -86_400_000), [-86_400_000])
  assert.equal(alignDown(-86_400_001, 86_400_000), -172_800_000)
})

test('hopping: 1h every 15m puts each event in 4 overlapping windows', () => {
  const w = hopping({ size: '1h', advance: '15m' })
  const t = Date.UTC(2026, 0, 1, 10, 20) // 10:20
  const ten = Date.UTC(2026, 0, 1, 10)
  assert.deepEqual(windowStarts(w, t), [ten - 30 * M, ten - 15 * M, ten, ten + 15 * M])
  // On a boundary: the window starting there and the three before it.
  assert.deepEqual(windowStarts(w, ten), [ten - 45 * M, ten - 30 * M, ten - 15 * M, ten])
  // At the epoch, windows that start before it still contain it.
  assert.deepEqual(windowStarts(w, 0), [-45 * M, -30 * M, -15 * M, 0])
})

test('hopping: windowStarts is exactly the aligned windows containing t (also when size % advance != 0)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 50 }),
      fc.integer({ min: 1, max: 50 }),
      fc.integer({ min: -10_000, max: 10_000 }),
      (a, b, t) => {
        const [advance, size] = a <= b ? [a, b] : [b, a]
        const w = hopping({ size, advance })
        const expected: number[] = []
        for (let s = alignDown(t - size - advance, advance); s <= t; s += advance) {
          if (s <= t && t < s + size) expected.push(s)
        }
        assert.deepEqual(windowStarts(w, t), expected)
      },
    ),
  )
})

test('hopping: advance longer than size is rejected; equal is tumbling', () => {
  assert.throws(() => hopping({ size: '5m', advance: '10m' }), {
    code: 'STRATA_ERR_INVALID_VIEW',
    field: 'window.advance',
  })
  assert.equal(hopping({ size: '5m', advance: '5m' }).kind, 'tumbling')
})

test('non-windowed views have one pseudo window', () => {
  assert.deepEqual(windowStarts(null, 123_456), [GLOBAL_WINDOW_START])
})
