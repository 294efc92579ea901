// `strata start` as a child process on the local broker, for the benchmarks that go through the
// HTTP API: a one-view config on the bench topic, a fresh data folder, a free port.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { closeSync, openSync, writeSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { brokers, sleep, writeViewConfig } from './kafka-bench.ts'

export interface StrataServer {
  url: string
  /** The data folder (the store), for a second process on the same store. */
  dir: string
  child: ChildProcess
  stop(): Promise<void>
}

/**
 * A port nobody listens on: one the system picks, or with STRATA_BENCH_PORTS=FIRST-LAST the next
 * free one of that range (benchmarks sharing a machine each keep to a range of their own). Within
 * a range, a port is handed out once per process, so two servers started back to back never get
 * the same one before the first has bound it.
 */
export async function freePort(): Promise<number> {
  const range = /^(\d+)-(\d+)$/.exec(process.env.STRATA_BENCH_PORTS ?? '')
  if (range === null) return listenOnce(0) as Promise<number>
  const last = Number(range[2])
  for (nextInRange = Math.max(nextInRange, Number(range[1])); nextInRange <= last; ) {
    const port = await listenOnce(nextInRange++)
    if (port !== undefined) return port
  }
  throw new Error(`no free port left in STRATA_BENCH_PORTS=${process.env.STRATA_BENCH_PORTS}`)
}
let nextInRange = 0

async function listenOnce(port: number): Promise<number | undefined> {
  const server = createServer()
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => resolve(true))
  })
  if (!bound) return undefined
  const chosen = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return chosen
}

export interface StartOptions {
  /** More CLI flags. */
  extra?: string[]
  /** `['start']` (every role, the default) or e.g. `['worker', 'serve']` for the HTTP API alone. */
  command?: string[]
  /** The data folder of another process, to serve its store (left in place: its owner removes it). */
  shareDir?: string
  /** Flags for node itself, e.g. `--cpu-prof`. */
  nodeArgs?: string[]
  /** Another checkout's bin/strata.js, to compare builds in one run. */
  bin?: string
}

export async function startStrata(
  topic: string,
  partitions: number,
  options: StartOptions = {},
): Promise<StrataServer> {
  const { extra = [], command = ['start'], shareDir, nodeArgs = [] } = options
  const dir = shareDir ?? (await mkdtemp(join(tmpdir(), 'strata-bench-server-')))
  const bin = options.bin ?? join(import.meta.dirname, '../../bin/strata.js')
  // The config imports the API of the build that runs it: a view built by another checkout's
  // classes was not recognised by the baseline's view analysis (its fold thread then parsed whole
  // events, which made every `--baseline` slower than its own code).
  const config = await writeViewConfig(dir, topic, partitions, join(dirname(bin), '..'))
  const port = await freePort()
  // Consumer groups of their own: two benchmarks on the shared broker in the default groups
  // (strata-speed, strata-archiver) would rebalance each other's workers mid-measurement.
  const groups = command[0] === 'start' ? ['--group-prefix', `bench-${randomUUID()}`] : []
  // STRATA_BENCH_NODE_ARGS (space-separated, e.g. `--trace-gc`) is given to every Strata process
  // a bench starts, and with STRATA_BENCH_STDOUT_DIR each one's stdout goes to a file there
  // (<command>-<port>.out): what V8's traces print, per server (BENCHMARKS.md, Query, session 13);
  // and its stderr, the role's log (a 5xx and its cause), to <command>-<port>.err: whether asks
  // counted as errors were refused or only late is read there, not inferred.
  const envArgs = (process.env.STRATA_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '')
  const stdoutDir = process.env.STRATA_BENCH_STDOUT_DIR
  const stdout = stdoutDir ? openSync(join(stdoutDir, `${command.join('-')}-${port}.out`), 'w') : 'ignore'
  const child = spawn(
    process.execPath,
    [
      ...envArgs,
      ...nodeArgs,
      bin,
      ...command,
      '--config',
      config,
      '--brokers',
      brokers,
      '--data',
      dir,
      '--port',
      String(port),
      ...groups,
      ...extra,
    ],
    { stdio: ['ignore', stdout, 'pipe'] },
  )
  if (typeof stdout === 'number') closeSync(stdout)
  const stderr = stdoutDir ? openSync(join(stdoutDir, `${command.join('-')}-${port}.err`), 'w') : undefined
  let err = ''
  child.stderr!.on('data', (d) => {
    err = (err + d).slice(-4000)
    if (stderr !== undefined) writeSync(stderr, d)
  })
  if (stderr !== undefined) child.stderr!.once('close', () => closeSync(stderr))
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM')
      const exited = new Promise((resolve) => child.once('exit', resolve))
      if ((await Promise.race([exited, sleep(15_000).then(() => 'timeout')])) === 'timeout')
        child.kill('SIGKILL')
    }
    if (shareDir === undefined) await rm(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break
    try {
      if ((await fetch(`${url}/health`)).ok) return { url, dir, child, stop }
    } catch {}
    await sleep(100)
  }
  await stop()
  throw new Error(`strata ${command.join(' ')} did not come up: ${err}`)
}

/**
 * Waits until the speed layer's lag on every view is 0 (GET /views), and the archiver's on every
 * partition it reports (GET /health; builds before the archiver reported its lag report none).
 */
export async function waitCaughtUp(url: string, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const body = (await (await fetch(`${url}/views`)).json()) as { views: Array<{ lag: number[] }> }
    const health = (await (await fetch(`${url}/health`)).json()) as {
      roles?: Array<{ role: string; partitions?: Array<{ lag?: number | null }> }>
    }
    const archiver = health.roles?.find((r) => r.role === 'archiver')?.partitions ?? []
    if (body.views.every((v) => v.lag.every((l) => l === 0)) && archiver.every((p) => p.lag === 0)) return
    await sleep(200)
  }
  throw new Error('strata did not catch up')
}
