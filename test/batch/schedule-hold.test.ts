// A due batch run waits for the schedule's hold (`strata start` holds it while POST /events
// bursts, runtime/ingest-burst.ts), runs once the hold allows, and not at all if closed meanwhile.
import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import { startBatchSchedule } from '../../src/batch/schedule.ts'
import { setupSlow, until } from '../helpers/stuck-view.ts'

/**
 * A schedule over 10 sealed events whose first run is due at once and has asked the hold, which
 * lets it go on at `release()`; closed when the test ends (close() again is harmless).
 */
async function heldSchedule(t: TestContext) {
  const { configPath, config, store, root, log } = await setupSlow(t, 10, 0)
  await log.seal()
  let release: () => void = () => {}
  let asked = 0
  const schedule = startBatchSchedule({
    config,
    configPath,
    root,
    store,
    threads: 1,
    intervalMs: 3_600_000,
    firstRunMs: 0,
    onError: () => undefined,
    hold: () => {
      asked++
      return new Promise<void>((resolve) => {
        release = resolve
      })
    },
  })
  t.after(() => schedule.close())
  await until(() => (asked > 0 ? true : undefined), 'the run to be due')
  return { schedule, release: () => release() }
}

test('batch layer: a due run waits for the hold, then runs', { timeout: 60_000 }, async (t) => {
  const { schedule, release } = await heldSchedule(t)
  // Some time for a run that ignored the hold to start (not a timed assertion).
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.equal(schedule.running, false)
  assert.equal(schedule.lastRun, undefined)
  release()
  const run = await until(() => schedule.lastRun, 'the run after the hold')
  assert.equal(run.events, 10)
})

test('batch layer: a schedule closed during the hold does not run', { timeout: 60_000 }, async (t) => {
  const { schedule, release } = await heldSchedule(t)
  await schedule.close()
  release()
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.equal(schedule.running, false)
  assert.equal(schedule.lastRun, undefined)
})
