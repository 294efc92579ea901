// A batch run stopped by its signal (`strata batch` on SIGINT or SIGTERM) while it writes its
// versions: a version being staged is aborted, never flipped; a flip done before the signal
// stays; no view is staged after it. The error says which is which (STRATA_ERR_INTERRUPTED).
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { runBatch } from '../../src/batch/batch-run.ts'
import { loadConfig } from '../../src/core/config-loader.ts'
import { InterruptedError } from '../../src/core/errors.ts'
import { SegmentBuilder, SegmentStore } from '../../src/master-dataset/index.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import type { Store } from '../../src/store/store.ts'

const api = pathToFileURL(join(import.meta.dirname, '../../src/config.ts')).href

async function setup(t: TestContext) {
  const dir = await mkdtemp(join(tmpdir(), 'strata-batch-interrupt-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const root = join(dir, 'master')
  const builder = new SegmentBuilder()
  for (let i = 0; i < 100; i++) {
    const value = Buffer.from(JSON.stringify({ url: `/p${i % 4}`, ts: 1764000000000 + i }))
    builder.add({ offset: i, timestamp: 1764000000000 + i, key: null, value })
  }
  await (await SegmentStore.open(root)).writeSegment(
    0,
    { start: 0, end: 100 },
    builder.data(),
    builder.packer(),
  )
  const configPath = join(dir, 'strata.config.ts')
  await writeFile(
    configPath,
    `import { count, defineConfig, view } from '${api}'
export default defineConfig({
  source: { topic: 'events', partitions: 1 },
  views: [view('first').key((e) => e.url).aggregate(count()), view('second').key((e) => e.url).aggregate(count())],
})
`,
  )
  const store = await openLmdbStore(join(dir, 'store'))
  t.after(() => store.close())
  return { root, configPath, store, config: await loadConfig(configPath) }
}

/** The store, with `hook` told of each stage's steps (to send the signal at one of them). */
function watched(
  store: Store,
  hook: (view: string, step: 'staged' | 'committed' | 'aborted') => void,
): Store {
  return new Proxy(store, {
    get(target, name) {
      if (name === 'stageBatch') {
        return async (view: string) => {
          const stage = await target.stageBatch(view)
          hook(view, 'staged')
          return {
            ...stage,
            ...(stage.putColumns ? { putColumns: stage.putColumns.bind(stage) } : {}),
            put: stage.put.bind(stage),
            commit: async (meta: Parameters<typeof stage.commit>[0]) => {
              const served = await stage.commit(meta)
              hook(view, 'committed')
              return served
            },
            abort: async () => {
              await stage.abort()
              hook(view, 'aborted')
            },
          }
        }
      }
      const value = Reflect.get(target, name)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

test('a signal while a version is staged: it is aborted, nothing flipped, and the error says so', async (t) => {
  const { root, configPath, store, config } = await setup(t)
  const interrupt = new AbortController()
  const steps: string[] = []
  const run = runBatch({
    config,
    configPath,
    root,
    threads: 1,
    signal: interrupt.signal,
    store: watched(store, (view, step) => {
      steps.push(`${view} ${step}`)
      if (step === 'staged') interrupt.abort('SIGINT')
    }),
  })
  await assert.rejects(run, (error: Error) => {
    assert.ok(error instanceof InterruptedError)
    assert.equal(error.code, 'STRATA_ERR_INTERRUPTED')
    assert.equal(error.signal, 'SIGINT')
    assert.match(
      error.message,
      /interrupted by SIGINT: first, second not recomputed, their previous versions still served/,
    )
    assert.doesNotMatch(error.message, /flipped before/)
    return true
  })
  assert.deepEqual(steps, ['first staged', 'first aborted'])
  assert.equal(await store.servedBatch('first'), undefined)
  assert.equal(await store.servedBatch('second'), undefined)
})

test('a signal after a flip: that view keeps its new version, the next is not staged', async (t) => {
  const { root, configPath, store, config } = await setup(t)
  const interrupt = new AbortController()
  const steps: string[] = []
  const run = runBatch({
    config,
    configPath,
    root,
    threads: 1,
    signal: interrupt.signal,
    store: watched(store, (view, step) => {
      steps.push(`${view} ${step}`)
      if (step === 'committed') interrupt.abort('SIGTERM')
    }),
  })
  await assert.rejects(run, (error: Error) => {
    assert.ok(error instanceof InterruptedError)
    assert.match(
      error.message,
      /interrupted by SIGTERM: second not recomputed, its previous version still served/,
    )
    assert.match(error.message, /flipped before the signal: first \(version 1\)/)
    return true
  })
  assert.deepEqual(steps, ['first staged', 'first committed'])
  assert.equal((await store.servedBatch('first'))?.version, 1)
  assert.equal(await store.servedBatch('second'), undefined)
})
