// A store folder this process cannot write (a read-only mount, another user's folder): opening it
// fails with STRATA_ERR_STORE naming the cause and what to do. Met from a user's seat: `strata
// query` and `strata batch` on a read-only data folder said only "cannot open the LMDB store at
// …", the EACCES under --verbose. Run in a child as another user when this is root (root writes
// anything), else as this user after a chmod.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'

test('a store folder this process cannot write is refused with the cause and the way out', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-ro-store-'))
  t.after(async () => {
    await chmod(join(dir, 'store'), 0o755).catch(() => undefined)
    await rm(dir, { recursive: true, force: true })
  })
  const path = join(dir, 'store')
  const store = await openLmdbStore(path)
  await store.close()
  await chmod(dir, 0o755)
  await chmod(path, 0o555)
  const module = pathToFileURL(join(import.meta.dirname, '../../src/store/lmdb-store.ts')).href
  const script = `import(${JSON.stringify(module)}).then((m) => m.openLmdbStore(${JSON.stringify(path)})).then(
    () => console.log('opened'),
    (e) => console.log(JSON.stringify({ code: e.code, message: e.message })))`
  const asOther = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    ...asOther,
  })
  assert.equal(child.status, 0, child.stderr)
  const answer = JSON.parse(child.stdout.trim()) as { code: string; message: string }
  assert.equal(answer.code, 'STRATA_ERR_STORE')
  assert.match(answer.message, new RegExp(`^cannot open the LMDB store at ${path}: .*[Pp]ermission denied`))
  assert.match(answer.message, /must be writable by this process/)
})
