// A rollout hazard: a speed worker keeps running an old definition of a view after another
// worker started with the edited config (which restarted the view's realtime states). Its
// commits are refused — it must not fold the old code into the new states — and the partitions
// it holds, which no one else folds while Kafka assigns them to it, are reported failed with
// STRATA_ERR_CONFIG_CHANGED (so /health/live sends it to be restarted), never running.
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { test } from 'node:test'
import { EmbeddedLog } from '../../src/log/embedded/index.ts'
import { speedReporter } from '../../src/runtime/role-reporters.ts'
import { createSpeedWorker } from '../../src/speed/speed-worker.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { pageView, speedFixture, waitFor } from './helpers.ts'

const PARTITIONS = 2

test('a worker running a replaced view definition stops its partitions as failed, not running', async (t) => {
  const defer = deferrer(t)
  const fixture = await speedFixture(t, PARTITIONS)
  await mkdir(fixture.root, { recursive: true })
  const log = await EmbeddedLog.open({ dir: fixture.root, partitions: PARTITIONS })
  defer(() => log.close())
  let n = 0
  const append = (count: number) =>
    log.append(
      Array.from({ length: count }, () => {
        n++
        return { key: `k${n % 5}`, value: JSON.stringify(pageView(n)) }
      }),
    )
  const worker = createSpeedWorker({
    store: fixture.store,
    config: fixture.config,
    log,
    policy: { commitEveryMs: 20 },
  })
  defer(() => worker.close())
  await worker.start()
  await append(40)
  const ends = await log.endOffsets()
  await waitFor(async () => {
    const stored = await fixture.store.speedPartitions()
    return ends.every((end, p) => stored.find((s) => s.partition === p)?.offset === end)
  }, 'the worker commits what is in the log')
  const report = speedReporter(
    () => worker.stats(),
    () => log.endOffsets(),
  )
  assert.equal((await report()).state, 'running')

  // Another worker starts with an edited definition of the first view.
  const [first, ...rest] = fixture.views
  await fixture.store.registerSpeedViews(
    [{ view: first!.name, codeHash: 'edited' }, ...rest.map((v) => ({ view: v.name, codeHash: v.codeHash }))],
    PARTITIONS,
  )
  const before = await fixture.store.speedPartitions()
  await append(40)

  await waitFor(
    () => worker.stats().partitions.every((p) => p.stoppedCode === 'STRATA_ERR_CONFIG_CHANGED'),
    'both partitions stop with STRATA_ERR_CONFIG_CHANGED',
  )
  const health = await report()
  assert.equal(health.state, 'failed')
  for (const p of health.partitions ?? []) {
    assert.equal(p.state, 'failed')
    assert.match(p.reason ?? '', /defined differently now.*restart this speed worker/)
  }
  // Nothing of the old definition was committed after the redefinition.
  assert.deepEqual(await fixture.store.speedPartitions(), before)
})
