// core/compile-cache.ts: the threads a process starts read their modules from Node's compile
// cache (a thread's TypeScript stripped and compiled once, not once per thread).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readdir, rm, stat, symlink } from 'node:fs/promises'
import module from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { Worker } from 'node:worker_threads'
import { ownFolder, threadEnv } from '../../src/core/compile-cache.ts'

test('a thread is given the compile cache, unless the environment turns it off or names its own', async (t) => {
  // A tmp of the test's own: the machine's may hold a node-compile-cache of another user.
  const dir = await mkdtemp(join(tmpdir(), 'strata-compile-cache-'))
  const before = process.env.TMPDIR
  process.env.TMPDIR = dir
  t.after(async () => {
    if (before === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = before
    await rm(dir, { recursive: true, force: true })
  })
  const env = threadEnv({ PATH: '/bin' })
  assert.equal(env.PATH, '/bin')
  // Under `npm test` this process has the cache on already (scripts/test.ts): then its folder.
  const enabled = module.getCompileCacheDir?.()
  assert.equal(env.NODE_COMPILE_CACHE, enabled ? dirname(enabled) : join(dir, 'node-compile-cache'))
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
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: dir }
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

// The cache's entries are run as they are: a folder anyone else may write to is not used.
test('a cache folder that others may write to, or that is a link, is not used', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-compile-cache-'))
  try {
    const fresh = join(dir, 'fresh')
    assert.equal(ownFolder(fresh), fresh)
    assert.equal((await stat(fresh)).mode & 0o777, 0o700)
    assert.equal(ownFolder(fresh), fresh, 'found again')
    const open = join(dir, 'open')
    await mkdir(open)
    await chmod(open, 0o777)
    assert.equal(ownFolder(open), undefined)
    const link = join(dir, 'link')
    await symlink(fresh, link)
    assert.equal(ownFolder(link), undefined)
    assert.equal(ownFolder(join(dir, 'missing', 'deeper')), undefined)
    // Ours, but in a folder others may write to: they could swap it for a link after the check.
    await chmod(dir, 0o777)
    assert.equal(ownFolder(fresh), undefined, 'in a folder anyone may write to')
    assert.equal(ownFolder(join(dir, 'new')), undefined, 'not created there either')
    await chmod(dir, 0o1777)
    assert.equal(ownFolder(fresh), fresh, 'with the sticky bit, as /tmp, only its owner may move it')
    await chmod(dir, 0o700)
    // threadEnv then gives the environment as it is.
    const env = { TMPDIR: open }
    const script = `import(${JSON.stringify(new URL('../../src/core/compile-cache.ts', import.meta.url).href)}).then(({ threadEnv }) => console.log(JSON.stringify(threadEnv({}))))`
    await chmod(open, 0o755)
    await mkdir(join(open, 'node-compile-cache'))
    await chmod(join(open, 'node-compile-cache'), 0o777)
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      env: { PATH: process.env.PATH, ...env },
    })
    assert.deepEqual(JSON.parse(stdout), {})
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
