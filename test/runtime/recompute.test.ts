// recompute(): one batch run from code, as `strata batch` runs it — on a data folder whose
// embedded log holds sealed events, it serves a version of every view with the sealed end as its
// horizon and the exact answers; a second call finds them current; force recomputes.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { constants, existsSync } from 'node:fs'
import { mkdir, mkdtemp, open, readFile, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { compileViews } from '../../src/core/config.ts'
import { loadConfig } from '../../src/core/config-loader.ts'
import { recompute } from '../../src/index.ts'
import { EmbeddedLog } from '../../src/log/embedded/index.ts'
import type { LogFields, Logger } from '../../src/runtime/logger.ts'
import { openStore } from '../../src/runtime/open-store.ts'
import { queryView } from '../../src/serving/query.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { sealedMaster } from '../helpers/sealed-master.ts'
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

test('recompute() on a sealed segment whose NDJSON rotted under its packed copy: the run is exact, the damage is said (STRATA_ERR_SEGMENT_CORRUPT)', async (t) => {
  // Before: a one-off `strata batch` did not run the batch role's segment scrub, so it folded
  // the packed copy and said nothing of the damaged NDJSON under it.
  const dir = await mkdtemp(join(tmpdir(), 'strata-recompute-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const { config, data, master, sealed } = await sealedMaster(dir)
  const sound = await recompute({ config, data, threads: 1 })
  assert.deepEqual(sound.damagedSegments, [])

  assert.ok(sealed.length > 0)
  const file = sealed[0]!
  const path = join(master, file)
  const bytes = await readFile(path)
  bytes[40] = bytes[40]! ^ 0x01
  await writeFile(path, bytes)
  const warnings: Array<{ message: string; fields?: LogFields }> = []
  const logger: Logger = {
    info: () => {},
    warn: (message, fields) => warnings.push({ message, ...(fields ? { fields } : {}) }),
    error: () => {},
    debug: () => {},
    child: () => logger,
  }
  const run = await recompute({ config, data, threads: 1, force: true, logger })
  assert.equal(run.versions.length, 4, 'the run folds from the packed copy')
  assert.deepEqual(
    run.damagedSegments.map((d) => [d.file, d.packedHolds]),
    [[file, true]],
  )
  assert.equal(warnings.length, 1)
  assert.equal(warnings[0]!.fields?.code, 'STRATA_ERR_SEGMENT_CORRUPT')
  assert.match(warnings[0]!.message, /does not match its checksum: its packed copy still holds/)
  // Asked not to (`--no-segment-check`): the same exact run, nothing hashed, nothing said.
  const unchecked = await recompute({ config, data, threads: 1, force: true, segmentCheck: false, logger })
  assert.equal(unchecked.versions.length, 4)
  assert.deepEqual(unchecked.damagedSegments, [])
  assert.equal(warnings.length, 1)
  // Views current: nothing read, nothing hashed.
  const current = await recompute({ config, data, threads: 1, logger })
  assert.equal(current.versions.length, 0)
  assert.deepEqual(current.damagedSegments, [])
})

// The one-off run waits for its segment check before it returns; a SIGINT or SIGTERM (`signal`)
// once the run had served its versions did not stop that check, so `strata batch` went on
// hashing the whole master dataset (minutes on a large one) after "stopping the batch run". A
// segment whose hash never ends (a FIFO in its place: the fold reads only its packed copy)
// stands for a long pass here.
test('recompute(): a signal while the segment check is still hashing ends it: the call settles', {
  timeout: 60_000,
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-recompute-'))
  const defer = deferrer(t)
  defer(() => rm(dir, { recursive: true, force: true }))
  const { config, data, master, sealed } = await sealedMaster(dir)
  const fifo = join(master, sealed[0]!)
  await unlink(fifo)
  execFileSync('mkfifo', [fifo])
  // Its reader (the hashing thread) gets its end of file, so nothing stays blocked after the test.
  const release = async () => {
    for (let i = 0; i < 100; i++) {
      try {
        await (await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK)).close()
        return true
      } catch {
        await new Promise((r) => setTimeout(r, 20)) // ENXIO: no reader yet
      }
    }
    return false
  }
  const interrupt = new AbortController()
  let folded = 0
  const run = recompute({
    config,
    data,
    threads: 1,
    signal: interrupt.signal,
    onProgress: (n) => (folded += n),
  })
  const settled = run.then(
    (result) => `served ${result.versions.length} versions`,
    (error: { code?: string }) => `failed: ${error.code}`,
  )
  defer(async () => {
    await release()
    await settled
  })
  while (folded < 60) await new Promise((r) => setTimeout(r, 20))
  // The run flips its versions right after it folded; then only the check is left.
  await new Promise((r) => setTimeout(r, 1500))
  interrupt.abort('SIGINT')
  const outcome = await Promise.race([
    settled,
    new Promise((r) => setTimeout(r, 20_000, 'still hashing').unref()),
  ])
  assert.match(String(outcome), /^(served 4 versions|failed: STRATA_ERR_INTERRUPTED)$/)
})
