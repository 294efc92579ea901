// A damaged LMDB store (issue 11): a truncated data.mdb was a SIGBUS at start, a damaged page an
// unhandled MDB_* rejection a few seconds after "ready". Now each is STRATA_ERR_STORE_CORRUPT
// naming the recovery, found before LMDB maps the file or by the first call that meets it.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { promisify } from 'node:util'
import { open } from 'lmdb'
import { ErrorCodes } from '../../src/core/errors.ts'
import { walkLmdbStore } from '../../src/store/lmdb-check.ts'
import { ChecksummedValues } from '../../src/store/lmdb-checksum.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import { damageLmdbStore, type LmdbDamage } from '../helpers/lmdb-damage.ts'

const ROWS = 20_000
const run = promisify(execFile)

async function filledStore(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-lmdb-damage-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const db = open({ path: dir, compression: false, encoder: new ChecksummedValues() })
  await db.transaction(() => {
    for (let i = 0; i < ROWS; i++) db.put(['b', 'view', 1, `key-${i}`, i], { count: i })
  })
  await db.close()
  return dir
}

const isCorrupt = (error: unknown): boolean => {
  const e = error as { code?: string; message?: string }
  assert.equal(e.code, ErrorCodes.STORE_CORRUPT, String(e.message))
  assert.match(String(e.message), /move the store folder aside/)
  return true
}

test('the integrity walk reads every row of a sound store', async (t) => {
  const dir = await filledStore(t)
  assert.equal(await walkLmdbStore(dir), ROWS)
})

for (const kind of ['truncated', 'meta-page'] as LmdbDamage[]) {
  test(`a store with a ${kind} is refused before LMDB maps it, even without the walk`, async (t) => {
    const dir = await filledStore(t)
    await damageLmdbStore(dir, kind)
    await assert.rejects(openLmdbStore(dir), isCorrupt)
  })
}

test('a damaged data page is found by the walk at open', async (t) => {
  const dir = await filledStore(t)
  await damageLmdbStore(dir, 'data-page')
  await assert.rejects(openLmdbStore(dir, { walk: true }), isCorrupt)
})

test('a page damaged while running: every call answers STRATA_ERR_STORE_CORRUPT, onCorrupt hears once, nothing unhandled', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-lmdb-damage-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const fixture = new URL('./lmdb-damage.fixture.ts', import.meta.url).pathname
  const { stdout, stderr } = await run(process.execPath, [fixture, dir])
  const seen = JSON.parse(stdout.trim().split('\n').at(-1) as string)
  assert.deepEqual(seen.before, [])
  const corrupt = ErrorCodes.STORE_CORRUPT
  assert.deepEqual(seen.calls, { read: corrupt, write: corrupt, scan: corrupt }, stderr)
  assert.deepEqual(seen.reported, [corrupt])
})
