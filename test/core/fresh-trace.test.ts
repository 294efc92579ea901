// core/fresh-trace.ts: with STRATA_FRESH_TRACE naming a file, trace() appends a JSON line stamped
// with the shared clock and the thread, after a line naming the thread; without it, nothing is
// written and `tracing` is false (the call sites build no line).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'

const run = promisify(execFile)
const module = join(import.meta.dirname, '../../src/core/fresh-trace.ts')
const script = `import { trace, tracing } from ${JSON.stringify(module)}
if (tracing) trace({ e: 'take', p: 3, to: 42 })
console.log(String(tracing))`

test('a trace line per call when STRATA_FRESH_TRACE names a file, and none without it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fresh-trace-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'trace.jsonl')
  const before = performance.timeOrigin + performance.now()
  const on = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, STRATA_FRESH_TRACE: file },
  })
  assert.equal(on.stdout.trim(), 'true')
  const lines = (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  assert.deepEqual(
    lines.map((l) => l.e),
    ['thread', 'take'],
  )
  const take = lines[1]
  assert.equal(take.p, 3)
  assert.equal(take.to, 42)
  assert.equal(take.th, 0)
  // The shared clock: epoch milliseconds, after this test's own reading of it.
  assert.ok(take.t >= before && take.t <= Date.now() + 1000, `t ${take.t}`)

  const env = { ...process.env }
  delete env.STRATA_FRESH_TRACE
  const off = await run(process.execPath, ['--input-type=module', '-e', script], { env })
  assert.equal(off.stdout.trim(), 'false')
  assert.equal((await readFile(file, 'utf8')).trim().split('\n').length, 2)
})
