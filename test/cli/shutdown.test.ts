// Regression (found by the fault suite, issue 7): a `strata worker speed` whose consumer gave up
// after a failed store commit (PostgreSQL restarting) let its event loop empty and exited with
// code 0, which a supervisor reads as a job done and does not restart.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'

const shutdown = new URL('../../src/cli/shutdown.ts', import.meta.url).href

function runChild(body: string) {
  const script = `import { onShutdown } from '${shutdown}'
const logger = { info() {}, warn() {}, error: (m) => console.error(m) }
${body}`
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
}

test('a long-running command whose role stopped by itself exits with code 1', () => {
  const result = runChild('onShutdown(logger, async () => {})')
  assert.equal(result.status, 1)
  assert.match(result.stderr, /nothing is running any more/)
})

test('a long-running command stopped by a signal still exits with code 0', () => {
  const result = runChild(
    "onShutdown(logger, async () => {}); setInterval(() => {}, 1000); process.kill(process.pid, 'SIGTERM')",
  )
  assert.equal(result.status, 0)
})

test('one Ctrl-C delivered twice (npm and the process group) still shuts down gracefully', () => {
  // Two SIGTERMs a moment apart, as npm forwards the signal the process group already got: the
  // close (300 ms) must finish, exit 0, instead of the second one's "exit now" (130).
  const result = runChild(
    `onShutdown({ ...logger, warn: (m) => console.error(m) }, () => new Promise((r) => setTimeout(r, 300)))
setInterval(() => {}, 1000)
process.kill(process.pid, 'SIGTERM')
setTimeout(() => process.kill(process.pid, 'SIGTERM'), 20)`,
  )
  assert.equal(result.status, 0, result.stderr)
  assert.doesNotMatch(result.stderr, /again/)
})

test('a second signal well after the first still exits at once', () => {
  const result = runChild(
    `onShutdown(logger, () => new Promise(() => {}))
setInterval(() => {}, 1000)
process.kill(process.pid, 'SIGTERM')
setTimeout(() => process.kill(process.pid, 'SIGTERM'), 1200)`,
  )
  assert.equal(result.status, 130)
})
