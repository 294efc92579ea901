// A view whose code never returns, met by the speed layer's fold thread on the embedded log (what
// `strata start` runs since s14-hang): the worker's stats name the view, the partition and the
// event the thread is stuck on, and close() ends the thread after its bound with a code instead of
// waiting for ever.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createSpeedWorker } from '../../src/speed/speed-worker.ts'
import { setup, until } from '../helpers/stuck-view.ts'

test('speed layer on the embedded log: a fold thread stuck in a view is named in the stats, and close() ends it with a code', {
  timeout: 60_000,
}, async (t) => {
  const { configPath, config, store, log } = await setup(t)
  const worker = createSpeedWorker({ store, config, log, configPath, foldThreads: 1, closeTimeoutMs: 6000 })
  await worker.start()
  const stuck = await until(
    () => worker.stats().stuckFolds?.[0],
    'the stats to name the stuck fold (after 5 s)',
  )
  assert.equal(stuck.view, 'hangs')
  assert.equal(stuck.partition, 1)
  assert.equal(stuck.offset, 2)
  await assert.rejects(worker.close(), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'STRATA_ERR_SHUTTING_DOWN')
    assert.match(error.message, /view 'hangs' has not returned on partition 1 offset 2/)
    return true
  })
  // Nothing past the event was committed for its partition: the next start folds it again.
  const stored = await store.speedPartitions()
  assert.ok((stored.find((s) => s.partition === 1)?.offset ?? 0) <= 2, JSON.stringify(stored))
})
