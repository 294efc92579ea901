// The batch layer's Spark engine (docs/batch-on-spark.md): the fold and the combine of a batch run
// done by an Apache Spark job instead of this process's worker threads. Everything around them —
// the horizon, which views are stale, staging the version, the flip, the completion and results,
// rule 6 — is batch-run.ts's, the same code path as the local engine's.
//
// This process writes the fold tasks to a file and runs the driver (tools/spark-driver/) in client
// mode: `java -cp <Spark's jars>/*:<driver jar> dev.strata.spark.BatchDriver …`. The driver pipes
// the tasks through `strata task fold` on the executors, shuffles the states by group, pipes them
// through `strata task combine`, and writes the combined lines to a file, which is read here once
// the driver exited 0 (it renames the file into place only after the job succeeded).
import { spawn } from 'node:child_process'
import { createReadStream } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CompiledView } from '../../core/compiled-view.ts'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import { RECENT_ERRORS } from '../../core/view-errors.ts'
import { findProjectRoot, javaBin } from '../../kafka-cluster/index.ts'
import type { S3Settings } from '../../master-dataset/index.ts'
import { ensureSparkJars } from '../../spark-cluster/index.ts'
import type { ViewEntry } from '../../store/store.ts'
import type { FoldErrors } from '../partition-fold.ts'
import { ensureDriverJar } from './driver-jar.ts'
import {
  asciiJson,
  META_GROUP,
  parseGroup,
  type SparkFoldTask,
  splitTabs,
  type TaskMeta,
} from './protocol.ts'
import { readLines } from './task-io.ts'

export interface SparkEngineOptions {
  /** The master: spark://host:port (a standalone cluster), or local[n] for one JVM. */
  master: string
  /**
   * The first of the driver's ports: the driver's RPC port, its block manager's (+1), and the
   * executors' block managers from +2 (Spark tries upward when one is taken). Default: ports
   * Spark picks. The driver's web UI is off.
   */
  basePort?: number
  /** Shuffle partitions, so combine tasks (default: the fold tasks' count, at least 2). */
  combinePartitions?: number
  /** Memory per executor (default 512m: the local cluster's workers offer 1g each). */
  executorMemory?: string
  /** Retries of a task before the job fails (spark.task.maxFailures; default 4). */
  maxFailures?: number
  /** The Node binary the executors run task processes with (default: this process's). */
  node?: string
  /** bin/strata.js on the executors (default: this package's). */
  strata?: string
  /** Spark's jars for the driver (default: Maven's copy of tools/spark/pom.xml, as `strata spark start`). */
  jarsDir?: string
  /**
   * How long the job may have no executor registered (every worker dead, or none up) before the
   * driver fails it (default 120 s): Spark itself would wait for resources forever.
   */
  noExecutorMs?: number
  /** How often the driver logs the job's progress (stages, tasks done) at info (default 10 s). */
  progressMs?: number
  /** Ends a run in progress (the driver is killed, the run fails, nothing is staged): a shutdown. */
  signal?: AbortSignal
  /** Lines of the driver's output (Spark's log) as they come, for a log or a test. */
  onDriverOutput?: (line: string) => void
  /** A progress line (jars resolved, driver built), for a CLI. */
  log?: (line: string) => void
}

export interface SparkFoldInput {
  configPath: string
  views: ReadonlyArray<CompiledView<any, any>>
  root: string
  horizon: readonly number[]
  s3?: S3Settings
}

export interface SparkFoldOutput {
  events: number
  /** Per view, in the order given: the combined entries and its fold errors. */
  entries: ViewEntry[][]
  errors: FoldErrors[]
}

// The --add-opens Spark's own launcher gives a driver on Java 17 (launcher/JavaModuleOptions).
const JAVA_MODULE_OPTIONS = [
  '-XX:+IgnoreUnrecognizedVMOptions',
  ...[
    'java.lang',
    'java.lang.invoke',
    'java.lang.reflect',
    'java.io',
    'java.net',
    'java.nio',
    'java.util',
    'java.util.concurrent',
    'java.util.concurrent.atomic',
    'jdk.internal.ref',
    'sun.nio.ch',
    'sun.nio.cs',
    'sun.security.action',
    'sun.util.calendar',
  ].map((p) => `--add-opens=java.base/${p}=ALL-UNNAMED`),
  '-Djdk.reflect.useDirectMethodHandle=false',
  '-Dio.netty.tryReflectionSetAccessible=true',
]

/** Environment the executors' task processes need and get from this process: object storage's. */
const EXECUTOR_ENV = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_REGION',
  'AWS_PROFILE',
  'AWS_ENDPOINT_URL',
  'STRATA_S3_ENDPOINT',
  'STRATA_S3_PATH_STYLE',
]

export async function runSparkFold(
  input: SparkFoldInput,
  options: SparkEngineOptions,
): Promise<SparkFoldOutput> {
  await checkMasterAnswers(options.master)
  const log = options.log ?? (() => {})
  const jarsDir = options.jarsDir ?? (await ensureSparkJars({ log })).libDir
  const driverJar = await ensureDriverJar({ log })
  const viewHashes = input.views.map((v) => ({ view: v.name, codeHash: v.codeHash }))
  const tasks: SparkFoldTask[] = input.horizon
    .map((to, partition) => ({
      configPath: input.configPath,
      views: viewHashes,
      root: input.root,
      partition,
      to,
      ...(input.s3 ? { s3: input.s3 } : {}),
    }))
    .filter((t) => t.to > 0)
  const work = await mkdtemp(join(tmpdir(), 'strata-spark-batch-'))
  try {
    const tasksFile = join(work, 'tasks.ndjson')
    const outFile = join(work, 'combined.tsv')
    await writeFile(tasksFile, tasks.map((t) => `${asciiJson(t)}\n`).join(''))
    const node = options.node ?? process.execPath
    const strata = options.strata ?? join(findProjectRoot(), 'bin', 'strata.js')
    // Node 24 runs the TypeScript sources; the launcher would re-exec an older node itself.
    const fold = [node, strata, '--log-level', 'warn', 'task', 'fold']
    const combine = [
      node,
      strata,
      '--log-level',
      'warn',
      'task',
      'combine',
      '--config',
      input.configPath,
      '--views',
      asciiJson(viewHashes),
    ]
    const partitions = options.combinePartitions ?? Math.max(2, tasks.length)
    await runDriver(options, jarsDir, driverJar, [
      tasksFile,
      outFile,
      String(partitions),
      fold.join('\u001f'),
      combine.join('\u001f'),
    ])
    return await readCombined(outFile, input.views.length)
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

function sparkConf(options: SparkEngineOptions, driverJar: string): string[] {
  const conf: Record<string, string> = {
    'spark.master': options.master,
    'spark.app.name': 'strata-batch',
    'spark.jars': driverJar,
    'spark.ui.enabled': 'false',
    'spark.executor.memory': options.executorMemory ?? '512m',
    'spark.task.maxFailures': String(options.maxFailures ?? 4),
    // Task processes do their own work; Spark's JVMs need little. Keep the shuffle in few files.
    'spark.shuffle.compress': 'true',
  }
  if (/^spark:\/\/(127\.0\.0\.1|localhost):/.test(options.master) || options.master.startsWith('local')) {
    conf['spark.driver.host'] = '127.0.0.1'
    conf['spark.driver.bindAddress'] = '127.0.0.1'
  }
  if (options.basePort !== undefined) {
    conf['spark.driver.port'] = String(options.basePort)
    conf['spark.driver.blockManager.port'] = String(options.basePort + 1)
    conf['spark.blockManager.port'] = String(options.basePort + 2)
    conf['spark.port.maxRetries'] = '16'
  }
  conf['strata.noExecutorMs'] = String(options.noExecutorMs ?? 120_000)
  conf['strata.progressMs'] = String(options.progressMs ?? 10_000)
  return Object.entries(conf).map(([k, v]) => `-D${k}=${v}`)
}

async function runDriver(options: SparkEngineOptions, jarsDir: string, driverJar: string, args: string[]) {
  // Object storage's credentials reach the executors as spark.executorEnv.* set by the driver from
  // its own environment (BatchDriver), never on a command line.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STRATA_EXECUTOR_ENV: EXECUTOR_ENV.filter((name) => process.env[name] !== undefined).join(','),
  }
  const java = javaBin()
  const child = spawn(
    java,
    [
      '-Xmx512m',
      '-Dfile.encoding=UTF-8',
      ...JAVA_MODULE_OPTIONS,
      ...sparkConf(options, driverJar),
      '-cp',
      `${jarsDir}/*:${driverJar}`,
      'dev.strata.spark.BatchDriver',
      ...args,
    ],
    // stdin stays open and unwritten: the driver exits when it closes, i.e. when this process is
    // gone however it ended (kill -9 too), so the driver never outlives it (docs/one-writer.md).
    { stdio: ['pipe', 'pipe', 'pipe'], env },
  )
  // Exiting normally or on a signal handled elsewhere: end the driver now, not at its next read.
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  let aborted = false
  const abort = () => {
    aborted = true
    child.kill('SIGKILL')
  }
  if (options.signal?.aborted) abort()
  options.signal?.addEventListener('abort', abort, { once: true })
  const tail: string[] = []
  const onLine = (line: string) => {
    tail.push(line)
    if (tail.length > 40) tail.shift()
    options.onDriverOutput?.(line)
    // The driver's own lines (progress, why it stopped) are the run's log; Spark's stay out.
    if (line.startsWith('strata-batch: ')) options.log?.(line)
  }
  const lines = async (stream: NodeJS.ReadableStream) => {
    for await (const line of readLines(stream)) onLine(line)
  }
  const reading = Promise.all([lines(child.stdout), lines(child.stderr)])
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
    .catch((error: NodeJS.ErrnoException) => {
      throw new StrataError(
        ErrorCodes.SPARK,
        `cannot run ${java} for the Spark driver (${error.code ?? error.message}): install a JDK 17 or newer, or set JAVA_HOME`,
        { cause: error },
      )
    })
    .finally(() => {
      process.off('exit', killOnExit)
      options.signal?.removeEventListener('abort', abort)
    })
  await reading
  if (aborted) {
    throw new StrataError(
      ErrorCodes.SPARK,
      `the Spark job on ${options.master} was stopped (shutdown) before it finished; nothing was staged`,
    )
  }
  if (code !== 0) {
    const reason = tail.filter((l) => DRIVER_ERROR_LINE.test(l)).slice(-8)
    throw new StrataError(
      ErrorCodes.SPARK,
      `the Spark job on ${options.master} failed (driver exit ${code}); nothing was staged. A task process's own error is in its executor's stderr (a worker's work/app-*/<executor>/stderr). The driver's last lines:\n${(reason.length > 0 ? reason : tail.slice(-10)).join('\n')}`,
    )
  }
}

/** The driver's lines that say why a job failed (Spark's log levels and messages vary in case). */
export const DRIVER_ERROR_LINE =
  /exception|error|caused by|failed|unresponsive|no executor|shut ?down|refused|timed? ?out/i

async function readCombined(file: string, viewCount: number): Promise<SparkFoldOutput> {
  const entries: ViewEntry[][] = Array.from({ length: viewCount }, () => [])
  const metas: Array<{ partition: number; meta: TaskMeta }> = []
  for await (const line of readLines(createReadStream(file))) {
    if (line === '') continue
    if (line.startsWith(`${META_GROUP}\t`)) {
      const [, partition, meta] = splitTabs(line, 2) as [string, string, string]
      metas.push({ partition: Number(partition), meta: JSON.parse(meta) as TaskMeta })
      continue
    }
    const [group, state] = splitTabs(line, 1) as [string, string]
    const [view, window, key] = parseGroup(group)
    entries[view]!.push({ key, window, state: JSON.parse(state) })
  }
  // One meta line per fold task that succeeded, and Spark counts each task once.
  metas.sort((a, b) => a.partition - b.partition)
  const errors = Array.from({ length: viewCount }, (_, v) => {
    const parts = metas.map((m) => m.meta.errors[v])
    const recent = parts.flatMap((p) => p?.recent ?? [])
    return { count: parts.reduce((n, p) => n + (p?.count ?? 0), 0), recent: recent.slice(-RECENT_ERRORS) }
  })
  return { events: metas.reduce((n, m) => n + m.meta.events, 0), entries, errors }
}

/**
 * A master URL that is not one, or a spark:// master that refuses connections, fails the run at
 * once (before the horizon is fixed), not after Spark's own retries.
 */
export async function checkMasterAnswers(master: string): Promise<void> {
  const match = /^spark:\/\/([^:/]+):(\d+)\/?$/.exec(master)
  if (!match) {
    if (/^local(\[[\d*]+\])?$/.test(master)) return
    throw new StrataError(
      ErrorCodes.INVALID_ARGUMENT,
      `--spark-master ${master}: not a Spark standalone master URL (spark://host:port) nor local[n]`,
      { field: '--spark-master' },
    )
  }
  const [, host, port] = match as unknown as [string, string, string]
  const answer = await probe(host, Number(port))
  if (answer.reason !== undefined) {
    throw new StrataError(
      ErrorCodes.SPARK_UNAVAILABLE,
      `the Spark master ${master} does not answer (${answer.reason}): start it (strata spark start --port ${port}) or check --spark-master; retry once it is up`,
      { retriable: true, field: '--spark-master' },
    )
  }
  // The master's RPC port never answers an HTTP request; its web UI (and REST server) does. A
  // driver pointed at the UI would retry for over a minute and fail with "SparkContext has been
  // shutdown". `strata spark start` puts the UI on the master's port + 1.
  if (answer.http) {
    throw new StrataError(
      ErrorCodes.INVALID_ARGUMENT,
      `--spark-master ${master}: port ${port} answers HTTP, so it is a web UI or REST port, not the master's RPC port (spark://${host}:${Number(port) - 1} for a cluster of strata spark start, 7077 by Spark's default; strata spark status prints it)`,
      { field: '--spark-master' },
    )
  }
}

/** Connects and sends an HTTP request: an HTTP reply within a moment means a web server. */
function probe(host: string, port: number): Promise<{ reason?: string; http?: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 5000 })
    let received = ''
    let connected = false
    const done = (result: { reason?: string; http?: boolean }) => {
      socket.destroy()
      resolve(result)
    }
    socket.once('connect', () => {
      connected = true
      socket.setTimeout(0)
      socket.write(`GET / HTTP/1.0\r\nHost: ${host}\r\n\r\n`)
      // Spark's RPC server waits for a frame it never gets (or closes): not HTTP.
      setTimeout(() => done({ http: false }), 1500).unref()
    })
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1')
      if (received.length >= 5) done({ http: received.startsWith('HTTP/') })
    })
    socket.once('end', () => done({ http: received.startsWith('HTTP/') }))
    socket.once('timeout', () => done({ reason: 'timed out' }))
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done(!connected ? { reason: error.code ?? error.message } : { http: false }),
    )
  })
}
