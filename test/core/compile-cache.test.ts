// core/compile-cache.ts: the threads a process starts read their modules from Node's compile
// cache (a thread's TypeScript stripped and compiled once, not once per thread).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { Worker } from 'node:worker_threads'
import { threadEnv } from '../../src/core/compile-cache.ts'

test('a thread is given the compile cache, unless the environment turns it off or names its own', () => {
  const env = threadEnv({ PATH: '/bin' })
  assert.equal(env.PATH, '/bin')
  assert.ok(env.NODE_COMPILE_CACHE, 'a cache directory')
  assert.equal(basename(env.NODE_COMPILE_CACHE), 'node-compile-cache')
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

// Run in a fresh process (no compile cache yet, its tmpdir a temporary folder): the first and the
// later threads, and the process itself, must use one cache folder. Node puts its cache in a
// versioned folder under the one it is given, so handing a thread the versioned folder the main
// thread reports (module.getCompileCacheDir) nests a second cache inside the first.
test('every thread a process starts uses the same cache folder, and the process does not enable the cache itself', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-compile-cache-'))
  try {
    const script = `
      const module = require('node:module')
      const { Worker } = require('node:worker_threads')
      import(${JSON.stringify(new URL('../../src/core/compile-cache.ts', import.meta.url).href)}).then(async ({ threadEnv }) => {
        const dirs = []
        for (let i = 0; i < 3; i++) {
          const worker = new Worker("require('node:worker_threads').parentPort.postMessage(require('node:module').getCompileCacheDir())", { eval: true, env: threadEnv() })
          dirs.push(await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject) }))
          await worker.terminate()
        }
        console.log(JSON.stringify({ dirs, main: module.getCompileCacheDir() ?? null }))
      })`
    const env = { ...process.env, TMPDIR: dir }
    delete env.NODE_COMPILE_CACHE
    delete env.NODE_DISABLE_COMPILE_CACHE
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { env })
    const { dirs, main } = JSON.parse(stdout) as { dirs: string[]; main: string | null }
    assert.equal(main, null, 'the main thread keeps the cache off')
    assert.equal(new Set(dirs).size, 1, `one folder for every thread: ${dirs.join(', ')}`)
    assert.equal(dirname(dirs[0]!), join(dir, 'node-compile-cache'))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
