// Issue 7 on the command line: `strata produce --topic T` as a real child process, fed the same
// malformed NDJSON as POST /events (test/ingest/bad-input.ts). Each run exits non-zero, prints
// the code and line of the bad line, and writes nothing: the topic's end offsets on the real
// broker do not move. Spawning costs about half a second, so fewer runs than the HTTP property.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import fc from 'fast-check'
import { createAdmin } from '../../src/log/kafka/index.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { brokers, freshTopic } from '../helpers/kafka.ts'
import { badBatch, goodBatch } from '../ingest/bad-input.ts'
import { bin } from '../runtime/start-helpers.ts'

function produce(
  topic: string,
  stdin: Buffer,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'produce', '--topic', topic, '--brokers', brokers], {
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

test('strata produce: a bad line among good ones exits non-zero, names code and line, and writes nothing', async (t) => {
  const defer = deferrer(t)
  const topic = await freshTopic(t, 2)
  const admin = createAdmin({ brokers })
  defer(() => admin.close())
  const written = async () => (await admin.listOffsets(topic)).reduce((sum, p) => sum + p.latest, 0)

  await fc.assert(
    fc.asyncProperty(badBatch, async (batch) => {
      const { code, stdout, stderr } = await produce(topic, batch.body)
      assert.equal(code, 1, `${batch.bad.kind}: exit ${code}\n${stderr}`)
      assert.equal(stdout, '')
      const errors = stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l).error)
      assert.deepEqual(
        errors.map((e) => [e.code, e.line]),
        [[batch.bad.code, batch.line]],
        `${batch.bad.kind}: ${stderr}`,
      )
      assert.match(stderr, /nothing was sent/)
      assert.equal(await written(), 0, 'nothing of a rejected input reaches the topic')
    }),
    { numRuns: 15 },
  )

  // The same command with good input does write, in full: the test above could see a write.
  const [good] = fc.sample(goodBatch, { numRuns: 1, seed: 7 })
  const ok = await produce(topic, good.body)
  assert.equal(ok.code, 0, ok.stderr)
  assert.equal(JSON.parse(ok.stdout).count, good.events.length)
  assert.equal(await written(), good.events.length)
})
