// `strata batch` interrupted (Ctrl-C, a supervisor's SIGTERM) in the middle of its fold: before,
// it had no handler, so Node's default ended it where it stood (no word, the progress bar's cursor
// hidden, a version half-staged in the store until its next open). Now it stops at a safe point:
// the fold threads ended, nothing flipped, the store closed, exit 130 (SIGINT) or 143 (SIGTERM)
// with STRATA_ERR_INTERRUPTED saying the previous versions still serve.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { EmbeddedLog } from '../../src/log/embedded/index.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'

const strata = new URL('../../bin/strata.js', import.meta.url).pathname
const api = pathToFileURL(join(import.meta.dirname, '../../src/config.ts')).href

function runBatch(dir: string, configPath: string, extra: string[] = []) {
  const child = spawn(
    process.execPath,
    [strata, 'batch', '--config', configPath, '--data', dir, '--threads', '1', ...extra],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, STRATA_STORE: '', STRATA_BROKERS: '' },
    },
  )
  let output = ''
  child.stdout.on('data', (chunk) => {
    output += chunk
  })
  child.stderr.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  return { child, exited, output: () => output }
}

async function until(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

test('strata batch interrupted by SIGINT or SIGTERM mid-fold exits 130 or 143, flips nothing, and the previous versions serve', {
  timeout: 300_000,
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-batch-interrupt-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const reached = join(dir, 'reached')
  const configPath = join(dir, 'strata.config.ts')
  // The view's code, on the event marked `hang`, says so (a file) and never returns: the run is
  // certainly in its fold when the signal comes.
  await writeFile(
    configPath,
    `import { writeFileSync } from 'node:fs'
import { count, defineConfig, view } from '${api}'
export default defineConfig({
  source: { topic: 'events', partitions: 1 },
  views: [
    view('hangs').key((e) => { if (e.hang) { writeFileSync(${JSON.stringify(reached)}, ''); for (;;) {} } return e.url }).aggregate(count()),
    view('plain').key((e) => e.url).aggregate(count()),
  ],
})
`,
  )
  const root = join(dir, 'master', 'events')
  await mkdir(root, { recursive: true })
  const append = async (events: object[]) => {
    const log = await EmbeddedLog.open({ dir: root, partitions: 1 })
    await log.append(events.map((e) => ({ value: JSON.stringify(e) })))
    await log.seal()
    await log.close()
  }
  await append(Array.from({ length: 50 }, (_, i) => ({ url: `/p${i % 3}`, ts: 1764000000000 + i })))
  const first = runBatch(dir, configPath)
  assert.deepEqual(await first.exited, { code: 0, signal: null }, first.output())

  await append([{ url: '/p0', ts: 1764000000100, hang: true }])
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    if (existsSync(reached)) await unlink(reached)
    // With a short --hang-timeout the stuck fold is said on stderr before the signal comes.
    const run = runBatch(dir, configPath, signal === 'SIGINT' ? ['--hang-timeout', '2s'] : [])
    t.after(() => run.child.kill('SIGKILL'))
    await until(
      () => existsSync(reached) || run.child.exitCode !== null,
      `the fold to reach the event (${signal})`,
    )
    if (signal === 'SIGINT') {
      await until(
        () => /no event folded for \d+ s \(\d+ of 51\): a view's code may never return/.test(run.output()),
        'the silent fold to be said',
        20_000,
      )
    } else assert.doesNotMatch(run.output(), /no event folded/, 'not within the default 60 s')
    run.child.kill(signal)
    const ended = await Promise.race([
      run.exited,
      new Promise<'running'>((r) => setTimeout(r, 30_000, 'running').unref()),
    ])
    assert.deepEqual(ended, { code, signal: null }, run.output())
    assert.match(run.output(), new RegExp(`${signal}: stopping the batch run`))
    assert.match(
      run.output(),
      new RegExp(
        `strata: the batch run was interrupted by ${signal}: hangs, plain not recomputed, their previous versions still served .*\\[STRATA_ERR_INTERRUPTED\\]`,
      ),
    )
    // The store (closed cleanly: it opens) still serves the first run's versions, over 50 events.
    const store = await openLmdbStore(join(dir, 'store'))
    try {
      for (const name of ['hangs', 'plain']) {
        const served = await store.servedBatch(name)
        assert.equal(served?.version, 1, `${name} after ${signal}`)
        assert.deepEqual(served?.horizon, [50])
      }
    } finally {
      await store.close()
    }
  }
})

// Before, the handlers were installed only once the config had loaded: a Ctrl-C while a config's
// TypeScript compiled (or its top level ran) met Node's default and ended the process by the
// signal, with no word and no STRATA_ERR_INTERRUPTED. Now they come first; nothing is open yet.
test('strata batch interrupted while its config still loads exits 130 with STRATA_ERR_INTERRUPTED, nothing written', {
  timeout: 120_000,
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-batch-early-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const reached = join(dir, 'reached')
  const configPath = join(dir, 'strata.config.ts')
  // The config's top level says it runs (a file), then waits: the signal comes while it loads.
  await writeFile(
    configPath,
    `import { writeFileSync } from 'node:fs'
import { count, defineConfig, view } from '${api}'
writeFileSync(${JSON.stringify(reached)}, '')
await new Promise(() => setInterval(() => {}, 1000))
export default defineConfig({
  source: { topic: 'events', partitions: 1 },
  views: [view('plain').key((e) => e.url).aggregate(count())],
})
`,
  )
  const run = runBatch(dir, configPath)
  t.after(() => run.child.kill('SIGKILL'))
  await until(() => existsSync(reached) || run.child.exitCode !== null, 'the config to load')
  run.child.kill('SIGINT')
  const ended = await Promise.race([
    run.exited,
    new Promise<'running'>((r) => setTimeout(r, 30_000, 'running').unref()),
  ])
  assert.deepEqual(ended, { code: 130, signal: null }, run.output())
  assert.match(
    run.output(),
    /interrupted by SIGINT before its run started: nothing .*\[STRATA_ERR_INTERRUPTED\]/,
  )
  assert.equal(existsSync(join(dir, 'store')), false, 'no store was opened')
})
