// The local Apache Spark standalone cluster for development and tests (`strata spark
// start|stop|status`): a master and (by default) two workers of one core each, detached JVMs on
// loopback, from Maven Central's jars, as `strata kafka start` runs Kafka's brokers and
// `strata s3 start` S3Proxy. Every port is explicit (the master's RPC port P, its web UI P+1,
// worker n's RPC port P+2n and web UI P+2n+1): Spark's defaults (7077, 8080, 8081, 4040) may be
// another program's here. Start is idempotent: a cluster of ours whose master answers and whose
// workers are all registered is only reported.
import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { basename } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { isPortFree, javaBin, terminate, withClusterLock } from '../kafka-cluster/index.ts'
import { ensureSparkJars, type SparkJars } from './jars.ts'
import { clusterDir, type ProcessPaths, processPaths } from './paths.ts'

export const DEFAULT_SPARK_PORT = 7077

export interface SparkClusterOptions {
  /** The master's RPC port (default 7077); the other ports follow it (see the top of this file). */
  port?: number
  /** Workers (default 2), each with `cores` cores and `memory` for its executors. */
  workers?: number
  cores?: number
  /** Memory a worker offers its executors, as Spark writes it (default 1g). */
  memory?: string
  /** The cluster's folder (default `.strata/spark/cluster-<port>`); tests pass a temp folder. */
  dir?: string
  log?: (line: string) => void
  /** How long to wait for the master and every worker (default 90 s). */
  timeoutMs?: number
}

export interface SparkClusterInfo {
  /** spark://127.0.0.1:<port>: what `strata batch --engine spark --spark-master` takes. */
  master: string
  /** The master's web UI; its /json/ lists the workers. */
  ui: string
  workers: Array<{ name: string; port: number; uiPort: number }>
  version: string
}

export interface StartedSparkCluster extends SparkClusterInfo {
  alreadyRunning: boolean
}

export interface SparkClusterStatus {
  master: string
  ui: string
  dir: string
  /** The master's web UI answers. */
  answers: boolean
  /** Workers the master lists as ALIVE. */
  aliveWorkers: number
  processes: Array<{ name: string; pid: number | undefined; alive: boolean; logFile: string }>
}

interface Layout {
  dir: string
  port: number
  uiPort: number
  workers: Array<{ name: string; port: number; uiPort: number; paths: ProcessPaths }>
  master: ProcessPaths
}

function layout(options: { port?: number; workers?: number; dir?: string }): Layout {
  const port = options.port ?? DEFAULT_SPARK_PORT
  const dir = options.dir ?? clusterDir(port)
  const count = options.workers ?? 2
  return {
    dir,
    port,
    uiPort: port + 1,
    master: processPaths(dir, 'master'),
    workers: Array.from({ length: count }, (_, i) => ({
      name: `worker-${i + 1}`,
      port: port + 2 * (i + 1),
      uiPort: port + 2 * (i + 1) + 1,
      paths: processPaths(dir, `worker-${i + 1}`),
    })),
  }
}

/** The environment of every JVM of the cluster (and so of its executors and their task processes). */
export function sparkEnv(jars: SparkJars): NodeJS.ProcessEnv {
  return {
    ...process.env,
    SPARK_HOME: jars.home,
    SPARK_SCALA_VERSION: '2.13',
    // Binds the web UIs to loopback too (they default to 0.0.0.0).
    SPARK_LOCAL_IP: '127.0.0.1',
    SPARK_PUBLIC_DNS: '127.0.0.1',
  }
}

export async function startSparkCluster(options: SparkClusterOptions = {}): Promise<StartedSparkCluster> {
  const at = layout(options)
  const log = options.log ?? (() => {})
  return withClusterLock(at.dir, 180_000, async () => {
    const jars = await ensureSparkJars({ log })
    const info = describe(at, jars.version)
    const status = await statusOf(at)
    if (status.processes.every((p) => p.alive) && status.aliveWorkers === at.workers.length) {
      return { ...info, alreadyRunning: true }
    }
    // A half-running cluster (a worker died, a start interrupted) is restarted whole.
    await stopProcesses(at)
    const ports = [at.port, at.uiPort, ...at.workers.flatMap((w) => [w.port, w.uiPort])]
    for (const port of ports) {
      if (!(await isPortFree('127.0.0.1', port))) {
        throw new StrataError(
          ErrorCodes.CLUSTER,
          `port ${port} is in use by another process (the Spark cluster on --port ${at.port} uses ${ports.join(', ')}): pick another with --port`,
        )
      }
    }
    await writeFile(`${at.dir}/cluster.json`, `${JSON.stringify(info, null, 2)}\n`)
    const env = sparkEnv(jars)
    const cp = `${jars.libDir}/*`
    log(`starting the Spark ${jars.version} master on ${info.master} (web UI ${info.ui})`)
    await spawnJvm(at, at.master, env, [
      '-cp',
      cp,
      'org.apache.spark.deploy.master.Master',
      '--host',
      '127.0.0.1',
      '--port',
      String(at.port),
      '--webui-port',
      String(at.uiPort),
    ])
    const deadline = Date.now() + (options.timeoutMs ?? 90_000)
    await waitFor(
      at,
      deadline,
      'the master to answer',
      async () => (await masterJson(at.uiPort)) !== undefined,
    )
    for (const worker of at.workers) {
      await mkdir(worker.paths.workDir, { recursive: true })
      log(`starting Spark ${worker.name} on 127.0.0.1:${worker.port} (web UI ${worker.uiPort})`)
      await spawnJvm(at, worker.paths, env, [
        '-cp',
        cp,
        'org.apache.spark.deploy.worker.Worker',
        info.master,
        '--host',
        '127.0.0.1',
        '--port',
        String(worker.port),
        '--webui-port',
        String(worker.uiPort),
        '--cores',
        String(options.cores ?? 1),
        '--memory',
        options.memory ?? '1g',
        '--work-dir',
        worker.paths.workDir,
      ])
    }
    await waitFor(at, deadline, `${at.workers.length} workers to register`, async () => {
      return ((await masterJson(at.uiPort))?.aliveworkers ?? 0) >= at.workers.length
    })
    return { ...info, alreadyRunning: false }
  })
}

export async function stopSparkCluster(options: { port?: number; workers?: number; dir?: string } = {}) {
  const at = layout({ ...options, workers: options.workers ?? (await recordedWorkers(options)) })
  return withClusterLock(at.dir, 60_000, () => stopProcesses(at))
}

export async function sparkClusterStatus(
  options: { port?: number; workers?: number; dir?: string } = {},
): Promise<SparkClusterStatus> {
  return statusOf(layout({ ...options, workers: options.workers ?? (await recordedWorkers(options)) }))
}

function describe(at: Layout, version: string): SparkClusterInfo {
  return {
    master: `spark://127.0.0.1:${at.port}`,
    ui: `http://127.0.0.1:${at.uiPort}`,
    workers: at.workers.map(({ name, port, uiPort }) => ({ name, port, uiPort })),
    version,
  }
}

// stop and status act on the cluster as it was started (its cluster.json), whatever the default.
async function recordedWorkers(options: { port?: number; dir?: string }): Promise<number> {
  const dir = layout(options).dir
  try {
    const info = JSON.parse(await readFile(`${dir}/cluster.json`, 'utf8')) as SparkClusterInfo
    return info.workers.length
  } catch {
    return 2
  }
}

async function statusOf(at: Layout): Promise<SparkClusterStatus> {
  const all = [{ name: 'master', paths: at.master }, ...at.workers]
  const json = await masterJson(at.uiPort)
  return {
    master: `spark://127.0.0.1:${at.port}`,
    ui: `http://127.0.0.1:${at.uiPort}`,
    dir: at.dir,
    answers: json !== undefined,
    aliveWorkers: json?.aliveworkers ?? 0,
    processes: await Promise.all(
      all.map(async ({ name, paths }) => {
        const pid = await runningPid(at, paths)
        return { name, pid, alive: pid !== undefined, logFile: paths.stdoutLog }
      }),
    ),
  }
}

interface MasterJson {
  aliveworkers?: number
  workers?: Array<{ id: string; state: string }>
}

/** The master's state from its web UI, or undefined when it does not answer. */
export function masterJson(uiPort: number): Promise<MasterJson | undefined> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port: uiPort, path: '/json/', method: 'GET', timeout: 3000 },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          body += chunk
        })
        res.on('end', () => {
          try {
            resolve(res.statusCode === 200 ? (JSON.parse(body) as MasterJson) : undefined)
          } catch {
            resolve(undefined)
          }
        })
      },
    )
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(undefined))
    req.end()
  })
}

// Detached, with its output in a file: an inherited pipe would keep a test runner waiting. The
// -D marker names the cluster's folder, so a recorded pid is taken as ours only while it is.
async function spawnJvm(at: Layout, paths: ProcessPaths, env: NodeJS.ProcessEnv, args: string[]) {
  await mkdir(paths.dir, { recursive: true })
  const out = openSync(paths.stdoutLog, 'a')
  try {
    const child = spawn(
      javaBin(),
      ['-Xmx256m', '-Djava.awt.headless=true', `-Dstrata.spark.cluster=${at.dir}`, ...args],
      { detached: true, stdio: ['ignore', out, out], env, cwd: paths.dir },
    )
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject)
      child.once('spawn', () => resolve(child.pid!))
    })
    child.unref()
    await writeFile(paths.pidFile, `${pid}\n`)
  } catch (error) {
    throw new StrataError(
      ErrorCodes.CLUSTER,
      `cannot start java for Spark (${(error as Error).message}): install a JDK 17 or newer, or set JAVA_HOME`,
      {
        cause: error,
      },
    )
  } finally {
    closeSync(out)
  }
}

async function waitFor(at: Layout, deadline: number, what: string, ready: () => Promise<boolean>) {
  while (Date.now() < deadline) {
    if (await ready()) return
    for (const paths of [at.master, ...at.workers.map((w) => w.paths)]) {
      const pid = await readPid(paths)
      if (pid !== undefined && !(await isOurs(pid, at))) {
        const tail = (await readFile(paths.stdoutLog, 'utf8').catch(() => ''))
          .split('\n')
          .slice(-15)
          .join('\n')
        await stopProcesses(at)
        throw new StrataError(
          ErrorCodes.CLUSTER,
          `a Spark JVM exited at start; the end of ${paths.stdoutLog}:\n${tail}`,
        )
      }
    }
    await sleep(250)
  }
  await stopProcesses(at)
  throw new StrataError(ErrorCodes.CLUSTER, `timed out waiting for ${what}; see the logs under ${at.dir}`)
}

async function readPid(paths: ProcessPaths): Promise<number | undefined> {
  const pid = Number.parseInt(await readFile(paths.pidFile, 'utf8').catch(() => ''), 10)
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
}

// A recorded pid is ours only while it is a java carrying this cluster's marker: after a reboot
// the pid may belong to anything, and we never signal what we did not start.
async function isOurs(pid: number, at: Layout): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
  const args = cmdline.split('\0')
  return (
    args.length > 2 &&
    basename(args[0]!).startsWith('java') &&
    args.includes(`-Dstrata.spark.cluster=${at.dir}`)
  )
}

async function runningPid(at: Layout, paths: ProcessPaths): Promise<number | undefined> {
  const pid = await readPid(paths)
  return pid !== undefined && (await isOurs(pid, at)) ? pid : undefined
}

/**
 * Workers first (a Worker kills its executors as it stops), then the master: SIGTERM, SIGKILL
 * after 10 s. True when a process of ours was running.
 */
async function stopProcesses(at: Layout): Promise<boolean> {
  let any = false
  for (const paths of [...at.workers.map((w) => w.paths), at.master]) {
    const pid = await runningPid(at, paths)
    if (pid !== undefined) {
      any = true
      await terminate(pid, () => isOurs(pid, at))
    }
    await rm(paths.pidFile, { force: true })
  }
  return any
}
