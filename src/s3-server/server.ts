// The local S3-compatible server for development and tests (`strata s3 start|stop|status`): S3Proxy
// with its filesystem backend (every object a file under `<dir>/data/<bucket>/`), one detached JVM
// on loopback, as `strata kafka start` runs the brokers (kafka-cluster/). Start is idempotent: a
// server of ours already answering on the port is only reported. Credentials are fixed and
// local (the server listens on 127.0.0.1 only); a client gets them from `server.json` or from the
// lines `strata s3 start` prints (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL).
import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { basename, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { isPortFree, javaBin, terminate, withClusterLock } from '../kafka-cluster/index.ts'
import { ensureS3ProxyJars } from './jars.ts'
import { type ServerPaths, serverDir, serverPaths } from './paths.ts'

export const DEFAULT_S3_PORT = 9000
export const DEFAULT_BUCKET = 'strata'
/** Local-only credentials of the loopback server (not a secret: nothing else accepts them). */
export const LOCAL_ACCESS_KEY = 'strata-local'
export const LOCAL_SECRET_KEY = 'strata-local-secret'

export interface S3ServerOptions {
  /** Default 9000. */
  port?: number
  /** The server's folder (default `.strata/s3/server-<port>`); tests pass a temp folder. */
  dir?: string
  /** Buckets created (as folders of the backend) before the server starts; default ['strata']. */
  buckets?: string[]
  /** Wipe the backend's data first (stops a running server). */
  fresh?: boolean
  log?: (line: string) => void
  /** How long to wait for the server to answer (default 60 s). */
  timeoutMs?: number
}

export interface S3ServerInfo {
  endpoint: string
  region: string
  accessKeyId: string
  secretAccessKey: string
  dataDir: string
}

export interface StartedS3Server extends S3ServerInfo {
  pid: number
  alreadyRunning: boolean
}

export interface S3ServerStatus {
  endpoint: string
  dir: string
  pid: number | undefined
  alive: boolean
  answers: boolean
  logFile: string
}

function info(port: number, paths: ServerPaths): S3ServerInfo {
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    accessKeyId: LOCAL_ACCESS_KEY,
    secretAccessKey: LOCAL_SECRET_KEY,
    dataDir: paths.dataDir,
  }
}

export async function startS3Server(options: S3ServerOptions = {}): Promise<StartedS3Server> {
  const port = options.port ?? DEFAULT_S3_PORT
  const paths = serverPaths(options.dir ?? serverDir(port))
  const log = options.log ?? (() => {})
  return withClusterLock(paths.dir, 120_000, async () => {
    if (options.fresh) {
      await stopServer(paths)
      await rm(paths.dataDir, { recursive: true, force: true })
    }
    for (const bucket of options.buckets ?? [DEFAULT_BUCKET]) {
      await mkdir(join(paths.dataDir, bucket), { recursive: true })
    }
    const running = await runningPid(paths)
    if (running !== undefined && (await answers(port))) {
      return { ...info(port, paths), pid: running, alreadyRunning: true }
    }
    if (running !== undefined) await stopServer(paths)
    if (!(await isPortFree('127.0.0.1', port))) {
      throw new StrataError(
        ErrorCodes.CLUSTER,
        `port ${port} is in use by another process: pick another with --port`,
      )
    }
    const { libDir, version } = await ensureS3ProxyJars({ log })
    await writeConfig(port, paths)
    log(`starting S3Proxy ${version} on 127.0.0.1:${port} (data in ${paths.dataDir})`)
    const pid = await spawnServer(libDir, paths)
    await waitUntilAnswering(port, pid, paths, options.timeoutMs ?? 60_000)
    return { ...info(port, paths), pid, alreadyRunning: false }
  })
}

export async function stopS3Server(options: { port?: number; dir?: string } = {}): Promise<boolean> {
  const paths = serverPaths(options.dir ?? serverDir(options.port ?? DEFAULT_S3_PORT))
  return withClusterLock(paths.dir, 60_000, () => stopServer(paths))
}

export async function s3ServerStatus(options: { port?: number; dir?: string } = {}): Promise<S3ServerStatus> {
  const port = options.port ?? DEFAULT_S3_PORT
  const paths = serverPaths(options.dir ?? serverDir(port))
  const pid = await runningPid(paths)
  return {
    endpoint: `http://127.0.0.1:${port}`,
    dir: paths.dir,
    pid,
    alive: pid !== undefined,
    answers: await answers(port),
    logFile: paths.stdoutLog,
  }
}

async function writeConfig(port: number, paths: ServerPaths): Promise<void> {
  await writeFile(
    paths.properties,
    [
      `s3proxy.endpoint=http://127.0.0.1:${port}`,
      's3proxy.authorization=aws-v2-or-v4',
      `s3proxy.identity=${LOCAL_ACCESS_KEY}`,
      `s3proxy.credential=${LOCAL_SECRET_KEY}`,
      'jclouds.provider=filesystem',
      `jclouds.filesystem.basedir=${paths.dataDir}`,
      '',
    ].join('\n'),
  )
  // Without a configuration logback logs every Jetty detail at DEBUG.
  await writeFile(
    paths.logback,
    `<configuration>
  <appender name="out" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{20} - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="out"/></root>
</configuration>
`,
  )
  await writeFile(paths.info, `${JSON.stringify(info(port, paths), null, 2)}\n`)
}

// Detached, with its output in a file: an inherited pipe would keep a test runner waiting.
async function spawnServer(libDir: string, paths: ServerPaths): Promise<number> {
  const out = openSync(paths.stdoutLog, 'a')
  try {
    const args = [
      '-Xmx256m',
      '-Djava.awt.headless=true',
      `-Dlogback.configurationFile=${paths.logback}`,
      '-cp',
      join(libDir, '*'),
      'org.gaul.s3proxy.Main',
      '--properties',
      paths.properties,
    ]
    const child = spawn(javaBin(), args, { detached: true, stdio: ['ignore', out, out] })
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject)
      child.once('spawn', () => resolve(child.pid!))
    })
    child.unref()
    await writeFile(paths.pidFile, `${pid}\n`)
    return pid
  } catch (error) {
    throw new StrataError(ErrorCodes.CLUSTER, `cannot start java for S3Proxy: ${(error as Error).message}`, {
      cause: error,
    })
  } finally {
    closeSync(out)
  }
}

async function waitUntilAnswering(
  port: number,
  pid: number,
  paths: ServerPaths,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await answers(port)) return
    if (!(await isOurServer(pid, paths))) {
      const tail = (await readFile(paths.stdoutLog, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n')
      throw new StrataError(
        ErrorCodes.CLUSTER,
        `S3Proxy exited at start; the end of ${paths.stdoutLog}:\n${tail}`,
      )
    }
    await sleep(200)
  }
  await stopServer(paths)
  throw new StrataError(
    ErrorCodes.CLUSTER,
    `S3Proxy did not answer on port ${port} within ${timeoutMs} ms; see ${paths.stdoutLog}`,
  )
}

/** Any HTTP answer (an anonymous request is 403) means the server is up. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method: 'GET', timeout: 2000 }, (res) => {
      res.resume()
      resolve(res.headers['x-amz-request-id'] !== undefined)
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(false))
    req.end()
  })
}

async function readPid(paths: ServerPaths): Promise<number | undefined> {
  const pid = Number.parseInt(await readFile(paths.pidFile, 'utf8').catch(() => ''), 10)
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
}

// A recorded pid is ours only while it is a java running S3Proxy with this folder's properties:
// after a reboot the pid may belong to anything, and we never signal what we did not start.
async function isOurServer(pid: number, paths: ServerPaths): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')
  const args = cmdline.split('\0')
  return (
    args.length > 2 &&
    basename(args[0]!).startsWith('java') &&
    args.includes('org.gaul.s3proxy.Main') &&
    args.includes(paths.properties)
  )
}

async function runningPid(paths: ServerPaths): Promise<number | undefined> {
  const pid = await readPid(paths)
  return pid !== undefined && (await isOurServer(pid, paths)) ? pid : undefined
}

/** SIGTERM, then SIGKILL after 10 s; true when a server of ours was running. */
async function stopServer(paths: ServerPaths): Promise<boolean> {
  const pid = await runningPid(paths)
  if (pid === undefined) {
    await rm(paths.pidFile, { force: true })
    return false
  }
  await terminate(pid, () => isOurServer(pid, paths))
  await rm(paths.pidFile, { force: true })
  return true
}
