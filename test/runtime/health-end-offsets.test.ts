// healthEndOffsets: /health's end offsets, reused for at most maxAgeMs — measured on the monotonic
// clock, so that a wall clock stepped back (NTP, a resumed VM) does not keep one reading, and the
// lag /health shows, frozen for as long as the step.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { healthEndOffsets } from '../../src/runtime/role-reporters.ts'
import { aged } from '../helpers/clock.ts'

test('a reading is reused while fresh, asked again once older than maxAgeMs', async () => {
  let calls = 0
  const read = healthEndOffsets(async () => [++calls], 5)
  assert.deepEqual(await read(), [1])
  assert.deepEqual(await read(), [1], 'fresh: reused')
  await aged(10)
  assert.deepEqual(await read(), [2], 'stale: asked again')
})

test('a wall clock stepped back does not keep a reading fresh', async (t) => {
  let calls = 0
  const read = healthEndOffsets(async () => [++calls], 5)
  assert.deepEqual(await read(), [1])
  const wall = Date.now
  const stepped = wall() - 3_600_000
  Date.now = () => stepped
  t.after(() => {
    Date.now = wall
  })
  await aged(10)
  assert.deepEqual(await read(), [2], 'the broker asked again after maxAgeMs, whatever the wall clock says')
})
