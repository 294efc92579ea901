// A broker (or a proxy before it) that takes the connection and never answers: `strata start
// --brokers` on one waited with no word until a signal (seen: 319 s), and `strata worker` past its
// --startup-timeout, since the timeout ended only the waits between attempts. A step on Kafka is
// now bounded by --startup-timeout: one line with STRATA_ERR_KAFKA_UNAVAILABLE naming the broker,
// exit 1, the data folder's lock released, no config note and no source identity written.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { lockFolder } from '../../src/runtime/data-lock.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { giveUpLine, listenHung } from '../helpers/hung-server.ts'
import { freePort } from '../helpers/process.ts'

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
    const { port, sockets } = await listenHung(t)
    const data = join(dir, 'data')
    const line = await giveUpLine(
      t,
      [
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
      ],
      sockets,
    )
    assert.match(
      line,
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
