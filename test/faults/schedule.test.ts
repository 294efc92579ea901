// Fault schedules replay from their seed, and any four consecutive schedules inject every kind
// (the short variant in `npm test` relies on it).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FAULT_KINDS, scheduleFor } from './schedule.ts'

test('a schedule is a pure function of its seed and index', () => {
  assert.deepEqual(scheduleFor(42, 17, 4), scheduleFor(42, 17, 4))
  assert.notDeepEqual(scheduleFor(42, 17, 4), scheduleFor(43, 17, 4))
})

test('every four consecutive schedules hold every fault kind, 2-3 distinct kinds each', () => {
  for (const seed of [1, 7, 20261124, 2 ** 31 - 1]) {
    for (let first = 0; first < 30; first++) {
      const seen = new Set<string>()
      for (let i = first; i < first + 4; i++) {
        const { faults } = scheduleFor(seed, i, 4)
        assert.ok(faults.length >= 2 && faults.length <= 3)
        assert.equal(new Set(faults.map((f) => f.kind)).size, faults.length)
        for (const f of faults) {
          seen.add(f.kind)
          if (f.kind === 'broker') assert.ok(f.target >= 0 && f.target < 4)
        }
      }
      assert.deepEqual([...seen].sort(), [...FAULT_KINDS].sort(), `seed ${seed} from ${first}`)
    }
  }
})
