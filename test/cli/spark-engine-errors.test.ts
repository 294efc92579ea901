// The Spark engine's refusals at the command line (docs/batch-on-spark.md#errors): one line with a
// code and the flag it is about, before anything is folded or staged; `strata spark status` on a
// port with no cluster says so and exits 3. No Spark JVM is started here.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { DRIVER_ERROR_LINE } from '../../src/batch/spark/spark-engine.ts'
import { resolveEngine } from '../../src/cli/engine-flags.ts'
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
  await fails(
    [...base, '--spark-no-executor', '30s'],
    'STRATA_ERR_INVALID_ARGUMENT',
    /--spark-no-executor go with --engine spark/,
  )
  await fails(
    [...base, '--engine', 'spark', '--spark-master', 'spark://127.0.0.1:1', '--spark-no-executor', '1.5m'],
    'STRATA_ERR_INVALID_ARGUMENT',
    /--spark-no-executor must look like '500ms', '30s'/,
  )
})

test('--spark-no-executor (or STRATA_SPARK_NO_EXECUTOR) reaches the Spark engine as milliseconds', () => {
  const master = 'spark://127.0.0.1:7077'
  assert.equal(
    resolveEngine({ engine: 'spark', sparkMaster: master, sparkNoExecutor: '30s' }).spark?.noExecutorMs,
    30_000,
  )
  assert.equal(resolveEngine({ engine: 'spark', sparkMaster: master }).spark?.noExecutorMs, undefined)
  process.env['STRATA_SPARK_NO_EXECUTOR'] = '5m'
  try {
    assert.equal(resolveEngine({ engine: 'spark', sparkMaster: master }).spark?.noExecutorMs, 300_000)
    assert.equal(
      resolveEngine({ engine: 'spark', sparkMaster: master, sparkNoExecutor: '10s' }).spark?.noExecutorMs,
      10_000,
    )
  } finally {
    delete process.env['STRATA_SPARK_NO_EXECUTOR']
  }
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

// A master's web UI port accepts connections: only an HTTP answer tells it from the RPC port
// (a driver pointed there failed after 79 s with "SparkContext has been shutdown").
test('strata batch --engine spark on a web UI port: STRATA_ERR_INVALID_ARGUMENT, naming the likely master port', async (t) => {
  const dir = await data(t)
  const ui = createServer((_req, res) => res.end('<html>Spark Master at spark://127.0.0.1:7077</html>'))
  await new Promise<void>((resolve) => ui.listen(0, '127.0.0.1', resolve))
  t.after(() => ui.close())
  const port = (ui.address() as { port: number }).port
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
    'STRATA_ERR_INVALID_ARGUMENT',
    new RegExp(`port ${port} answers HTTP.*not the master's RPC port \\(spark://127\\.0\\.0\\.1:${port - 1}`),
  )
})

test("the Spark engine's failure message keeps the driver lines that say why, whatever their case", () => {
  for (const line of [
    '25/12/06 07:00:00 ERROR StandaloneSchedulerBackend: Application has been killed. Reason: All masters are unresponsive! Giving up.',
    'java.lang.IllegalStateException: Cannot call methods on a stopped SparkContext.',
    'strata-batch: ERROR no executor for 5 s: are the workers up? strata spark status',
    '25/12/06 07:00:00 WARN StandaloneAppClient$ClientEndpoint: Failed to connect to master 127.0.0.1:8081',
  ])
    assert.match(line, DRIVER_ERROR_LINE)
  assert.doesNotMatch('25/12/06 07:00:00 INFO SparkContext: Running Spark version 4.0.1', DRIVER_ERROR_LINE)
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
