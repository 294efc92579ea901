// recompute(): one batch run from code, as `strata batch` runs it — on a data folder whose
// embedded log holds sealed events, it serves a version of every view with the sealed end as its
// horizon and the exact answers; a second call finds them current; force recomputes.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { compileViews } from '../../src/core/config.ts'
import { loadConfig } from '../../src/core/config-loader.ts'
import { recompute } from '../../src/index.ts'
import { EmbeddedLog } from '../../src/log/embedded/index.ts'
import { openStore } from '../../src/runtime/open-store.ts'
import { queryView } from '../../src/serving/query.ts'
import { configSource, pageView } from '../speed/helpers.ts'

test('recompute() serves every view at the sealed end, exactly, and is idempotent', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-recompute-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const config = join(dir, 'strata.config.ts')
  await writeFile(config, configSource('events', 2))
  const data = join(dir, 'data')
  await mkdir(join(data, 'master', 'events'), { recursive: true })
  const log = await EmbeddedLog.open({ dir: join(data, 'master', 'events'), partitions: 2 })
  const events = Array.from({ length: 60 }, (_, i) => pageView(i))
  await log.append(events.map((e, i) => ({ key: `k${i % 3}`, value: JSON.stringify(e) })))
  await log.seal()
  await log.close()

  const plans: number[] = []
  let progress = 0
  const first = await recompute({
    config,
    data,
    threads: 1,
    onStart: (plan) => plans.push(plan.offsets),
    onProgress: (n) => {
      progress += n
    },
  })
  assert.deepEqual(plans, [60])
  assert.equal(progress, 60)
  assert.equal(
    first.plan.horizon.reduce((a, b) => a + b, 0),
    60,
  )
  assert.deepEqual(first.versions.map((v) => v.view).sort(), ['amount', 'hits', 'top', 'users'])

  const views = compileViews(await loadConfig(config))
  const hits = views.find((v) => v.name === 'hits')!
  const expected = events.filter((e) => e.type === 'page_view' && e.url === '/a').length
  const store = await openStore(join(data, 'store'))
  try {
    const answer = await queryView(store, hits, '/a')
    const total = (answer.windows ?? []).reduce((sum, w) => sum + (w.value as number), 0)
    assert.equal(total, expected)
    assert.ok(expected > 0)
  } finally {
    await store.close()
  }

  assert.equal((await recompute({ config, data, threads: 1 })).versions.length, 0, 'current: nothing to do')
  assert.equal((await recompute({ config, data, threads: 1, force: true })).versions.length, 4)
})

test('recompute() on a data folder that is not there: STRATA_ERR_NO_DATA, and nothing created', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-recompute-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const config = join(dir, 'strata.config.ts')
  await writeFile(config, configSource('events', 2))
  const mistyped = join(dir, 'dta')
  await assert.rejects(recompute({ config, data: mistyped, threads: 1 }), (error: unknown) => {
    assert.equal((error as { code?: string }).code, 'STRATA_ERR_NO_DATA')
    assert.match((error as Error).message, /no data in .*dta/)
    return true
  })
  assert.equal(existsSync(mistyped), false, 'no store or folder was created')
})
