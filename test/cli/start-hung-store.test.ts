// A PostgreSQL (or a proxy before it) that takes the connection and never answers held `strata
// start --store postgres://…` with no word until a signal: the store's open had no bound, since
// it migrates. Its first answer (connect and a first query) is now bounded by --startup-timeout
// (store/postgres/first-answer.ts): one line with STRATA_ERR_STORE_UNAVAILABLE naming the server
// and the database, exit 1, the data folder's lock released.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { lockFolder } from '../../src/runtime/data-lock.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { spawnStrata } from '../helpers/process.ts'

const exampleConfig = fileURLToPath(new URL('../../examples/pageviews/strata.config.ts', import.meta.url))
// Helper 5's ports (2500-2599).
const HUNG_PORT = 2561
const HTTP_PORT = 2562

for (const [name, command] of [
  ['strata start', ['start']],
  ['strata worker serve', ['worker', 'serve']],
] as const) {
  test(`${name} on a PostgreSQL that never answers gives up after --startup-timeout with a code naming it`, {
    timeout: 120_000,
  }, async (t) => {
    const defer = deferrer(t)
    const dir = await mkdtemp(join(tmpdir(), 'strata-hung-store-'))
    defer(() => rm(dir, { recursive: true, force: true }))
    const sockets: Socket[] = []
    const hung = createServer((socket) => {
      sockets.push(socket)
      socket.resume()
    })
    await new Promise<void>((resolve) => hung.listen(HUNG_PORT, '127.0.0.1', resolve))
    defer(() => {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => hung.close(() => resolve(undefined)))
    })
    const data = join(dir, 'data')
    const run = spawnStrata([
      ...command,
      '--config',
      exampleConfig,
      '--data',
      data,
      '--store',
      `postgres://strata:s3cret@127.0.0.1:${HUNG_PORT}/analytics`,
      '--startup-timeout',
      '3s',
      '--port',
      String(HTTP_PORT),
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
        `^strata: PostgreSQL at 127\\.0\\.0\\.1:${HUNG_PORT}, database analytics did not answer within 3s \\(connect and a first query; nothing was migrated\\): gave up starting \\(--startup-timeout\\) \\[STRATA_ERR_STORE_UNAVAILABLE\\]$`,
      ),
    )
    assert.doesNotMatch(run.output(), /s3cret/)
    lockFolder(data, 'the test').release()
  })
}
