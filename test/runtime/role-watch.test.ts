// Every role's state changes are logged; a role run alone exits 1 once its state is failed (it
// cannot recover by itself), and not before.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { RoleState } from '../../src/core/role-health.ts'
import { createLogger } from '../../src/runtime/logger.ts'
import { watchRole } from '../../src/runtime/role-watch.ts'

const tick = () => new Promise((r) => setTimeout(r, 50))

test('a role run alone exits 1 with one line once it is failed, and only then', async () => {
  let state: RoleState = 'degraded'
  const lines: string[] = []
  const exits: number[] = []
  const watch = watchRole(
    'batch layer',
    () => ({
      role: 'batch',
      state,
      reason: '3 batch runs failed in a row: gone [STRATA_ERR_SEGMENT_CORRUPT]',
    }),
    createLogger('batch', (line) => lines.push(line)),
    { everyMs: 10, exitOnFailed: true, exit: (code) => exits.push(code) },
  )
  await tick()
  assert.deepEqual(exits, [], 'degraded is not a reason to exit')
  assert.equal(lines.length, 1, 'degraded is said once, not every check')
  assert.match(lines[0] ?? '', /"level":"warn".*batch layer degraded: 3 batch runs failed/)
  state = 'failed'
  await tick()
  watch.stop()
  assert.deepEqual(exits, [1])
  assert.equal(lines.length, 2)
  assert.match(
    lines[1] ?? '',
    /batch layer failed and cannot go on by itself: .*STRATA_ERR_SEGMENT_CORRUPT.*exiting 1/,
  )
})

test('a served role logs each change of state — stalled with why, then back — and never exits', async () => {
  let state: RoleState = 'running'
  let reason: string | undefined
  const lines: string[] = []
  const exits: number[] = []
  const watch = watchRole(
    'speed layer',
    () => ({ role: 'speed', state, ...(reason ? { reason } : {}) }),
    createLogger('strata', (line) => lines.push(line)),
    { everyMs: 10, exit: (code) => exits.push(code) },
  )
  await tick()
  assert.deepEqual(lines, [], 'running from the start says nothing')
  state = 'stalled'
  reason =
    'partition 1 unreadable for 12 s (40 fetches failed, retrying): no leader [STRATA_ERR_KAFKA_UNAVAILABLE]'
  await tick()
  state = 'failed'
  reason = 'partition 2: view failed [STRATA_ERR_VIEW_FAILED]'
  await tick()
  state = 'running'
  reason = undefined
  await tick()
  watch.stop()
  assert.deepEqual(exits, [], 'a served process reports a failed role in /health instead of exiting')
  assert.equal(lines.length, 3, lines.join('\n'))
  assert.match(lines[0]!, /"level":"warn".*speed layer stalled: partition 1 unreadable/)
  assert.match(lines[1]!, /"level":"error".*speed layer failed: partition 2: view failed/)
  assert.match(lines[2]!, /"level":"info".*speed layer running again/)
})

test('a failed role exits only once its close settled (a view stop being recorded lands first), or past settleMs', async () => {
  const exits: Array<{ code: number; settled: boolean }> = []
  let recorded = false
  const logger = createLogger('speed', () => undefined)
  const failed = () => ({ role: 'speed' as const, state: 'failed' as const, reason: 'view stopped' })
  // The close waits for the store to record the stop (a PostgreSQL round trip: 200 ms here).
  const watch = watchRole('speed layer', failed, logger, {
    everyMs: 10,
    exitOnFailed: true,
    exit: (code) => exits.push({ code, settled: recorded }),
    settle: () =>
      new Promise<void>((resolve) =>
        setTimeout(() => {
          recorded = true
          resolve()
        }, 200),
      ),
  })
  await new Promise((r) => setTimeout(r, 400))
  watch.stop()
  assert.deepEqual(exits, [{ code: 1, settled: true }], 'exited after the stop was recorded')

  // A close that never settles (a store that hangs) does not keep a failed role from exiting.
  const cut: number[] = []
  const stuck = watchRole('speed layer', failed, logger, {
    everyMs: 10,
    exitOnFailed: true,
    exit: (code) => cut.push(code),
    settle: () => new Promise(() => {}),
    settleMs: 50,
  })
  await new Promise((r) => setTimeout(r, 300))
  stuck.stop()
  assert.deepEqual(cut, [1])
})
