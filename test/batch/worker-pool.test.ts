// The batch worker pool: what a worker thread answers equals the fold done inline (numeric and
// non-numeric states, any key), threads kept between runs never fold with a stale config, a
// thread that loaded other definitions than the run's is refused, and a failed task leaves no
// broken thread behind.
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { foldPartition } from '../../src/batch/partition-fold.ts'
import type { EncodedEntries } from '../../src/batch/worker.ts'
import { endIdleWorkers, runFoldTasks } from '../../src/batch/worker-pool.ts'
import { compileViews } from '../../src/core/config.ts'
import { loadConfig } from '../../src/core/config-loader.ts'
import type { ViewHash } from '../../src/core/view-hash.ts'
import { SegmentBuilder, SegmentStore } from '../../src/master-dataset/index.ts'
import { deferrer } from '../helpers/cleanup.ts'

const index = pathToFileURL(join(import.meta.dirname, '../../src/config.ts')).href
const VIEWS = ['by_url', 'users_by_url', 'top', 'sum_by_type']

function configSource(filterType: string): string {
  return `import { count, defineConfig, distinctCount, sum, topK, tumbling, view } from '${index}'
export default defineConfig({
  source: { topic: 'events', partitions: 2 },
  views: [
    view('by_url').filter((e) => e.type === '${filterType}').key((e) => e.url).window(tumbling('1h')).aggregate(count()),
    view('users_by_url').key((e) => e.url).aggregate(distinctCount((e) => e.user)),
    view('top').key(() => 'all').aggregate(topK(3, (e) => e.url)),
    view('sum_by_type').key((e) => e.type).aggregate(sum((e) => e.n)),
  ],
})
`
}

// Keys that stress the packed answer: empty, non-ASCII, astral, a lone surrogate, a NUL, one
// key in both Unicode normalizations (two keys: nothing may merge them), a lone low surrogate that
// follows the lone high one in the packed text (the two halves of a pair there, two keys here),
// and a key past the stores' MAX_KEY_BYTES (long-keys.ts; the batch answer holds it whole).
const URLS = [
  '',
  '/a',
  '/é',
  '/😀',
  '/\ud800',
  '\udc00/',
  '/\u0000x',
  '/b'.repeat(50),
  '/caf\u00e9',
  '/cafe\u0301',
  `/${'l'.repeat(3000)}`,
]

async function setup(t: TestContext) {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-pool-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const root = join(dir, 'master')
  const segments = await SegmentStore.open(root)
  for (let p = 0; p < 2; p++) {
    for (let start = 0; start < 600; start += 200) {
      const builder = new SegmentBuilder()
      for (let offset = start; offset < start + 200; offset++) {
        const i = p * 1000 + offset
        const event = {
          type: i % 3 === 0 ? 'click' : 'page_view',
          url: URLS[i % URLS.length],
          user: `u${i % 37}`,
          n: i % 5 === 0 ? -0.5 : i,
          ts: 1764000000000 + i * 60_000,
        }
        builder.add({ offset, timestamp: event.ts, key: null, value: Buffer.from(JSON.stringify(event)) })
      }
      await segments.writeSegment(p, { start, end: start + 200 }, builder.data(), builder.packer())
    }
  }
  const configPath = join(dir, 'strata.config.ts')
  await writeFile(configPath, configSource('page_view'))
  defer(() => endIdleWorkers())
  return { dir, root, configPath }
}

/** Inline fold of the same tasks, encoded as a worker encodes it, windows ascending. */
async function foldInline(configPath: string, root: string, to: number): Promise<EncodedEntries[][]> {
  const views = compileViews(await loadConfig(configPath)).filter((v) => VIEWS.includes(v.name))
  views.sort((a, b) => VIEWS.indexOf(a.name) - VIEWS.indexOf(b.name))
  const out: EncodedEntries[][] = []
  for (let partition = 0; partition < 2; partition++) {
    const fold = await foldPartition({ root, partition, to, views })
    out.push(
      fold.tables.map((table, i) => {
        const entries: EncodedEntries = { keys: [], windows: [], states: [] }
        for (const [key, window, state] of table.entries()) {
          entries.keys.push(key)
          entries.windows.push(window)
          entries.states.push(views[i]!.monoid.encode(state))
        }
        return entries
      }),
    )
  }
  return out
}

/** The views of the config file as it is now, with the code hashes a run that loads it now stamps. */
async function viewHashes(configPath: string): Promise<ViewHash[]> {
  // A copy under a new name: import() keeps the file itself as this process first evaluated it.
  const copy = `${configPath}.${randomUUID()}.ts`
  await copyFile(configPath, copy)
  const views = compileViews(await loadConfig(copy))
  return VIEWS.map((view) => ({ view, codeHash: views.find((v) => v.name === view)!.codeHash }))
}

const tasks = async (configPath: string, root: string, to: number) => {
  const views = await viewHashes(configPath)
  return [0, 1].map((partition) => ({ configPath, views, root, partition, to }))
}

test('a worker answers what the inline fold computes: numeric and non-numeric states, any key', async (t) => {
  const { root, configPath } = await setup(t)
  const expected = await foldInline(configPath, root, 550)
  let progress = 0
  const results = await runFoldTasks(await tasks(configPath, root, 550), 1, (n) => {
    progress += n
  })
  assert.deepEqual(
    results.map((r) => r.entries),
    expected,
  )
  assert.deepEqual(
    results.map((r) => r.events),
    [550, 550],
  )
  assert.equal(progress, 1100, 'progress adds up to the offsets below the horizon')
  // Every key went through the packed answer unchanged, the lone surrogate included.
  assert.deepEqual(new Set(results[0]!.entries[0]!.keys), new Set(URLS))
})

test('threads kept between runs evaluate an edited config afresh', async (t) => {
  const { root, configPath } = await setup(t)
  const clicks = async () => {
    const [p0] = await runFoldTasks(await tasks(configPath, root, 600), 2, () => undefined)
    return (p0!.entries[0]!.states as number[]).reduce((a, b) => a + b, 0)
  }
  const pageViews = await clicks()
  assert.equal(pageViews, 400) // 2 of every 3 events of partition 0
  assert.equal(await clicks(), 400, 'the kept thread, same config')
  await writeFile(configPath, configSource('click'))
  assert.equal(await clicks(), 200, 'the edited config, not the one the kept thread loaded')
})

// Regression: the threads evaluated the file as it was when they started, and the main thread
// stamped the versions with the hashes of the file as it was when the process loaded it.
test('threads that loaded an edited config are refused before they fold: STRATA_ERR_CONFIG_CHANGED', async (t) => {
  const { root, configPath } = await setup(t)
  const loaded = await tasks(configPath, root, 600) // the process loads the config…
  await writeFile(configPath, configSource('click')) // …then the file is edited
  await assert.rejects(
    runFoldTasks(loaded, 2, () => undefined),
    { code: 'STRATA_ERR_CONFIG_CHANGED', message: /view 'by_url' has code hash/ },
  )
  // A run of the definitions the file holds now folds them.
  const [p0] = await runFoldTasks(await tasks(configPath, root, 600), 2, () => undefined)
  assert.equal(
    (p0!.entries[0]!.states as number[]).reduce((a, b) => a + b, 0),
    200,
  )
})

test('a failed task ends its thread, and the next run folds normally', async (t) => {
  const { root, configPath } = await setup(t)
  await writeFile(join(root, 'p0001', '00000000000000000200-00000000000000000400.ndjson.sha256'), 'garbage')
  await assert.rejects(
    runFoldTasks(await tasks(configPath, root, 600), 2, () => undefined),
    {
      code: 'STRATA_ERR_SEGMENT_CORRUPT',
    },
  )
  const [p0] = await runFoldTasks([(await tasks(configPath, root, 600))[0]!], 2, () => undefined)
  assert.equal(p0!.events, 600)
})

test('every thread gets a partition before any thread queues a second', async (t) => {
  const { root, configPath } = await setup(t)
  // 2 partitions, 2 threads: one partition each, not both on the first thread.
  const results = await runFoldTasks(await tasks(configPath, root, 600), 2, () => undefined)
  assert.deepEqual(
    results.map((r) => r.partition),
    [0, 1],
  )
  assert.notEqual(results[0]!.thread, results[1]!.thread)
  // Kept for the next run of the same config: the same two threads fold it.
  const again = await runFoldTasks(await tasks(configPath, root, 600), 2, () => undefined)
  assert.deepEqual(new Set(again.map((r) => r.thread)), new Set(results.map((r) => r.thread)))
})
