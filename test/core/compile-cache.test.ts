// core/compile-cache.ts: the threads a process starts read their modules from Node's compile
// cache (a thread's TypeScript stripped and compiled once, not once per thread).
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { Worker } from 'node:worker_threads'
import { threadEnv } from '../../src/core/compile-cache.ts'

test('a thread is given the compile cache, unless the environment turns it off or names its own', () => {
  const env = threadEnv({ PATH: '/bin' })
  assert.equal(env.PATH, '/bin')
  assert.ok(env.NODE_COMPILE_CACHE, 'a cache directory')
  assert.ok(existsSync(env.NODE_COMPILE_CACHE))
  assert.deepEqual(threadEnv({ NODE_DISABLE_COMPILE_CACHE: '1' }), { NODE_DISABLE_COMPILE_CACHE: '1' })
  assert.deepEqual(threadEnv({ NODE_COMPILE_CACHE: '/somewhere' }), { NODE_COMPILE_CACHE: '/somewhere' })
})

test('a thread started with that environment writes its compiled TypeScript modules to the cache', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-compile-cache-'))
  try {
    const module = new URL('../../src/core/duration.ts', import.meta.url).href
    const worker = new Worker(
      `import(${JSON.stringify(module)}).then(() => require('node:worker_threads').parentPort.postMessage('loaded'))`,
      { eval: true, env: threadEnv({ ...process.env, NODE_COMPILE_CACHE: dir }) },
    )
    const [message] = (await new Promise((resolve, reject) => {
      worker.once('message', (m) => resolve([m]))
      worker.once('error', reject)
    })) as [string]
    await worker.terminate()
    assert.equal(message, 'loaded')
    // Node writes its cache when the thread ends: one folder per Node version, files inside.
    const versions = await readdir(dir)
    assert.equal(versions.length, 1)
    assert.ok((await readdir(join(dir, versions[0]!))).length > 0, 'cache entries written')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
