// A view whose code never returns, met by the speed layer's fold thread on the embedded log (what
// `strata start` runs since s14-hang): the worker's stats name the view, the partition and the
// event the thread is stuck on, and close() ends the thread after its bound with a code instead of
// waiting for ever.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createSpeedWorker } from '../../src/speed/speed-worker.ts'
import { setup, setupSlow, until } from '../helpers/stuck-view.ts'

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

test('speed layer on the embedded log: a view that is slow but advances is not taken for stuck; close() waits for it and commits every event', {
  timeout: 90_000,
}, async (t) => {
  // 400 events at 3 ms or more each: one fold request the thread answers after seconds, advancing
  // all along.
  const events = 400
  const { configPath, config, store, log } = await setupSlow(t, events, 3)
  const worker = createSpeedWorker({ store, config, log, configPath, foldThreads: 1, closeTimeoutMs: 1000 })
  await worker.start()
  await until(
    () => (worker.stats().partitions.find((p) => p.partition === 1)?.position ?? 0) > 0 || undefined,
    'the records to be sent to the thread',
  )
  // The request has waited past the close bound when close() is asked: the thread still advances.
  await new Promise((resolve) => setTimeout(resolve, 1500))
  await worker.close()
  const stored = await store.speedPartitions()
  assert.equal(stored.find((s) => s.partition === 1)?.offset, events, JSON.stringify(stored))
})
