// bench/lib/paced.ts `roundPlan`: the warm rounds run first and are not measured; the measured
// rounds are numbered 1..rounds whatever the warm-up (the slice order and the per-round lines use
// that number).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { roundPlan } from '../../bench/lib/paced.ts'

test('warm rounds first, unmeasured; then every measured round once, in order', () => {
  assert.deepEqual(roundPlan(3, 1), [
    { round: 1, measured: false },
    { round: 1, measured: true },
    { round: 2, measured: true },
    { round: 3, measured: true },
  ])
  assert.deepEqual(
    roundPlan(2, 0).map((r) => r.measured),
    [true, true],
  )
  assert.equal(roundPlan(3, 2).filter((r) => !r.measured).length, 2)
  assert.equal(roundPlan(3, -1).length, 3)
})
