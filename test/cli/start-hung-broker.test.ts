// A broker (or a proxy before it) that takes the connection and never answers: `strata start
// --brokers` on one waited with no word until a signal (seen: 319 s), and `strata worker` past its
// --startup-timeout, since the timeout ended only the waits between attempts. A step on Kafka is
// now bounded by --startup-timeout: one line with STRATA_ERR_KAFKA_UNAVAILABLE naming the broker,
// exit 1, the data folder's lock released, no config note and no source identity written.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { lockFolder } from '../../src/runtime/data-lock.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { freePort, spawnStrata } from '../helpers/process.ts'

const exampleConfig = fileURLToPath(new URL('../../examples/pageviews/strata.config.ts', import.meta.url))

for (const [name, command] of [
  ['strata start', ['start']],
  ['strata worker archiver', ['worker', 'archiver']],
] as const) {
  test(`${name} on a broker that never answers gives up after --startup-timeout with a code`, {
    timeout: 120_000,
  }, async (t) => {
    const defer = deferrer(t)
    const dir = await mkdtemp(join(tmpdir(), 'strata-hung-broker-'))
    defer(() => rm(dir, { recursive: true, force: true }))
    // The fake broker: accepts, never writes a byte.
    const sockets: Socket[] = []
    const hung = createServer((socket) => sockets.push(socket))
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve))
    defer(() => {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => hung.close(resolve))
    })
    const { port } = hung.address() as { port: number }
    const data = join(dir, 'data')
    const run = spawnStrata([
      ...command,
      '--config',
      exampleConfig,
      '--data',
      data,
      '--brokers',
      `127.0.0.1:${port}`,
      '--startup-timeout',
      '3s',
      ...(command[0] === 'start' ? ['--port', String(await freePort())] : []),
    ])
    defer(async () => {
      if (run.child.exitCode === null) run.child.kill('SIGKILL')
      await run.exited
    })
    const code = await Promise.race([
      run.exited,
      new Promise<'still waiting'>((r) => setTimeout(r, 60_000, 'still waiting').unref()),
    ])
    assert.equal(code, 1, run.output())
    assert.ok(sockets.length > 0, `it never connected: ${run.output()}`)
    const lines = run.output().match(/^strata: .*$/gm) ?? []
    assert.equal(lines.length, 1, run.output())
    assert.match(
      lines[0]!,
      new RegExp(
        `^strata: Kafka at 127\\.0\\.0\\.1:${port} did not answer within 3s( \\(attempt \\d+\\))?: gave up starting \\(--startup-timeout\\) \\[STRATA_ERR_KAFKA_UNAVAILABLE\\]$`,
      ),
    )
    // Nothing half-written: no config note, no source identity; the lock is free.
    const written = existsSync(data) ? await readdir(data) : []
    assert.deepEqual(
      written.filter((entry) => entry !== 'store' && !entry.startsWith('strata.lock')),
      [],
      'only the empty store strata start opens before Kafka, and the lock files',
    )
    lockFolder(data, 'the test').release()
  })
}
