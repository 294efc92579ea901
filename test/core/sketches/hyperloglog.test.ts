import assert from 'node:assert/strict'
import { test } from 'node:test'
import { hash53 } from '../../../src/core/sketches/hash.ts'
import { HyperLogLog } from '../../../src/core/sketches/hyperloglog.ts'

// The documented bound: relative standard error σ = 1.04 / sqrt(2^p); 99.7% of estimates fall
// within 3σ. The data are fixed (deterministic hashes), so this test cannot flake: it checks
// that our hash and estimator deliver the bound on these cardinalities.
const hll = new HyperLogLog(14, 1024)
const sigma = 1.04 / Math.sqrt(2 ** 14)

function sketchOf(prefix: string, n: number) {
  const state = hll.create()
  for (let i = 0; i < n; i++) hll.addHash(state, hash53(`${prefix}-${i}`))
  return state
}

test('hyperloglog: estimates within 3σ (2.4%) from just past the exact limit to 300 000', () => {
  const errors: number[] = []
  for (const [prefix, n] of [
    ['user', 1025],
    ['user', 3000],
    ['session', 12_000],
    ['user', 40_000],
    ['device', 90_000],
    ['user', 300_000],
  ] as const) {
    const estimate = hll.estimate(sketchOf(prefix, n))
    const error = (estimate - n) / n
    errors.push(error)
    assert.ok(
      Math.abs(error) <= 3 * sigma,
      `n=${n}: estimate ${estimate}, error ${(error * 100).toFixed(2)}%`,
    )
  }
  // Unbiased overall: the mean error is well inside one σ.
  const meanError = errors.reduce((s, e) => s + e, 0) / errors.length
  assert.ok(Math.abs(meanError) < sigma, `mean error ${(meanError * 100).toFixed(2)}%`)
})

test('hyperloglog: exact below the limit, registers past it', () => {
  const small = sketchOf('x', 1024)
  assert.equal(small.registers, null)
  assert.equal(hll.estimate(small), 1024)
  const big = sketchOf('x', 1025)
  assert.notEqual(big.registers, null)
  assert.equal(big.table, null)
})

test('hyperloglog: merging the parts gives the very state of the whole (and duplicates do not count)', () => {
  const whole = sketchOf('u', 20_000)
  const parts = [hll.create(), hll.create(), hll.create()]
  for (let i = 0; i < 20_000; i++) hll.addHash(parts[(i * 7) % 3], hash53(`u-${i}`))
  // Every item again, in a different part: a union must not double count.
  for (let i = 0; i < 20_000; i += 3) hll.addHash(parts[(i + 1) % 3], hash53(`u-${i}`))
  const merged = hll.merge(hll.merge(hll.create(), parts[2]), hll.merge(parts[0], parts[1]))
  assert.deepEqual(merged.registers, whole.registers)
})

test('hash53: 53-bit, never 0, and spreads over the register index bits', () => {
  const buckets = new Array(16).fill(0)
  for (let i = 0; i < 16_000; i++) {
    const h = hash53(`k${i}`)
    assert.ok(Number.isSafeInteger(h) && h > 0)
    buckets[Math.floor(h / 2 ** 49)]++
  }
  // Each of 16 top-bit buckets expects 1000; a uniform hash stays within ±15% here.
  for (const b of buckets) assert.ok(b > 850 && b < 1150, `bucket count ${b}`)
})
