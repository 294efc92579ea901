// The Spark batch engine (src/batch/spark/) on a real local Spark standalone cluster (a master and
// two one-core workers, src/spark-cluster/): for random events and views of every built-in
// aggregate, windowed and not, at a fixed horizon, the Spark engine's versions equal the local
// engine's value for value (sketches byte for byte, fold errors and event counts too), and the
// serving layer answers the same before and after switching engines; kill -9 of an executor JVM
// and of a task process mid-job (in one job) still gives the exact versions (Spark retries the
// tasks; a failed attempt's output is never counted).
//
// Mid-job: the fixture config waits while the file named by STRATA_TEST_SPARK_GATE exists (it
// does only here, around the kills), so the test finds the job's task processes blocked in their
// config load, kills, and opens the gate.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import fc from 'fast-check'
import { type BatchRunOptions, runBatch } from '../../src/batch/batch-run.ts'
import { startBatchSchedule } from '../../src/batch/schedule.ts'
import { checkMasterAnswers } from '../../src/batch/spark/spark-engine.ts'
import { compileViews } from '../../src/core/config.ts'
import { loadConfig } from '../../src/core/config-loader.ts'
import { SegmentBuilder, SegmentStore } from '../../src/master-dataset/index.ts'
import { queryView } from '../../src/serving/query.ts'
import { sparkClusterStatus, startSparkCluster } from '../../src/spark-cluster/index.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import type { Store } from '../../src/store/store.ts'
import { startTestSpark, type TestSpark } from '../helpers/spark.ts'

const HOUR = 3_600_000
const configPath = join(import.meta.dirname, 'fixtures', 'spark-views.config.ts')
const PARTITIONS = 3

let spark: TestSpark
let dir: string
let root: string
let gate: string
let horizon: number[]
let config: Awaited<ReturnType<typeof loadConfig>>
let local: string[]

// Events of the shapes the projected-fold property test draws (fields missing or of other
// kinds, keys past ASCII and a lone surrogate, nested values, non-objects), from a fixed seed.
const field = (values: fc.Arbitrary<unknown>) => fc.option(values, { nil: undefined, freq: 5 })
const eventText = fc.oneof(
  {
    weight: 20,
    arbitrary: fc
      .record({
        type: field(fc.constantFrom('page_view', 'click', 7, null)),
        url: field(
          fc.oneof(fc.constantFrom('/a', '/b', '/c', '/café', '/d\ud800'), fc.string({ maxLength: 2 })),
        ),
        user: field(fc.oneof(fc.constantFrom('u1', 'u2', 'u3'), fc.integer({ min: 0, max: 40 }))),
        n: field(
          fc.oneof(
            fc.integer({ min: -5, max: 5 }),
            fc.double({ noNaN: true, noDefaultInfinity: true }),
            fc.constant('3'),
          ),
        ),
        meta: field(fc.oneof(fc.record({ k: fc.constantFrom('x', 'y') }), fc.constant(null))),
        ts: fc.integer({ min: 0, max: 30 * HOUR }).map((t) => Date.UTC(2026, 0, 1) + t),
      })
      .map((e) => JSON.stringify(e)),
  },
  { weight: 1, arbitrary: fc.constantFrom('[1,2]', '"text"', '42', 'null') },
)

async function writeMaster(events: string[]): Promise<number[]> {
  const segments = await SegmentStore.open(root)
  const byPartition: string[][] = Array.from({ length: PARTITIONS }, () => [])
  for (const [i, e] of events.entries()) byPartition[(i * 7) % PARTITIONS]!.push(e)
  for (const [p, list] of byPartition.entries()) {
    for (let start = 0; start < list.length; start += 400) {
      const builder = new SegmentBuilder()
      const chunk = list.slice(start, start + 400)
      for (const [i, text] of chunk.entries()) {
        builder.add({
          offset: start + i,
          timestamp: Date.UTC(2026, 0, 1) + i,
          key: null,
          value: Buffer.from(text),
        })
      }
      await segments.writeSegment(p, { start, end: start + chunk.length }, builder.data(), builder.packer())
    }
  }
  // A fixed horizon short of the end: the last segment of each partition only partly below it.
  return byPartition.map((list) => list.length - 150)
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strata-spark-batch-'))
  root = join(dir, 'master')
  gate = join(dir, 'gate')
  // Reaches the task processes through the workers' environment (spark-cluster/cluster.ts).
  process.env['STRATA_TEST_SPARK_GATE'] = gate
  // Loaded once, before any gate exists (the fixture waits at the gate while it is loaded).
  config = await loadConfig(configPath)
  spark = await startTestSpark()
  horizon = await writeMaster(fc.sample(eventText, { numRuns: 4500, seed: 16 }))
  // The reference: the local engine's versions at the same horizon.
  const localStore = await run('local')
  local = await dump(localStore)
  await localStore.close()
})

after(async () => {
  await spark?.stop()
  await rm(dir, { recursive: true, force: true })
})

async function run(name: string, options: Partial<BatchRunOptions> = {}): Promise<Store> {
  const store = await openLmdbStore(join(dir, `store-${name}`))
  await runBatch({
    config,
    configPath,
    root,
    store,
    horizon,
    threads: 2,
    ...options,
  })
  return store
}

const sparkOptions = (): Partial<BatchRunOptions> => ({
  engine: 'spark',
  spark: { master: spark.cluster.master, basePort: spark.driverPort },
})

/** Every served version as data: meta (less its run's times and number) and sorted entries. */
async function dump(store: Store): Promise<string[]> {
  const out: string[] = []
  for (const meta of (await store.listBatchViews()).sort((a, b) => (a.view < b.view ? -1 : 1))) {
    const { startedAt: _s, completedAt: _c, version: _v, ...rest } = meta
    out.push(JSON.stringify(rest))
    const entries: string[] = []
    for await (const e of store.scanBatch(meta.view, meta.version))
      entries.push(JSON.stringify([e.window, e.key, e.state]))
    out.push(...entries.sort())
  }
  return out
}

// One store, as a deployment switching engines has: the local engine's versions served first, then
// the Spark engine's (forced, same horizon) flipped in; the versions and every answer are equal.
test("spark engine: the versions equal the local engine's, value for value, and serving answers the same", async () => {
  const views = compileViews(config)
  assert.equal(local.filter((l) => l.startsWith('{"view"')).length, views.length)
  // The fixture exercises what it claims: fold errors on some events.
  assert.ok(
    local.some((l) => l.includes('"foldErrors":{"count":')),
    'a view threw on some events',
  )
  const store = await openLmdbStore(join(dir, 'store-local'))
  const keys = ['/a', '/b', '/café', '/d\ud800', 'all', 'page_view', 'x']
  const answers = async () => {
    const out: string[] = []
    for (const view of views)
      for (const key of keys) {
        const { batch, ...answer } = await queryView(store, view, key)
        out.push(JSON.stringify({ ...answer, horizon: batch?.horizon, codeHash: batch?.codeHash }))
      }
    return out
  }
  const before = await answers()
  assert.ok(before.some((a) => a.includes('"value"') || a.includes('"windows":[{')))
  const versions = (await store.listBatchViews()).map((m) => m.version)
  await runBatch({ config, configPath, root, store, horizon, force: true, ...sparkOptions() })
  // New versions were flipped in, and they hold what the local engine's did.
  const after = (await store.listBatchViews()).map((m) => m.version)
  assert.ok(
    after.every((v, i) => v > versions[i]!),
    `versions ${versions} -> ${after}`,
  )
  assert.deepEqual(await dump(store), local)
  assert.deepEqual(await answers(), before)
  await store.close()
})

/** Pids of processes whose arguments (each whole) include every one of `args`. */
async function pidsOf(...args: string[]): Promise<number[]> {
  const pids: number[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const argv = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).split('\0')
    if (args.every((a) => argv.includes(a))) pids.push(Number(name))
  }
  return pids
}

const strataBin = join(import.meta.dirname, '..', '..', 'bin', 'strata.js')
const foldTasks = () => pidsOf(strataBin, 'task', 'fold')

/**
 * Runs the Spark engine with the gate closed; `kill` runs once fold task processes wait at it.
 * Resolves with the store and the driver's output (where Spark reports the lost task).
 */
async function runWithKill(
  name: string,
  kill: () => Promise<void>,
): Promise<{ store: Store; driver: string[] }> {
  await writeFile(gate, '')
  const driver: string[] = []
  const options = sparkOptions()
  const running = run(name, {
    ...options,
    spark: { ...options.spark!, onDriverOutput: (l) => driver.push(l) },
  })
  // The run must end (and its driver with it) whatever happens here.
  running.catch(() => undefined)
  try {
    const deadline = Date.now() + 120_000
    while ((await foldTasks()).length === 0) {
      if (Date.now() > deadline) throw new Error('no fold task process appeared')
      await sleep(200)
    }
    await kill()
  } finally {
    await rm(gate, { force: true })
  }
  return { store: await running, driver }
}

const workerUrls = () => spark.cluster.workers.map((w) => `spark://Worker@127.0.0.1:${w.port}`)

/** Pid of `pid`'s parent, from /proc (undefined once it is gone). */
async function parentOf(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  return stat === '' ? undefined : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
}

// Both kinds of loss in one job (a job's start is most of its cost: a driver and two executor
// JVMs): a fold task process on one executor killed -9, and the other executor's JVM killed -9.
// Spark retries both tasks; the versions must still be exact, and the driver must report each
// loss for what it is (a task exiting 137; an executor lost).
test('spark engine: kill -9 of a task process and of an executor JVM mid-job still gives the exact versions', async () => {
  const { store, driver } = await runWithKill('kills', async () => {
    const executors: number[] = []
    for (const url of workerUrls())
      executors.push(...(await pidsOf('org.apache.spark.executor.CoarseGrainedExecutorBackend', url)))
    assert.equal(executors.length, 2, `executors of this cluster: ${executors}`)
    // A task process of one executor (its parent), then the other executor whole.
    for (const deadline = Date.now() + 60_000; ; await sleep(200)) {
      for (const task of await foldTasks()) {
        const parent = await parentOf(task)
        const other = executors.find((e) => e !== parent)
        if (parent === undefined || !executors.includes(parent) || other === undefined) continue
        process.kill(task, 'SIGKILL')
        process.kill(other, 'SIGKILL')
        return
      }
      if (Date.now() > deadline) throw new Error('no fold task process under an executor of this cluster')
    }
  })
  // The pipe saw its process exit non-zero: the attempt failed, its output dropped, and retried.
  assert.ok(
    driver.some((l) => /Lost task .*exited with status 137|Lost task .*137/.test(l)),
    `the driver reported no failed task:\n${driver.slice(-20).join('\n')}`,
  )
  // Spark saw the executor go and ran its tasks again elsewhere. An executor killed after the
  // scheduler had already let it go (no task on it) is "Lost an executor N (already removed)"
  // (TaskSchedulerImpl): a fresh-clone run under load met that wording.
  assert.ok(
    driver.some((l) => /Lost (an )?executor|ExecutorLostFailure/.test(l)),
    `the driver reported no lost executor:\n${driver.join('\n')}`,
  )
  assert.deepEqual(await dump(store), local)
  await store.close()
})

test('spark cluster: a second start reports the running cluster; status sees the master and both workers', async () => {
  const port = Number(new URL(spark.cluster.master.replace('spark:', 'http:')).port)
  const again = await startSparkCluster({ port, dir: spark.dir })
  assert.equal(again.alreadyRunning, true)
  const status = await sparkClusterStatus({ port, dir: spark.dir })
  assert.equal(status.answers, true)
  assert.equal(status.aliveWorkers, 2)
  assert.deepEqual(
    status.processes.map((p) => [p.name, p.alive]),
    [
      ['master', true],
      ['worker-1', true],
      ['worker-2', true],
    ],
  )
})

/** Pids of BatchDriver JVMs whose parent is `parent`. */
async function driversOf(parent: number): Promise<number[]> {
  const out: number[] = []
  for (const pid of await pidsOf('dev.strata.spark.BatchDriver')) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) out.push(pid)
  }
  return out
}

/** Alive, and not a zombie. */
async function isRunning(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
}

// The driver never outlives the process that started it (docs/one-writer.md): a Spark run in a
// child process, mid-job (its fold tasks held at the gate), killed by `signal`; its BatchDriver
// JVM must end too (the child's stdin pipe closes: the driver's watchdog exits).
for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
  test(`spark engine: ${signal} to the process running the job ends its driver JVM`, async () => {
    // A previous test's task processes, let through its gate, end first.
    for (const until = Date.now() + 30_000; (await foldTasks()).length > 0 && Date.now() < until; )
      await sleep(200)
    await writeFile(gate, '')
    const src = (path: string) => JSON.stringify(join(import.meta.dirname, '..', '..', 'src', path))
    const script = `
      import { runBatch } from ${src('batch/batch-run.ts')}
      import { loadConfig } from ${src('core/config-loader.ts')}
      import { openLmdbStore } from ${src('store/lmdb-store.ts')}
      const configPath = ${JSON.stringify(configPath)}
      await runBatch({
        config: await loadConfig(configPath), configPath, root: ${JSON.stringify(root)},
        store: await openLmdbStore(${JSON.stringify(join(dir, `store-child-${signal}`))}),
        horizon: ${JSON.stringify(horizon)}, engine: 'spark',
        spark: { master: ${JSON.stringify(spark.cluster.master)}, basePort: ${spark.driverPort} },
      })`
    // The gate is for the task processes only: this child's own config load must not wait.
    const env = { ...process.env }
    delete env['STRATA_TEST_SPARK_GATE']
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env,
    })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    let driver: number | undefined
    try {
      const deadline = Date.now() + 120_000
      // Mid-job: this child's driver runs, and fold tasks wait at the gate (a previous test's
      // task processes may still be ending, hence the driver first).
      for (;;) {
        driver = (await driversOf(child.pid!))[0]
        if (driver !== undefined) break
        if (Date.now() > deadline) throw new Error('the child started no BatchDriver JVM')
        await sleep(200)
      }
      while ((await foldTasks()).length === 0) {
        if (Date.now() > deadline) throw new Error('no fold task process appeared')
        await sleep(200)
      }
      child.kill(signal)
      await exited
      // A hang check, not a timing: the driver is gone well within 30 s.
      const gone = Date.now() + 30_000
      while ((await isRunning(driver)) && Date.now() < gone) await sleep(200)
      assert.equal(await isRunning(driver), false, `driver ${driver} outlived its parent`)
    } finally {
      if (driver !== undefined && (await isRunning(driver))) process.kill(driver, 'SIGKILL')
      child.kill('SIGKILL')
      await rm(gate, { force: true })
    }
  })
}

test("spark engine: a spark:// URL on the master's web UI port is refused before any job", async () => {
  const port = Number(new URL(spark.cluster.master.replace('spark:', 'http:')).port)
  await assert.rejects(
    checkMasterAnswers(`spark://127.0.0.1:${port + 1}`),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, 'STRATA_ERR_INVALID_ARGUMENT')
      assert.match(error.message, new RegExp(`answers HTTP.*spark://127\\.0\\.0\\.1:${port}\\b`))
      return true
    },
  )
  await checkMasterAnswers(spark.cluster.master)
})

// Every fold task fails (the config file on the executors defines count_h otherwise than the run's
// config: STRATA_ERR_CONFIG_CHANGED in the task process): with no retry allowed the job fails, and
// the run fails with STRATA_ERR_SPARK having staged nothing.
test('spark engine: a job whose tasks keep failing fails the run, and nothing is staged', async () => {
  const edited = join(dir, 'edited.config.ts')
  const text = (await readFile(configPath, 'utf8'))
    .replace("'../../../src/config.ts'", `'${join(import.meta.dirname, '..', '..', 'src', 'config.ts')}'`)
    .replace("window(tumbling('1h'))", "window(tumbling('2h'))")
  await writeFile(edited, text)
  const store = await openLmdbStore(join(dir, 'store-failing'))
  try {
    const options = sparkOptions()
    await assert.rejects(
      runBatch({
        config: await loadConfig(edited),
        configPath,
        root,
        store,
        horizon,
        engine: 'spark',
        spark: { ...options.spark!, maxFailures: 1 },
      }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'STRATA_ERR_SPARK')
        assert.match(error.message, /the Spark job on spark:\/\/127\.0\.0\.1:\d+ failed/)
        return true
      },
    )
    assert.deepEqual(await store.listBatchViews(), [])
  } finally {
    await store.close()
  }
})

// `strata worker batch` stopping (SIGTERM → the schedule's close): a Spark run in progress ends
// now, its driver killed, the run failed and nothing staged, instead of close waiting for the job.
test('spark engine: closing the batch schedule ends a Spark run in progress, nothing staged', async () => {
  for (const until = Date.now() + 30_000; (await foldTasks()).length > 0 && Date.now() < until; )
    await sleep(200)
  await writeFile(gate, '')
  const store = await openLmdbStore(join(dir, 'store-schedule'))
  const schedule = startBatchSchedule({
    config,
    configPath,
    root,
    store,
    horizon,
    intervalMs: 3_600_000,
    ...sparkOptions(),
  })
  const running = schedule.runNow()
  running.catch(() => undefined)
  try {
    const deadline = Date.now() + 120_000
    while ((await driversOf(process.pid)).length === 0 || (await foldTasks()).length === 0) {
      if (Date.now() > deadline) throw new Error('no driver and fold task process appeared')
      await sleep(200)
    }
    const drivers = await driversOf(process.pid)
    await schedule.close()
    await assert.rejects(running, (error: Error & { code?: string }) => {
      assert.equal(error.code, 'STRATA_ERR_SPARK')
      assert.match(error.message, /was stopped \(shutdown\) before it finished; nothing was staged/)
      return true
    })
    for (const pid of drivers) assert.equal(await isRunning(pid), false, `driver ${pid} still runs`)
    assert.deepEqual(await store.listBatchViews(), [])
  } finally {
    await rm(gate, { force: true })
    await store.close()
  }
})

// Last: it kills the cluster's workers. With every worker dead mid-job, Spark would wait for
// resources forever; the driver fails the job once no executor was registered for noExecutorMs.
test('spark engine: every worker killed mid-job fails the run with STRATA_ERR_SPARK, nothing staged', async () => {
  const port = Number(new URL(spark.cluster.master.replace('spark:', 'http:')).port)
  const workerPids = (await sparkClusterStatus({ port, dir: spark.dir })).processes
    .filter((p) => p.name.startsWith('worker-'))
    .map((p) => p.pid)
  assert.equal(workerPids.filter((p) => p !== undefined).length, 2)
  await writeFile(gate, '')
  const driver: string[] = []
  const store = await openLmdbStore(join(dir, 'store-no-workers'))
  const options = sparkOptions()
  const running = runBatch({
    config,
    configPath,
    root,
    store,
    horizon,
    engine: 'spark',
    spark: { ...options.spark!, noExecutorMs: 5000, progressMs: 1000, onDriverOutput: (l) => driver.push(l) },
  })
  running.catch(() => undefined)
  try {
    const deadline = Date.now() + 120_000
    while ((await foldTasks()).length === 0) {
      if (Date.now() > deadline) throw new Error('no fold task process appeared')
      await sleep(200)
    }
    for (const pid of workerPids) process.kill(pid!, 'SIGKILL')
    for (const url of workerUrls())
      for (const pid of await pidsOf('org.apache.spark.executor.CoarseGrainedExecutorBackend', url))
        process.kill(pid, 'SIGKILL')
  } finally {
    await rm(gate, { force: true })
  }
  await assert.rejects(running, (error: Error & { code?: string }) => {
    assert.equal(error.code, 'STRATA_ERR_SPARK')
    assert.match(error.message, /no executor for 5 s: are the workers up\? strata spark status/)
    return true
  })
  // The job was visibly alive before: the driver logged its progress.
  assert.ok(
    driver.some((l) => /strata-batch: progress: \d+ executors; stage \d+: \d+\/\d+ tasks done/.test(l)),
    driver.slice(-20).join('\n'),
  )
  assert.deepEqual(await store.listBatchViews(), [])
  await store.close()
})
