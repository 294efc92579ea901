// `npm run test:scale -- --help` answers and starts nothing (it used to run the whole test:
// S3Proxy, a Spark cluster and 200,000 events).
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'node:test'

const script = join(import.meta.dirname, 'spark-s3.ts')

test('test:scale --help prints its usage and exits 0 without starting anything', () => {
  const result = spawnSync(process.execPath, [script, '--help'], {
    encoding: 'utf8',
    timeout: 20_000,
    // No valid port and no broker: were anything started, it would fail at once, not run.
    env: { ...process.env, STRATA_SCALE_PORT: 'none', STRATA_TEST_BROKERS: '127.0.0.1:1' },
  })
  assert.equal(result.status, 0, result.stderr)
  assert.match(result.stdout, /Usage: npm run test:scale/)
  assert.doesNotMatch(result.stdout, /scale: \d+ events/)
})

test('test:scale with an unknown argument exits 2 with the usage', () => {
  const result = spawnSync(process.execPath, [script, '--events', '10'], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, STRATA_SCALE_PORT: 'none', STRATA_TEST_BROKERS: '127.0.0.1:1' },
  })
  assert.equal(result.status, 2)
  assert.match(result.stdout, /STRATA_SCALE_EVENTS/)
})
