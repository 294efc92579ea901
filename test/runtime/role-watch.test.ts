// A role run alone exits 1 once its state is failed (it cannot recover by itself), and not before.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { RoleState } from '../../src/core/role-health.ts'
import { createLogger } from '../../src/runtime/logger.ts'
import { exitWhenFailed } from '../../src/runtime/role-watch.ts'

test('exitWhenFailed exits 1 with one line once the role is failed, and only then', async () => {
  let state: RoleState = 'degraded'
  const lines: string[] = []
  const exits: number[] = []
  const watch = exitWhenFailed(
    'batch layer',
    () => ({
      role: 'batch',
      state,
      reason: '3 batch runs failed in a row: gone [STRATA_ERR_SEGMENT_CORRUPT]',
    }),
    createLogger('batch', (line) => lines.push(line)),
    { everyMs: 10, exit: (code) => exits.push(code) },
  )
  await new Promise((r) => setTimeout(r, 50))
  assert.deepEqual(exits, [], 'degraded is not a reason to exit')
  state = 'failed'
  await new Promise((r) => setTimeout(r, 50))
  watch.stop()
  assert.deepEqual(exits, [1])
  assert.equal(lines.length, 1)
  assert.match(
    lines[0] ?? '',
    /batch layer failed and cannot go on by itself: .*STRATA_ERR_SEGMENT_CORRUPT.*exiting 1/,
  )
})
