// `strata start` as a child process on the local broker, for the benchmarks that go through the
// HTTP API: a one-view config on the bench topic, a fresh data folder, a free port.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brokers, sleep, writeViewConfig } from './kafka-bench.ts'

export interface StrataServer {
  url: string
  child: ChildProcess
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** `strata start` (every role) by default; `command: ['worker', 'serve']` for the HTTP API alone. */
export async function startStrata(
  topic: string,
  partitions: number,
  extra: string[] = [],
  command: string[] = ['start'],
): Promise<StrataServer> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-bench-server-'))
  const config = await writeViewConfig(dir, topic, partitions)
  const port = await freePort()
  const bin = join(import.meta.dirname, '../../bin/strata.js')
  const child = spawn(
    process.execPath,
    [
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
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let err = ''
  child.stderr!.on('data', (d) => {
    err = (err + d).slice(-4000)
  })
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM')
      const exited = new Promise((resolve) => child.once('exit', resolve))
      if ((await Promise.race([exited, sleep(15_000).then(() => 'timeout')])) === 'timeout')
        child.kill('SIGKILL')
    }
    await rm(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break
    try {
      if ((await fetch(`${url}/health`)).ok) return { url, child, stop }
    } catch {}
    await sleep(100)
  }
  await stop()
  throw new Error(`strata start did not come up: ${err}`)
}

/** Waits until the speed layer's lag on every view is 0 (GET /views). */
export async function waitCaughtUp(url: string, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const body = (await (await fetch(`${url}/views`)).json()) as { views: Array<{ lag: number[] }> }
    if (body.views.every((v) => v.lag.every((l) => l === 0))) return
    await sleep(200)
  }
  throw new Error('strata did not catch up')
}
