// `strata produce` with nothing on stdin (a wrong redirect, an empty file): it exits 1 with
// STRATA_ERR_EMPTY_BATCH and says there were no events, not "1 bad line(s)" as it did for a user
// who fed it /dev/null. The input is checked before Kafka is touched, so no broker is needed
// (the one given refuses connections).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { bin } from '../runtime/start-helpers.ts'

function produce(stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'produce', '--topic', 'never', '--brokers', '127.0.0.1:1'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(stdin)
  })
}

test('strata produce on an empty stdin says there were no events, with STRATA_ERR_EMPTY_BATCH, and sends nothing', async () => {
  for (const input of ['', '\n\n  \n']) {
    const { code, stdout, stderr } = await produce(input)
    assert.equal(code, 1, stderr)
    assert.equal(stdout, '')
    const [first, last] = stderr.trim().split('\n')
    assert.equal(JSON.parse(first!).error.code, 'STRATA_ERR_EMPTY_BATCH')
    assert.equal(last, 'strata produce: no events on stdin (one JSON event per line); nothing was sent')
    assert.doesNotMatch(stderr, /bad line/)
  }
})

test('strata produce still counts bad lines when there are some', async () => {
  const { code, stderr } = await produce('{"ts":1}\n{"ts":\n[1]\n')
  assert.equal(code, 1)
  const lines = stderr.trim().split('\n')
  assert.deepEqual(
    lines.slice(0, 2).map((l) => JSON.parse(l).error.line),
    [2, 3],
  )
  assert.equal(lines[2], 'strata produce: 2 bad line(s); nothing was sent')
})
