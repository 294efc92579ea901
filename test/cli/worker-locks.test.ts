// The roles lock what they write (runtime/strata.ts) at start, before they wait for Kafka or the
// store: a second archiver on one data folder, a second speed worker on one embedded store, are
// refused with the holder's pid; the archiver and a speed worker on one --data are not (one
// writes the master dataset, the other the store). `strata worker serve` binds its port before it
// waits for the store. Kafka is a port where nothing listens: the first roles wait for it.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { freePort, type SpawnedStrata, spawnStrata } from '../helpers/process.ts'

const exampleConfig = fileURLToPath(new URL('../../examples/pageviews/strata.config.ts', import.meta.url))

function started(t: { after(fn: () => Promise<void>): void }, args: string[]): SpawnedStrata {
  const run = spawnStrata(args)
  t.after(async () => {
    if (run.child.exitCode === null) run.child.kill('SIGKILL')
    await run.exited
  })
  return run
}

async function until(check: () => boolean, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Exit code and output of a run that must end within `timeoutMs`. */
async function ended(
  run: SpawnedStrata,
  timeoutMs = 30_000,
): Promise<{ code: number | null; output: string }> {
  const code = await Promise.race([
    run.exited,
    new Promise<'running'>((r) => setTimeout(r, timeoutMs, 'running').unref()),
  ])
  assert.notEqual(code, 'running', `still running after ${timeoutMs} ms: ${run.output()}`)
  return { code: code as number | null, output: run.output() }
}

test('a second archiver or speed worker on what another writes is refused with its pid', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-worker-locks-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const common = ['--config', exampleConfig, '--data', dir, '--brokers', `127.0.0.1:${await freePort()}`]
  const archiver = started(t, ['worker', 'archiver', ...common])
  const speed = started(t, ['worker', 'speed', ...common])
  // Both took their locks and now wait for Kafka.
  await until(() => /waiting for Kafka/.test(archiver.output()), 'the archiver to wait for Kafka')
  await until(() => /waiting for Kafka/.test(speed.output()), 'the speed worker to wait for Kafka')

  for (const [role, holder] of [
    ['archiver', archiver],
    ['speed', speed],
  ] as const) {
    const second = await ended(started(t, ['worker', role, ...common]))
    assert.equal(second.code, 1, second.output)
    const lines = second.output.split('\n').filter((line) => line.includes('STRATA_ERR_DATA_LOCKED'))
    assert.equal(lines.length, 1, second.output)
    assert.match(
      lines[0],
      new RegExp(`in use by strata pid ${holder.child.pid} \\(strata worker ${role}, since `),
    )
  }
  assert.equal(archiver.child.exitCode, null, 'the holders go on')
  assert.equal(speed.child.exitCode, null, 'the holders go on')
})

test('strata worker serve fails on a port in use before it waits for the store', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-worker-locks-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const port = await freePort()
  // PostgreSQL where nothing listens: on the old order, serve waited for it for --startup-timeout.
  const store = `postgres://postgres@127.0.0.1:${await freePort()}/test`
  const serveArgs = ['worker', 'serve', '--config', exampleConfig, '--data', dir, '--port', String(port)]
  const first = started(t, [...serveArgs, '--store', store, '--startup-timeout', '5m'])
  await until(() => /waiting for PostgreSQL/.test(first.output()), 'the first serve to wait for the store')
  const health = await fetch(`http://127.0.0.1:${port}/health`)
  assert.equal(health.status, 503, 'bound, and starting while it waits for the store')
  // With why it is still starting: the wait's line, not only in its log (session 20).
  const body = (await health.json()) as { status: string; reason?: string }
  assert.equal(body.status, 'starting')
  assert.match(body.reason ?? '', /^waiting for PostgreSQL .*\(attempt \d+\): /)

  const second = await ended(started(t, [...serveArgs, '--store', store, '--startup-timeout', '5m']), 20_000)
  assert.equal(second.code, 1, second.output)
  assert.match(second.output, /port \d+ on 127\.0\.0\.1 is in use.*\[STRATA_ERR_PORT_IN_USE\]/)
})

test('strata worker serve says on /health why it is still starting: the brokers it waits for', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-worker-locks-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const port = await freePort()
  const brokers = `127.0.0.1:${await freePort()}`
  const serve = started(t, [
    ...['worker', 'serve', '--config', exampleConfig, '--data', dir, '--port', String(port)],
    ...['--brokers', brokers, '--startup-timeout', '5m'],
  ])
  await until(() => /waiting for Kafka/.test(serve.output()), 'serve to wait for Kafka')
  const health = await fetch(`http://127.0.0.1:${port}/health`)
  assert.equal(health.status, 503)
  const body = (await health.json()) as { status: string; reason?: string }
  assert.equal(body.status, 'starting')
  assert.ok(body.reason?.startsWith(`waiting for Kafka at ${brokers} (attempt `), body.reason)
  const ready = (await (await fetch(`http://127.0.0.1:${port}/health/ready`)).json()) as { reason?: string }
  assert.equal(ready.reason, body.reason)
})
