// A compaction pass killed (SIGKILL) in a later nested transaction, after earlier ones were
// merged into it: nothing of it is in the store. Every key's state row is as the pass found it,
// its deltas still in the log, and a fold after the restart counts each delta once.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { CHILD_GROUPS } from '../../src/store/lmdb-speed-log.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import { deferrer } from '../helpers/cleanup.ts'

test('a pass killed in a later nested transaction leaves the store as it was; the fold after counts each delta once', async (t) => {
  const defer = deferrer(t)
  const dir = mkdtempSync(join(tmpdir(), 'strata-kill-'))
  defer(() => rmSync(dir, { recursive: true, force: true }))
  const n = 3 * CHILD_GROUPS + 11
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, 'lmdb-compaction-kill.fixture.ts'), dir, String(n)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  let out = ''
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      out += chunk
      if (out.includes('mid-pass')) resolve()
    })
    child.on('exit', () => reject(new Error(`the fixture ended before the kill: ${out}`)))
  })
  const exited = new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)))
  child.kill('SIGKILL')
  assert.equal(await exited, 'SIGKILL')

  const add = (_view: string, a: unknown, b: unknown) => (a as number) + (b as number)
  const store = await openLmdbStore(dir, { compactor: { auto: false } })
  defer(() => store.close())
  const keys = [0, CHILD_GROUPS - 1, CHILD_GROUPS, 2 * CHILD_GROUPS, 2 * CHILD_GROUPS + 1, n - 1].map(
    (i) => `/k${i}`,
  )
  const states = async () => {
    const out: number[][] = []
    for (const key of keys)
      out.push((await store.snapshot('hits', key)).realtime.map((r) => r.state as number))
    return out
  }
  // The first fold's state rows and the second commit's deltas, apart: nothing of the killed pass.
  assert.deepEqual(
    await states(),
    keys.map(() => [1, 2]),
  )
  assert.equal(await store.compactSpeed(add), 1)
  assert.deepEqual(
    await states(),
    keys.map(() => [3]),
  )
})
