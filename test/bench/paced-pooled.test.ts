// bench/lib/paced.ts `pooled`: a round run as interleaved slices reads as one run — its counts the
// slices' sums and its percentiles those of every slice's latencies together, not of any slice.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type PacedResult, pooled } from '../../bench/lib/paced.ts'

function part(latencies: number[], errors = 0): PacedResult {
  const sorted = Float64Array.from(latencies).sort()
  return {
    rate: 0,
    sent: latencies.length + errors,
    answered: latencies.length,
    errors,
    p50: Number.NaN,
    p90: Number.NaN,
    p99: Number.NaN,
    p999: Number.NaN,
    max: Number.NaN,
    sentP50: Number.NaN,
    sentP99: Number.NaN,
    latencies: sorted,
    fromSend: sorted.map((x) => x / 2),
  }
}

test('pooled: the percentiles of all slices together, the counts summed', () => {
  // 100 fast answers in three slices and one slow one in the fourth: p99 is the slowest fast
  // answer, p99.9 and max the slow one; a median of per-slice p99s would read 1–100.
  const slices = [
    part(Array.from({ length: 40 }, (_, i) => 1 + i / 100)),
    part(Array.from({ length: 30 }, (_, i) => 2 + i / 100)),
    part(
      Array.from({ length: 30 }, (_, i) => 3 + i / 100),
      2,
    ),
    part([100]),
  ]
  const r = pooled(slices, 4)
  assert.equal(r.answered, 101)
  assert.equal(r.sent, 103)
  assert.equal(r.errors, 2)
  assert.equal(r.rate, 101 / 4)
  assert.equal(r.p50, 2.1) // the 51st of 101: 40 from 1.00, then 2.00 … 2.10
  assert.equal(r.p99, 3.29) // ceil(0.99 × 101) = 100th: the slowest fast answer
  assert.equal(r.p999, 100)
  assert.equal(r.max, 100)
  assert.equal(r.sentP99, 3.29 / 2)
  assert.equal(r.latencies!.length, 101)
  assert.deepEqual(
    [...r.latencies!],
    [...r.latencies!].sort((a, b) => a - b),
  )
})
