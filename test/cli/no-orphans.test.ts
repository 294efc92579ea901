// No strata process outlives what started it (issue 11: SIGTERM to `npm start` left strata
// orphaned, still serving). Played as users run it: `npm start` (npm -> node bin/strata.js)
// stopped by SIGTERM, SIGINT or kill -9 of npm; the launcher (bin/strata.js on an older Node,
// re-running itself on Node 24) killed by kill -9. Afterwards no process names the data folder
// and the port is free.
import assert from 'node:assert/strict'
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { bin, freePort } from '../helpers/process.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const exampleConfig = join(root, 'examples/pageviews/strata.config.ts')

/** The pids whose command line mentions `text` (this test's own process excluded). */
function processesWith(text: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry))
    } catch {
      // it ended meanwhile
    }
  }
  return pids
}

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`timed out waiting for ${what}`)
}

const healthy = async (port: number) =>
  (await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined))?.ok === true

/** Starts `command`, waits for strata to serve, then hands it to `stop`; nothing may remain. */
async function playStop(
  t: { after(fn: () => Promise<void>): void },
  start: (port: number, dir: string) => ChildProcess,
  stop: (child: ChildProcess) => void,
) {
  const dir = await mkdtemp(join(tmpdir(), 'strata-orphans-'))
  const port = await freePort()
  const child = start(port, dir)
  t.after(async () => {
    for (const pid of processesWith(dir)) process.kill(pid, 'SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })
  await until(() => healthy(port), 'strata to serve')
  stop(child)
  await until(() => processesWith(dir).length === 0, `no process left on ${dir}`, 20_000)
  assert.equal(await healthy(port), false, 'nothing answers on the port any more')
}

const npm = (() => {
  try {
    execFileSync('npm', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

const startNpm = (port: number, dir: string) =>
  spawn('npm', ['start', '--', '--port', String(port), '--data', dir], { cwd: root, stdio: 'ignore' })

for (const signal of ['SIGTERM', 'SIGINT', 'SIGKILL'] as const) {
  test(`${signal} to npm start leaves no strata process behind`, { skip: !npm && 'no npm' }, async (t) => {
    await playStop(t, startNpm, (child) => child.kill(signal))
  })
}

// The launcher path needs a Node older than 24 (the system's, here Node 20) to re-run on Node 24.
const oldNode = (() => {
  try {
    const version = execFileSync('/usr/bin/node', ['--version'], { encoding: 'utf8' })
    return Number(version.slice(1).split('.')[0]) < 24 ? '/usr/bin/node' : undefined
  } catch {
    return undefined
  }
})()

test('kill -9 of the launcher leaves no strata process behind', {
  skip: !oldNode && 'no Node older than 24 at /usr/bin/node',
}, async (t) => {
  await playStop(
    t,
    (port, dir) =>
      spawn(
        oldNode!,
        [bin, 'start', '--config', exampleConfig, '--port', String(port), '--data', dir],
        // Not under npm: only the launcher's IPC channel can tell the child its parent is gone.
        { stdio: 'ignore', env: { ...process.env, npm_lifecycle_event: '' } },
      ),
    (child) => child.kill('SIGKILL'),
  )
})
