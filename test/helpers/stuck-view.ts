// What the tests of a view whose code never returns share (test/speed/stuck-fold.test.ts,
// test/batch/stuck-view.test.ts): an embedded log holding the event the view hangs on.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { pathToFileURL } from 'node:url'
import { loadConfig } from '../../src/core/config-loader.ts'
import { EmbeddedLog } from '../../src/log/embedded/index.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import { deferrer } from './cleanup.ts'

/** The first value `check` gives that is not undefined, waiting up to a generous minute. */
export async function until<T>(check: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 60_000
  for (;;) {
    const value = check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const api = pathToFileURL(join(import.meta.dirname, '../../src/config.ts')).href

// A scratch folder with a config of these views over 2 partitions, its store and its embedded log.
async function scratchLog(t: TestContext, prefix: string, views: string) {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), prefix))
  defer(() => rm(dir, { recursive: true, force: true }))
  const configPath = join(dir, 'strata.config.ts')
  await writeFile(
    configPath,
    `import { count, defineConfig, view } from '${api}'
export default defineConfig({
  source: { topic: 'events', partitions: 2 },
  views: [
${views}
  ],
})
`,
  )
  const config = await loadConfig(configPath)
  const store = await openLmdbStore(join(dir, 'store'))
  defer(() => store.close())
  const root = join(dir, 'master')
  await mkdir(root, { recursive: true })
  const log = await EmbeddedLog.open({ dir: root, partitions: 2 })
  defer(() => log.close())
  return { configPath, config, store, root, log }
}

/**
 * A log of 2 partitions whose partition 1 holds, at offset 2, the event the view hangs on (or, with
 * `hangLater`, nothing yet: `hang()` appends those events when the test says).
 */
export async function setup(t: TestContext, hangLater = false) {
  const scratch = await scratchLog(
    t,
    'strata-stuck-fold-',
    `    view('fine').key((e) => e.url).aggregate(count()),
    view('hangs').key((e) => { if (e.hang) for (;;) {} return e.url }).aggregate(count()),`,
  )
  const event = (hang: boolean) => ({ partition: 1, value: JSON.stringify({ url: '/a', ts: 1, hang }) })
  const hang = () => scratch.log.append([event(false), event(false), event(true), event(false)])
  if (!hangLater) await hang()
  return { ...scratch, hang }
}

/**
 * A log whose partition 1 holds `events` events that a view takes `msEach` to fold, each (slow
 * but advancing: not stuck), with the config file and store as setup() gives them.
 */
export async function setupSlow(t: TestContext, events: number, msEach: number) {
  const scratch = await scratchLog(
    t,
    'strata-slow-fold-',
    `    view('slow').key((e) => { const until = performance.now() + ${msEach}; while (performance.now() < until) {} return e.url }).aggregate(count()),`,
  )
  await scratch.log.append(
    Array.from({ length: events }, () => ({ partition: 1, value: JSON.stringify({ url: '/a', ts: 1 }) })),
  )
  return scratch
}
