// Regression (found by the fault suite, issue 7): `strata worker speed` started while a broker
// restarted failed to join its group, printed the error, and then stayed alive for minutes — its
// half-open Kafka client kept the event loop busy — so its supervisor saw a running worker and
// never restarted it. A failed command now exits 1 whatever handles are still open.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'

const main = new URL('../../src/cli/main.ts', import.meta.url).href

test('a command that fails exits with code 1 even with a handle left open', () => {
  // The interval stands for the handle a half-started role leaves behind.
  const script = `import { main } from '${main}'
setInterval(() => {}, 1000)
await main(['node', 'strata', 'worker', 'no-such-role'])`
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000, // only so a regression fails instead of hanging the suite
  })
  assert.equal(result.signal, null, 'the command lingered after failing')
  assert.equal(result.status, 1)
  assert.match(result.stderr, /unknown role "no-such-role".*\[STRATA_ERR_INVALID_ARGUMENT\]/)
})
