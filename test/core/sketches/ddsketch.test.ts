import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { DDSketch } from '../../../src/core/sketches/ddsketch.ts'

const qs = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1]

/** The documented bound: |x̂ - x_r| <= α·|x_r| for x_r = sorted[floor(q·(n - 1))]. */
function assertWithinBound(sketch: DDSketch, values: number[], parts = 1): void {
  const states = Array.from({ length: parts }, () => sketch.create())
  values.forEach((v, i) => {
    sketch.add(states[i % parts], v)
  })
  const state = states.reduce((a, b) => sketch.merge(a, b))
  const sorted = values.map((v) => v + 0).sort((a, b) => a - b)
  for (const q of qs) {
    const truth = sorted[Math.floor(q * (sorted.length - 1))]
    const estimate = sketch.quantile(state, q) as number
    // 1e-12 of slack for the rounding of log() and pow() at a bucket edge.
    const bound = sketch.alpha * Math.abs(truth) * (1 + 1e-12)
    assert.ok(
      Math.abs(estimate - truth) <= bound,
      `q=${q}: estimate ${estimate}, true ${truth}, n=${values.length}`,
    )
  }
}

const magnitude = fc.oneof(
  fc.double({ min: 1e-6, max: 1e9, noNaN: true }),
  fc.integer({ min: 1, max: 10_000 }),
)
const value = fc.oneof(
  magnitude,
  magnitude.map((v) => -v),
  fc.constant(0),
)

test('ddsketch: every quantile within relative error α = 1% of the true value of its rank', () => {
  const sketch = new DDSketch(0.01, 2048)
  fc.assert(
    fc.property(
      fc.array(value, { minLength: 1, maxLength: 400 }),
      fc.integer({ min: 1, max: 4 }),
      (values, parts) => assertWithinBound(sketch, values, parts),
    ),
    { numRuns: 150 },
  )
})

test('ddsketch: the bound holds for other α too (5%, 0.1%)', () => {
  for (const alpha of [0.05, 0.001]) {
    const sketch = new DDSketch(alpha, 1 << 15)
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 200 }), (values) =>
        assertWithinBound(sketch, values),
      ),
      { numRuns: 50 },
    )
  }
})

test('ddsketch: latency-like data, 100 000 values', () => {
  const sketch = new DDSketch()
  // A deterministic long-tailed sample: exponential body, a few slow outliers.
  const values: number[] = []
  let seed = 42
  const random = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    return seed / 2 ** 32
  }
  for (let i = 0; i < 100_000; i++)
    values.push(random() < 0.001 ? 5000 + random() * 5000 : -Math.log(1 - random()) * 40)
  assertWithinBound(sketch, values, 3)
})

test('ddsketch: collapsing keeps the upper quantiles exact-within-α and bounds the lowest', () => {
  // 64 buckets at 1% cover a factor of about 3.6; values span 10^6, so the low ones collapse.
  const sketch = new DDSketch(0.01, 64)
  const values = Array.from({ length: 1000 }, (_, i) => 10 ** (i / 166))
  const state = values.reduce((s, v) => sketch.add(s, v), sketch.create())
  assert.ok(state.positive.counts.length <= 64)
  for (const q of [0.95, 0.99, 1]) {
    const truth = values[Math.floor(q * 999)]
    assert.ok(Math.abs((sketch.quantile(state, q) as number) - truth) <= 0.01 * truth)
  }
  // A collapsed low quantile is over-estimated (never below the truth), and min stays exact.
  assert.ok((sketch.quantile(state, 0.1) as number) >= values[99])
  assert.equal(sketch.quantile(state, 0), 1)
})
