// The broker JVMs: formatting storage, starting one detached, and finding, signalling and
// waiting for it again by its recorded pid.
//
// A broker is started detached with its stdout/stderr redirected to a file: an inherited pipe
// would keep whoever reads it (a test runner, `$(...)`, CI) waiting for as long as the broker
// lives. A recorded pid counts as our broker only while /proc/<pid>/cmdline is a java process
// running `kafka.Kafka` with this node's server.properties: after a reboot or a crash the pid may
// belong to anything, and we never signal what we did not start.
import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { basename, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import type { NodePaths } from './paths.ts'

export interface JvmOptions {
  libDir: string
  log4jFile: string
  /** -Xmx, e.g. '1g'. */
  heap: string
}

export function javaBin(env: NodeJS.ProcessEnv = process.env): string {
  return env['JAVA_HOME'] ? join(env['JAVA_HOME'], 'bin', 'java') : 'java'
}

function jvmArgs(jvm: JvmOptions, logsDir: string): string[] {
  return [
    '-Xms256m',
    `-Xmx${jvm.heap}`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${jvm.log4jFile}`,
    `-Dkafka.logs.dir=${logsDir}`,
    '-cp',
    join(jvm.libDir, '*'),
  ]
}

/**
 * `kafka.tools.StorageTool format`: writes meta.properties with the cluster id and node id.
 * `scram` entries (`SCRAM-SHA-512=[name=u,password=p]`) become `--add-scram`: KRaft keeps SCRAM
 * credentials in its metadata log, so a SASL listener has users from its first start. (The
 * password is on this short-lived command line: fine for a local test cluster, not beyond.)
 */
export async function formatStorage(
  jvm: JvmOptions,
  node: NodePaths,
  clusterId: string,
  scram: readonly string[] = [],
): Promise<void> {
  const args = [
    ...jvmArgs({ ...jvm, heap: '256m' }, node.logsDir),
    'kafka.tools.StorageTool',
    'format',
    '-t',
    clusterId,
    '-c',
    node.serverProperties,
    ...scram.flatMap((entry) => ['--add-scram', entry]),
  ]
  const child = spawn(javaBin(), args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk))
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', resolve)
  }).catch((error: Error) => {
    throw new StrataError(ErrorCodes.CLUSTER, `cannot run java (Java 17+ is needed): ${error.message}`, {
      cause: error,
    })
  })
  if (code !== 0) {
    throw new StrataError(ErrorCodes.CLUSTER, `StorageTool format failed for ${node.dir}: ${output.trim()}`)
  }
}

/** Starts `kafka.Kafka server.properties` detached; returns and records its pid. */
export async function spawnBroker(jvm: JvmOptions, node: NodePaths): Promise<number> {
  const out = openSync(node.stdoutLog, 'a')
  try {
    const child = spawn(javaBin(), [...jvmArgs(jvm, node.logsDir), 'kafka.Kafka', node.serverProperties], {
      detached: true,
      stdio: ['ignore', out, out],
    })
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject)
      child.once('spawn', () => resolve(child.pid!))
    })
    child.unref()
    await writeFile(node.pidFile, `${pid}\n`)
    return pid
  } catch (error) {
    throw new StrataError(
      ErrorCodes.CLUSTER,
      `cannot start java for ${node.dir}: ${(error as Error).message}`,
      {
        cause: error,
      },
    )
  } finally {
    closeSync(out)
  }
}

export async function readPid(node: NodePaths): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(node.pidFile, 'utf8'), 10)
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

export async function forgetPid(node: NodePaths): Promise<void> {
  await rm(node.pidFile, { force: true })
}

/** True while `pid` is a live java process running this node's server.properties. */
export async function isOurBroker(pid: number, node: NodePaths): Promise<boolean> {
  let cmdline: string
  try {
    cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8')
  } catch {
    return false // gone
  }
  // A zombie has an empty cmdline: it is dead for our purposes.
  const args = cmdline.split('\0')
  return (
    args.length > 2 &&
    basename(args[0]!).startsWith('java') &&
    args.includes('kafka.Kafka') &&
    args.includes(node.serverProperties)
  )
}

/** The node's recorded pid when it is still our running broker. */
export async function runningPid(node: NodePaths): Promise<number | undefined> {
  const pid = await readPid(node)
  return pid !== undefined && (await isOurBroker(pid, node)) ? pid : undefined
}

/** Sends `signal` and waits up to `timeoutMs` for the broker to exit; false if it did not. */
export async function signalAndWait(
  pid: number,
  node: NodePaths,
  signal: NodeJS.Signals,
  timeoutMs: number,
): Promise<boolean> {
  if (!(await isOurBroker(pid, node))) return true
  try {
    process.kill(pid, signal)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true
    throw error
  }
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await hasExited(pid)) return true
    await sleep(100)
  }
  return hasExited(pid)
}

/**
 * SIGTERM, then SIGKILL after `termMs`, waiting while `stillOurs()` says the pid is still the
 * process we started (the S3 server's and the Spark cluster's JVMs; a pid reused by another
 * program is never signalled again).
 */
export async function terminate(
  pid: number,
  stillOurs: () => Promise<boolean>,
  termMs = 10_000,
  killMs = 5_000,
): Promise<void> {
  for (const [signal, waitMs] of [
    ['SIGTERM', termMs],
    ['SIGKILL', killMs],
  ] as const) {
    try {
      process.kill(pid, signal)
    } catch {
      return
    }
    const deadline = Date.now() + waitMs
    while (Date.now() < deadline && (await stillOurs())) await sleep(100)
    if (!(await stillOurs())) return
  }
}

// Exited means gone, or every thread a zombie. Neither an empty cmdline nor the pid's own state
// is enough: the kernel drops a dying process's memory (and with it the cmdline) before it
// closes its files, and the JVM's main thread turns zombie while its other threads still exit
// holding the sockets; a restart in that window fails with "address in use".
async function hasExited(pid: number): Promise<boolean> {
  let tids: string[]
  try {
    tids = await readdir(`/proc/${pid}/task`)
  } catch {
    return true
  }
  for (const tid of tids) {
    const state = await threadState(`/proc/${pid}/task/${tid}/stat`)
    if (state !== undefined && state !== 'Z' && state !== 'X') return false
  }
  return true
}

async function threadState(statFile: string): Promise<string | undefined> {
  try {
    const stat = await readFile(statFile, 'utf8')
    // "tid (comm) state ...": comm may hold spaces and parentheses, so read after the last ')'.
    const close = stat.lastIndexOf(')')
    return stat.slice(close + 2, close + 3)
  } catch {
    return undefined
  }
}

/** Whether nothing listens on host:port (a broker of another project, a stale JVM). */
export async function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)))
  })
}
