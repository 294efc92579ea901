// The `strata` command turns Node's compile cache on for itself (bin/strata.js), in a folder of its
// own under the tmp folder, unless the environment says otherwise; a tmp folder whose cache folder
// is not ours alone is left alone.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'

const run = promisify(execFile)
const strata = join(import.meta.dirname, '..', '..', 'bin', 'strata.js')

async function cacheEntries(tmp: string): Promise<number> {
  const folder = join(tmp, 'node-compile-cache')
  let versions: string[]
  try {
    versions = await readdir(folder)
  } catch {
    return 0
  }
  let entries = 0
  for (const version of versions) entries += (await readdir(join(folder, version))).length
  return entries
}

test('strata writes its compiled modules to the compile cache in its own tmp folder', async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), 'strata-cli-cache-'))
  t.after(() => rm(tmp, { recursive: true, force: true }))
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp }
  delete env.NODE_COMPILE_CACHE
  delete env.NODE_DISABLE_COMPILE_CACHE
  await run(process.execPath, [strata, 'query', '--help'], { env })
  assert.ok((await cacheEntries(tmp)) > 10, 'the command’s modules are in the cache')
})

test('NODE_DISABLE_COMPILE_CACHE, or a cache folder others may write to, leaves the cache off', async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), 'strata-cli-cache-'))
  t.after(() => rm(tmp, { recursive: true, force: true }))
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, NODE_DISABLE_COMPILE_CACHE: '1' }
  delete env.NODE_COMPILE_CACHE
  await run(process.execPath, [strata, 'query', '--help'], { env })
  assert.equal(await cacheEntries(tmp), 0)

  const shared = join(tmp, 'node-compile-cache')
  await mkdir(shared)
  await chmod(shared, 0o777)
  delete env.NODE_DISABLE_COMPILE_CACHE
  await run(process.execPath, [strata, 'query', '--help'], { env })
  assert.equal(await cacheEntries(tmp), 0, 'nothing written to a folder anyone may write to')
})
