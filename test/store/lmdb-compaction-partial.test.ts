// A pass folds by a budget of deltas, not whole log rows (session 20: a catch-up commit's row
// holds ~15,000 deltas and a whole-row pass held live commits hundreds of ms). A pass that ends
// inside a row folds its first deltas and writes the rest back in the row's place: every delta
// folded exactly once, and a query between passes (the state rows plus the remaining log) counts
// each delta once.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compactLog } from '../../src/store/lmdb-speed-log.ts'
import type { RealtimeDelta } from '../../src/store/store.ts'
import { compactorFixture } from './compactor-fixture.ts'

test('a pass that ends inside a row folds its first deltas once and leaves the rest in the log', async (t) => {
  const { store, raw, sum, commit, total } = await compactorFixture(t)
  // One row of 10 deltas: /a seven times (1 each), then /b three times (10 each); then a row of /a.
  const of = (key: string, state: number): RealtimeDelta => ({ view: 'hits', epoch: 0, key, window: 0, state })
  const first = [...Array(7).fill(of('/a', 1)), ...Array(3).fill(of('/b', 10))]
  await store.commitSpeed(commit(0, first), sum)
  await store.commitSpeed(commit(1, [of('/a', 100)]), sum)
  const passes: Array<{ rows: number; deltas: number }> = []
  const answers: Array<[number, number]> = []
  for (;;) {
    const pass = await compactLog(raw, () => sum, 3)
    if (pass.rows === 0) break
    passes.push(pass)
    answers.push([await total('/a'), await total('/b')])
  }
  // 3 + 3 + 3 of the first row, then its last delta and the second row (the budget reached at 2).
  assert.deepEqual(passes, [
    { rows: 1, deltas: 3 },
    { rows: 1, deltas: 3 },
    { rows: 1, deltas: 3 },
    { rows: 2, deltas: 2 },
  ])
  for (const answer of answers) assert.deepEqual(answer, [107, 30])
  assert.equal(store.speedLogRows(), 0)
})
