// The Spark engine's refusals at the command line (docs/batch-on-spark.md#errors): one line with a
// code and the flag it is about, before anything is folded or staged; `strata spark status` on a
// port with no cluster says so and exits 3. No Spark JVM is started here.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { freePort, spawnStrata } from '../helpers/process.ts'

const config = join(import.meta.dirname, '..', 'batch', 'fixtures', 'spark-views.config.ts')

async function data(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-spark-cli-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function fails(args: string[], code: string, text: RegExp): Promise<void> {
  const run = spawnStrata(args)
  assert.equal(await run.exited, 1, run.output())
  const line = run
    .output()
    .split('\n')
    .find((l) => l.includes(`[${code}]`))
  assert.ok(line, run.output())
  assert.match(line, text)
}

test('strata batch --engine: an unknown engine, a missing or malformed master, flags without the engine', async (t) => {
  const dir = await data(t)
  const base = ['batch', '--config', config, '--data', dir]
  await fails(
    [...base, '--engine', 'flink'],
    'STRATA_ERR_INVALID_ARGUMENT',
    /--engine flink: not one of local, spark/,
  )
  await fails([...base, '--engine', 'spark'], 'STRATA_ERR_INVALID_ARGUMENT', /needs --spark-master/)
  await fails(
    [...base, '--engine', 'spark', '--spark-master', 'http://127.0.0.1:1'],
    'STRATA_ERR_INVALID_ARGUMENT',
    /not a Spark standalone master URL/,
  )
  await fails(
    [...base, '--spark-master', 'spark://127.0.0.1:1'],
    'STRATA_ERR_INVALID_ARGUMENT',
    /go with --engine spark/,
  )
})

test('strata batch --engine spark on a master that does not answer: STRATA_ERR_SPARK_UNAVAILABLE, naming it', async (t) => {
  const dir = await data(t)
  const port = await freePort()
  await fails(
    [
      'batch',
      '--config',
      config,
      '--data',
      dir,
      '--engine',
      'spark',
      '--spark-master',
      `spark://127.0.0.1:${port}`,
    ],
    'STRATA_ERR_SPARK_UNAVAILABLE',
    new RegExp(`spark://127\\.0\\.0\\.1:${port} does not answer.*strata spark start --port ${port}`),
  )
})

test('strata worker: --engine spark is refused on a role other than batch', async (t) => {
  const dir = await data(t)
  await fails(
    [
      'worker',
      'archiver',
      '--config',
      config,
      '--data',
      dir,
      '--engine',
      'spark',
      '--spark-master',
      'spark://127.0.0.1:1',
    ],
    'STRATA_ERR_INVALID_ARGUMENT',
    /--engine spark is for the batch role, not archiver/,
  )
})

test('strata spark status with no cluster on the port: not answering, exit 3', async (t) => {
  const home = await data(t)
  const port = await freePort()
  const run = spawnStrata(['spark', 'status', '--port', String(port)], { STRATA_HOME: home })
  assert.equal(await run.exited, 3, run.output())
  assert.match(run.output(), new RegExp(`spark://127\\.0\\.0\\.1:${port}: does not answer`))
  assert.match(run.output(), /master +not running/)
})
