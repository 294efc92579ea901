// A view whose code never returns, met by the speed layer's fold thread on the embedded log (what
// `strata start` runs since s14-hang): the worker's stats name the view, the partition and the
// event the thread is stuck on, and close() ends the thread after its bound with a code instead of
// waiting for ever.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compileViews } from '../../src/core/config.ts'
import { queryView } from '../../src/serving/query.ts'
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
  // 1,500 events at 3 ms or more each: a fold request answered after 4.5 s or more, advancing
  // all along.
  const events = 1500
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

test('speed layer on the embedded log: a fold thread ended at close commits no partial window, and no offset past an event it did not fold', {
  timeout: 60_000,
}, async (t) => {
  const { configPath, config, store, log, hang } = await setup(t, true)
  const worker = createSpeedWorker({ store, config, log, configPath, foldThreads: 1, closeTimeoutMs: 3000 })
  await worker.start()
  const fine = (n: number) =>
    log.append(
      Array.from({ length: n }, () => ({ partition: 0, value: JSON.stringify({ url: '/a', ts: 1 }) })),
    )
  // Partition 0 folded and committed first; then partition 1's hang; then partition 0's next
  // events arrive behind the stuck request on the same thread: sent, never folded.
  await fine(30)
  const committed = async () => (await store.speedPartitions()).find((s) => s.partition === 0)?.offset
  for (let i = 0; i < 600 && (await committed()) !== 30; i++) await new Promise((r) => setTimeout(r, 50))
  assert.equal(await committed(), 30)
  await hang()
  await until(() => worker.stats().stuckFolds?.[0], 'the stats to name the stuck fold')
  await fine(50)
  await until(
    () => ((worker.stats().partitions.find((p) => p.partition === 0)?.position ?? 0) > 30 ? true : undefined),
    'partition 0 to be taken',
  )
  await assert.rejects(worker.close(), { code: 'STRATA_ERR_SHUTTING_DOWN' })
  // 'fine' counts every event: what is stored answers exactly the events below the stored offsets.
  const view = compileViews(config).find((v) => v.name === 'fine')!
  const answer = await queryView(store, view, '/a')
  const stored = await store.speedPartitions()
  const offsets = [0, 1].map((p) => stored.find((s) => s.partition === p)?.offset ?? 0)
  assert.equal(offsets[0], 30, JSON.stringify(stored))
  assert.ok(offsets[1]! <= 2, JSON.stringify(stored))
  assert.equal(answer.value, offsets[0]! + offsets[1]!, JSON.stringify({ answer, stored }))
})
