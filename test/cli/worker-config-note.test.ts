// `strata worker <role>` with no --config, in a folder with no ./strata.config.ts, on a data
// folder where `strata start` noted its config: before session 16 it failed with "config file not
// found" while `strata batch`, `query` and `reset` used the noted config. Every role now takes it
// by the same rule (cli/config-note.ts chooseConfig) and says so. Each role here then waits for a
// broker or a PostgreSQL where nothing listens and gives up after 1 s: what it loaded is in its log.
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { noteConfig } from '../../src/cli/config-note.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { freePort, spawnStrata } from '../helpers/process.ts'

const exampleConfig = join(import.meta.dirname, '../../examples/pageviews/strata.config.ts')

test('every strata worker role with no --config uses the config strata start noted in the data folder', {
  timeout: 120_000,
}, async (t) => {
  const defer = deferrer(t)
  const cwd = await mkdtemp(join(tmpdir(), 'strata-worker-note-'))
  defer(() => rm(cwd, { recursive: true, force: true }))
  const data = join(cwd, 'data')
  await mkdir(data)
  noteConfig(data, exampleConfig, 'strata start --demo')
  const dead = await freePort()
  const unreachable: Record<string, string[]> = {
    archiver: ['--brokers', `127.0.0.1:${dead}`],
    speed: ['--brokers', `127.0.0.1:${dead}`],
    batch: ['--store', `postgres://postgres@127.0.0.1:${dead}/test`],
    serve: ['--store', `postgres://postgres@127.0.0.1:${dead}/test`, '--port', String(await freePort())],
  }
  for (const [role, args] of Object.entries(unreachable)) {
    const run = spawnStrata(['worker', role, '--data', data, '--startup-timeout', '1s', ...args], {
      STRATA_CONFIG: '',
      STRATA_DATA: '',
    })
    defer(async () => {
      if (run.child.exitCode === null) run.child.kill('SIGKILL')
      await run.exited
    })
    // spawnStrata runs in this process's folder: the repository has no ./strata.config.ts.
    const code = await run.exited
    const output = run.output()
    assert.equal(code, 1, `${role}: ${output}`)
    assert.match(output, /no \.\/strata\.config\.ts here: using .*strata start --demo/, `${role}: ${output}`)
    assert.ok(output.includes(`config ${exampleConfig}: pageviews_by_url`), `${role}: ${output}`)
    assert.match(output, /STRATA_ERR_(KAFKA|STORE)_UNAVAILABLE/, `${role}: ${output}`)
  }
})
