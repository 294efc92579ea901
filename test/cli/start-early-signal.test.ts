// A SIGTERM to `strata start` while it is still starting (its config compiling, before the
// embedded log opens): before, the shutdown handlers came only once the start resolved, so the
// signal met Node's default and the process ended by it, with no word and no exit code a
// supervisor reads as a clean stop. Now the handlers come first: the start gives up at its next
// step, nothing is left locked or written, and the command exits 0 as on any SIGTERM.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { lockFolder } from '../../src/runtime/data-lock.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { listenHung } from '../helpers/hung-server.ts'
import { freePort, spawnStrata } from '../helpers/process.ts'

const api = pathToFileURL(join(import.meta.dirname, '../../src/config.ts')).href
const exampleConfig = fileURLToPath(new URL('../../examples/pageviews/strata.config.ts', import.meta.url))

// The config's top level takes 2 s, or never ends (it waits on a service that hangs): either way
// the signal ends the start.
for (const [what, wait] of [
  ['takes 2 s', 'new Promise((resolve) => setTimeout(resolve, 2000))'],
  ['never ends', 'new Promise(() => setInterval(() => {}, 1000))'],
]) {
  test(`strata start: SIGTERM while its config loads (its top level ${what}) exits 0, leaves no lock and writes nothing`, {
    timeout: 120_000,
  }, async (t) => {
    const defer = deferrer(t)
    const dir = await mkdtemp(join(tmpdir(), 'strata-start-early-'))
    defer(() => rm(dir, { recursive: true, force: true }))
    const data = join(dir, 'data')
    const reached = join(dir, 'reached')
    const configPath = join(dir, 'strata.config.ts')
    // The config's top level says it runs (a file), then waits: the signal comes meanwhile.
    await writeFile(
      configPath,
      `import { writeFileSync } from 'node:fs'
import { count, defineConfig, view } from '${api}'
writeFileSync(${JSON.stringify(reached)}, '')
await ${wait}
export default defineConfig({
  source: { topic: 'events', partitions: 1 },
  views: [view('plain').key((e) => e.url).aggregate(count())],
})
`,
    )
    const port = await freePort()
    const run = spawnStrata(['start', '--config', configPath, '--data', data, '--port', String(port)])
    defer(async () => {
      if (run.child.exitCode === null) run.child.kill('SIGKILL')
      await run.exited
    })
    const deadline = Date.now() + 60_000
    while (!existsSync(reached) && run.child.exitCode === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50))
    }
    assert.ok(existsSync(reached), `the config never loaded: ${run.output()}`)
    run.child.kill('SIGTERM')
    const code = await Promise.race([
      run.exited,
      new Promise<'running'>((r) => setTimeout(r, 30_000, 'running').unref()),
    ])
    assert.equal(code, 0, run.output())
    assert.equal(run.child.signalCode, null, 'ended by its own exit, not by the signal')
    assert.match(run.output(), /SIGTERM: shutting down/)
    // Nothing written: no master dataset, no store; the next start is not blocked by a lock.
    const written = existsSync(data) ? await readdir(data) : []
    assert.deepEqual(
      written.filter((name) => !name.startsWith('strata.lock')),
      [],
      'nothing but the lock files',
    )
    lockFolder(data, 'the test').release()
  })
}

// A worker waiting for its store at start (--startup-timeout, default 2m) stops waiting on a
// SIGTERM: a supervisor's stop must not wait out the timeout (systemd's own is 90 s).
test('strata worker: SIGTERM while it waits for its store exits 0 at once', {
  timeout: 120_000,
}, async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-worker-waiting-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  // PostgreSQL where nothing listens: the worker waits for it.
  const store = `postgres://postgres@127.0.0.1:${await freePort()}/test`
  const run = spawnStrata([
    'worker',
    'serve',
    '--config',
    exampleConfig,
    '--data',
    dir,
    '--port',
    String(await freePort()),
    '--store',
    store,
    '--startup-timeout',
    '5m',
  ])
  defer(async () => {
    if (run.child.exitCode === null) run.child.kill('SIGKILL')
    await run.exited
  })
  const deadline = Date.now() + 60_000
  while (
    !/waiting for PostgreSQL/.test(run.output()) &&
    run.child.exitCode === null &&
    Date.now() < deadline
  ) {
    await new Promise((r) => setTimeout(r, 50))
  }
  assert.match(run.output(), /waiting for PostgreSQL/)
  run.child.kill('SIGTERM')
  const code = await Promise.race([
    run.exited,
    new Promise<'waiting'>((r) => setTimeout(r, 15_000, 'waiting').unref()),
  ])
  assert.equal(code, 0, run.output())
  assert.match(run.output(), /SIGTERM: shutting down/)
})

// A PostgreSQL or a Kafka broker that takes the connection and never answers (a hung server, a
// proxy or load balancer whose backend is gone): the step in flight never settles, so a wait that
// ended only between attempts never ended, and the SIGTERM the handlers now catch left the
// process running until the supervisor's SIGKILL. The signal ends the step in flight too.
const hungCases: Array<[string, string[], (port: number) => string[]]> = [
  [
    'strata worker',
    ['worker', 'serve', '--startup-timeout', '5m'],
    (port) => ['--store', `postgres://postgres@127.0.0.1:${port}/test`],
  ],
  ['strata start', ['start'], (port) => ['--store', `postgres://postgres@127.0.0.1:${port}/test`]],
  ['strata start on Kafka', ['start'], (port) => ['--brokers', `127.0.0.1:${port}`]],
]
for (const [name, command, hungAt] of hungCases) {
  const what = hungAt(0)[0] === '--store' ? 'its store' : 'its broker'
  test(`${name}: SIGTERM while ${what} takes the connection and never answers exits 0 at once`, {
    timeout: 120_000,
  }, async (t) => {
    const defer = deferrer(t)
    const dir = await mkdtemp(join(tmpdir(), 'strata-hung-'))
    defer(() => rm(dir, { recursive: true, force: true }))
    const { port, sockets } = await listenHung(t)
    const run = spawnStrata([
      ...command,
      '--config',
      exampleConfig,
      '--data',
      dir,
      '--port',
      String(await freePort()),
      ...hungAt(port),
    ])
    defer(async () => {
      if (run.child.exitCode === null) run.child.kill('SIGKILL')
      await run.exited
    })
    // Its first attempt is connected, and waits for an answer that never comes.
    const deadline = Date.now() + 60_000
    while (sockets.length === 0 && run.child.exitCode === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50))
    }
    assert.ok(sockets.length > 0, `it never connected: ${run.output()}`)
    run.child.kill('SIGTERM')
    const code = await Promise.race([
      run.exited,
      new Promise<'waiting'>((r) => setTimeout(r, 15_000, 'waiting').unref()),
    ])
    assert.equal(code, 0, run.output())
    assert.match(run.output(), /SIGTERM: shutting down/)
  })
}
