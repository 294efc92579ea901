// What the tests that run `strata` as a child process share: a free port, and a spawn that
// captures the output (for assertions on what it said) and the exit code.
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import type { TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { deferrer } from './cleanup.ts'

export const bin = fileURLToPath(new URL('../../bin/strata.js', import.meta.url))

/** A port nothing listens on right now (the kernel's pick), on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

export interface SpawnedStrata {
  child: ChildProcess
  /** stdout and stderr so far, interleaved as they arrived. */
  output: () => string
  exited: Promise<number | null>
}

/**
 * `strata <args>` with its output captured. STRATA_STORE and STRATA_BROKERS are cleared so the
 * flags a test passes are the whole configuration, whatever the environment running the suite.
 * `env` adds to the environment (e.g. TZ).
 */
export function spawnStrata(args: string[], env: NodeJS.ProcessEnv = {}): SpawnedStrata {
  return captured(
    spawn(process.execPath, [bin, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, STRATA_STORE: '', STRATA_BROKERS: '', ...env },
    }),
  )
}

function captured(child: ChildProcess): SpawnedStrata {
  let output = ''
  child.stdout?.on('data', (chunk) => {
    output += chunk
  })
  child.stderr?.on('data', (chunk) => {
    output += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, output: () => output, exited }
}

/**
 * `strata <args>` until it exits by itself, or `withinMs` passes ('still running': a hang is a
 * failure to assert, not a test that never ends); killed when `t` ends if it has not exited.
 */
export async function runUntilExit(
  t: TestContext,
  args: string[],
  withinMs = 60_000,
): Promise<{ code: number | null | 'still running'; output: string }> {
  return untilExit(t, spawnStrata(args), withinMs)
}

/**
 * A Node program (ES module text) in a child process until it exits by itself, or `withinMs`
 * passes ('still running'); killed when `t` ends if it has not exited. For what must be seen
 * from outside a process: that it exits, what it printed.
 */
export async function runProgram(
  t: TestContext,
  program: string,
  withinMs = 30_000,
): Promise<{ code: number | null | 'still running'; output: string }> {
  return untilExit(
    t,
    captured(
      spawn(process.execPath, ['--input-type=module', '-e', program], { stdio: ['ignore', 'pipe', 'pipe'] }),
    ),
    withinMs,
  )
}

async function untilExit(t: TestContext, run: SpawnedStrata, withinMs: number) {
  deferrer(t)(async () => {
    if (run.child.exitCode === null) run.child.kill('SIGKILL')
    await run.exited
  })
  const code = await Promise.race([
    run.exited,
    new Promise<'still running'>((r) => setTimeout(r, withinMs, 'still running').unref()),
  ])
  return { code, output: run.output() }
}
