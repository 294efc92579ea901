// The speed worker in embedded mode: it owns every partition of the embedded log, commits by
// itself, survives a restart without loss or double counting, and meets the batch layer (which
// reads the same log's sealed segments) exactly at the horizon.
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { test } from 'node:test'
import type { StrataEvent } from '../../src/core/event.ts'
import { EmbeddedLog } from '../../src/log/embedded/index.ts'
import { queryView } from '../../src/serving/query.ts'
import { createSpeedWorker } from '../../src/speed/speed-worker.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { assertExact, batch, byPartition, pageView, speedFixture, waitFor } from './helpers.ts'

const PARTITIONS = 2

// With a fold thread too: `strata start` on the embedded log folds in one since s14-hang (a view
// whose code never returns must not freeze the main thread), so the same exactness holds there.
for (const foldThreads of [0, 1])
  test(`embedded mode${foldThreads ? ', with a fold thread' : ''}: realtime answers are exact before and after a batch run and across a restart`, async (t) => {
    const defer = deferrer(t)
    const fixture = await speedFixture(t, PARTITIONS)
    await mkdir(fixture.root, { recursive: true })
    const log = await EmbeddedLog.open({ dir: fixture.root, partitions: PARTITIONS })
    defer(() => log.close())
    const records = byPartition(PARTITIONS, [], [])
    let n = 0
    const append = async (count: number) => {
      const values: Array<StrataEvent | string> = []
      for (let i = 0; i < count; i++, n++) values.push(n % 25 === 24 ? '[1]' : pageView(n))
      const positions = await log.append(
        values.map((v) => ({ key: `k${n % 7}`, value: typeof v === 'string' ? v : JSON.stringify(v) })),
      )
      byPartition(PARTITIONS, values, positions, records)
    }
    const start = () => {
      const worker = createSpeedWorker({
        store: fixture.store,
        config: fixture.config,
        log,
        policy: { commitEveryMs: 20 },
        ...(foldThreads ? { foldThreads, configPath: fixture.configPath } : {}),
      })
      return worker.start().then(() => worker)
    }
    const caughtUp = async () => {
      const ends = await log.endOffsets()
      await waitFor(async () => {
        const stored = await fixture.store.speedPartitions()
        return ends.every((end, p) => stored.find((s) => s.partition === p)?.offset === end)
      }, 'the speed layer commits up to the end of the log')
      return ends
    }

    let worker = await start()
    await append(120)
    let ends = await caughtUp()
    await assertExact(fixture.store, fixture.views, records, 'realtime only')
    const stats = worker.stats()
    assert.equal(stats.mode, 'embedded')
    assert.deepEqual(
      stats.partitions.map((p) => p.partition),
      [0, 1],
    )
    assert.equal(
      stats.partitions.reduce((s, p) => s + p.skipped, 0),
      records.flat().filter((r) => r.event === null).length,
    )

    // The batch layer reads the sealed segments; its horizon meets the speed layer's epochs.
    await log.seal()
    await append(30)
    const run = await batch(fixture)
    assert.ok(run.versions.length > 0)
    assert.equal(
      run.plan.horizon.reduce((a, b) => a + b, 0),
      120,
    )
    ends = await caughtUp()
    await assertExact(fixture.store, fixture.views, records, 'batch + realtime')
    const answer = await queryView(fixture.store, fixture.views[0], '/a')
    assert.deepEqual(answer.asOf, ends)
    assert.ok(answer.batch !== null)

    // Restart: the new worker resumes at the stored offsets.
    await worker.close()
    await append(40)
    worker = await start()
    defer(() => worker.close())
    ends = await caughtUp()
    await assertExact(fixture.store, fixture.views, records, 'after a restart')
    assert.deepEqual((await queryView(fixture.store, fixture.views[2], 'click')).asOf, ends)
  })
