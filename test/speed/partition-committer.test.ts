// The committer's reading of a partition it read back (src/speed/partition-committer.ts): still
// ours, or fenced and why. Its commits through outages, lost answers and refusals are in
// commit-retry.test.ts and partition-folder.test.ts, over a real store.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fencedBy, isOurs } from '../../src/speed/partition-committer.ts'
import type { SpeedPartition } from '../../src/store/store.ts'

const stored = (p: Partial<SpeedPartition> = {}): SpeedPartition => ({
  partition: 2,
  offset: 40,
  epochs: [0, 20],
  required: [],
  owner: 3,
  ...p,
})

test('isOurs and fencedBy: gone, taken over, or moved by another writer', () => {
  const cases: Array<[string, SpeedPartition | undefined, number | undefined, boolean, RegExp | null]> = [
    ['ours', stored(), undefined, true, null],
    ['ours, at the offset we commit from', stored(), 40, true, null],
    ['gone from the store', undefined, undefined, false, /it is gone from the store/],
    ['another owner token', stored({ owner: 4 }), undefined, false, /owner token 4 took it over/],
    ['another owner token, same offset', stored({ owner: 4 }), 40, false, /owner token 4 took it over/],
    ['moved by another writer', stored({ offset: 45 }), 40, false, /another writer moved it to offset 45/],
  ]
  for (const [name, state, from, ours, why] of cases) {
    assert.equal(isOurs(state, 3, from), ours, name)
    if (why === null) continue
    const error = fencedBy(2, state, from)
    assert.equal(error.code, 'STRATA_ERR_FENCED', name)
    assert.match(error.message, /^partition 2: no longer ours \(/, name)
    assert.match(error.message, why, name)
  }
})
