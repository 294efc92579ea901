// The compactor's pass size and when it goes on (lmdb-compactor.ts): small passes while commits
// land (a live commit queued behind a pass waits for all of it), whole passes when quiet, and the
// log still drained down to one pass while commits land.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compactionPassSize, keepCompacting, MIN_LIVE_PASS } from '../../src/store/lmdb-compactor.ts'

const base = { quietMs: 1000, passDeltas: 50_000, livePassMs: 5, msPerDelta: 0.004, logged: 20_000 }

test('while commits land a pass folds about livePassMs of deltas, bounded both ways', () => {
  assert.equal(compactionPassSize({ ...base, sinceCommitMs: 10 }), 1250)
  // A slow or loaded machine: never below MIN_LIVE_PASS, so the log still drains.
  assert.equal(compactionPassSize({ ...base, sinceCommitMs: 10, msPerDelta: 1 }), MIN_LIVE_PASS)
  // A fast one: never above a whole pass.
  assert.equal(compactionPassSize({ ...base, sinceCommitMs: 10, msPerDelta: 1e-6 }), 50_000)
  assert.equal(compactionPassSize({ ...base, sinceCommitMs: 10, msPerDelta: 0 }), 50_000)
})

test('when no commit came for quietMs, or the log holds more than a whole pass, a pass is a whole pass', () => {
  assert.equal(compactionPassSize({ ...base, sinceCommitMs: 1000 }), 50_000)
  // A log a catch-up left, or past the threshold: small passes would each pay a transaction.
  assert.equal(compactionPassSize({ ...base, sinceCommitMs: 10, logged: 50_001 }), 50_000)
  assert.equal(compactionPassSize({ ...base, sinceCommitMs: 10, logged: 50_000 }), 1250)
  assert.equal(compactionPassSize({ ...base, sinceCommitMs: 5000, msPerDelta: 1 }), 50_000)
})

test('a look goes on while no commit came, or while the log holds more than the next pass', () => {
  assert.equal(keepCompacting(true, 10, 50_000), true)
  assert.equal(keepCompacting(false, 10, 50_000), false)
  assert.equal(keepCompacting(false, 50_000, 50_000), false)
  assert.equal(keepCompacting(false, 50_001, 50_000), true)
  // While commits land the next pass is small: the log is drained down to one such pass.
  assert.equal(keepCompacting(false, 1_000, 500), true)
  assert.equal(keepCompacting(false, 400, 500), false)
})
