// Regression (fault suite, issue 7 follow-up): `strata worker batch` exited 1 between runs. Its
// schedule's timer is unref'd, so once the store held no open connection (PostgreSQL's pool
// closes idle ones after 10 s; a restart closes them all; LMDB never holds one) the event loop
// emptied and the worker "ended by itself" before its next run, 13 times in the long run. A
// worker runs until a signal; SIGTERM still ends it with 0.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { deferrer } from '../helpers/cleanup.ts'

const strata = new URL('../../bin/strata.js', import.meta.url).pathname
const config = new URL('../../examples/pageviews/strata.config.ts', import.meta.url).pathname

test('strata worker batch stays up between runs with nothing holding the event loop', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-batch-worker-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const child = spawn(
    process.execPath,
    [strata, 'worker', 'batch', '--config', config, '--data', dir, '--batch-interval', '1h'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, STRATA_STORE: '', STRATA_BROKERS: '' } },
  )
  let output = ''
  child.stderr.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  defer(() => child.kill('SIGKILL'))
  // The first run happens at once; before the fix the process ended right after it.
  while (!output.includes('batch:') && child.exitCode === null) await new Promise((r) => setTimeout(r, 20))
  const early = await Promise.race([exited, new Promise((r) => setTimeout(() => r('running'), 2_000))])
  assert.equal(early, 'running', `the worker exited by itself:\n${output}`)
  child.kill('SIGTERM')
  assert.equal(await exited, 0, output)
  assert.doesNotMatch(output, /nothing is running any more/)
})
