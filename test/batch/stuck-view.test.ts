// A view whose code never returns, met by a batch run's worker thread (s14-hang): the schedule
// reports the run's thread silent (the batch layer's /health says stalled on it,
// role-reporters.ts), and close() ends the thread after its bound with a code instead of waiting
// for the run for ever.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startBatchSchedule } from '../../src/batch/schedule.ts'
import { setup, setupSlow, until } from '../helpers/stuck-view.ts'

test('batch layer: a run whose worker thread is stuck in a view is seen silent, and close() ends it with a code', {
  timeout: 60_000,
}, async (t) => {
  const { configPath, config, store, root, log } = await setup(t)
  await log.seal()
  const schedule = startBatchSchedule({
    config,
    configPath,
    root,
    store,
    threads: 1,
    intervalMs: 3_600_000,
    firstRunMs: 0,
    closeTimeoutMs: 2000,
    onError: () => undefined,
  })
  const silent = await until(() => schedule.silent(1000)[0], 'the run to be silent for 1 s')
  assert.equal(silent.partition, 1)
  assert.equal(schedule.running, true)
  await assert.rejects(schedule.close(), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'STRATA_ERR_SHUTTING_DOWN')
    assert.match(error.message, /folding partition 1 said nothing for \d+ s/)
    return true
  })
  assert.equal(schedule.running, false)
  assert.deepEqual(schedule.silent(0), [])
})

test('batch layer: a run whose view is slow but advances is not silent, and close() waits for it instead of ending it', {
  timeout: 120_000,
}, async (t) => {
  // 1,500 events at 3 ms or more each (4.5 s), in one segment: the thread reports progress within it.
  const { configPath, config, store, root, log } = await setupSlow(t, 1500, 3)
  await log.seal()
  const schedule = startBatchSchedule({
    config,
    configPath,
    root,
    store,
    threads: 1,
    intervalMs: 3_600_000,
    firstRunMs: 0,
    closeTimeoutMs: 1000,
    onError: () => undefined,
  })
  await until(() => (schedule.running ? true : undefined), 'the run to start')
  // The run's thread has folded for longer than the close bound when close() is asked.
  await new Promise((resolve) => setTimeout(resolve, 1500))
  assert.deepEqual(schedule.silent(1000), [])
  await schedule.close()
  assert.equal(schedule.running, false)
})
