// A PostgreSQL (or a proxy before it) that takes the connection and never answers held `strata
// start --store postgres://…` with no word until a signal: the store's open had no bound, since
// it migrates. Its first answer (connect and a first query) is now bounded by --startup-timeout
// (store/postgres/first-answer.ts): one line with STRATA_ERR_STORE_UNAVAILABLE naming the server
// and the database, exit 1, the data folder's lock released. `strata query` and a one-off
// `strata batch` had no bound at all (session 18): the same flag, the same line.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { lockFolder } from '../../src/runtime/data-lock.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { giveUpLine, listenHung } from '../helpers/hung-server.ts'
import { freePort } from '../helpers/process.ts'

const exampleConfig = fileURLToPath(new URL('../../examples/pageviews/strata.config.ts', import.meta.url))

for (const [name, command, serves] of [
  ['strata start', ['start'], true],
  ['strata worker serve', ['worker', 'serve'], true],
  ['strata query', ['query', 'pageviews_by_url', '/a'], false],
  ['strata batch', ['batch'], false],
] as const) {
  test(`${name} on a PostgreSQL that never answers gives up after --startup-timeout with a code naming it`, {
    timeout: 120_000,
  }, async (t) => {
    const defer = deferrer(t)
    const dir = await mkdtemp(join(tmpdir(), 'strata-hung-store-'))
    defer(() => rm(dir, { recursive: true, force: true }))
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
        '--store',
        `postgres://strata:s3cret@127.0.0.1:${port}/analytics`,
        '--startup-timeout',
        '3s',
        ...(serves ? ['--port', String(await freePort())] : []),
      ],
      sockets,
    )
    assert.match(
      line,
      new RegExp(
        `^strata: PostgreSQL at 127\\.0\\.0\\.1:${port}, database analytics did not answer within 3s \\(connect and a first query; nothing was migrated\\): gave up starting \\(--startup-timeout\\) \\[STRATA_ERR_STORE_UNAVAILABLE\\]$`,
      ),
    )
    assert.doesNotMatch(line, /s3cret/)
    lockFolder(data, 'the test').release()
  })
}
