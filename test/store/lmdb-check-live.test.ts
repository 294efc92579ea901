// The header check reads data.mdb without LMDB's locks: a store another process is creating or
// growing at that moment can look truncated. Such a store grows while we look again; a truncated
// one does not (src/store/lmdb-check.ts, checkLmdbHeader).
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { open } from 'lmdb'
import { checkLmdbHeader } from '../../src/store/lmdb-check.ts'
import { ChecksummedValues } from '../../src/store/lmdb-checksum.ts'

async function soundStoreBytes(dir: string): Promise<Buffer> {
  const db = open({ path: dir, compression: false, encoder: new ChecksummedValues() })
  await db.transaction(() => {
    for (let i = 0; i < 2_000; i++) db.put(['b', 'view', 1, `key-${i}`, i], { count: i })
  })
  await db.close()
  return readFile(join(dir, 'data.mdb'))
}

test('a store caught mid-write looks truncated, and passes once it has grown', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-lmdb-live-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const whole = await soundStoreBytes(join(dir, 'sound'))
  const live = join(dir, 'live')
  await soundStoreBytes(live)
  // What a reader can see while the writer's pages are not all in the file yet: the meta pages
  // (the first two pages) naming pages past the end.
  const psize = whole.readUInt32LE(48)
  await writeFile(join(live, 'data.mdb'), whole.subarray(0, 2 * psize))
  const checking = checkLmdbHeader(live, 300)
  await new Promise((resolve) => setTimeout(resolve, 50))
  await writeFile(join(live, 'data.mdb'), whole) // the writer finishes
  assert.equal(await checking, true)
})

test('a truncated store that stays truncated is STRATA_ERR_STORE_CORRUPT', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-lmdb-cut-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const whole = await soundStoreBytes(join(dir, 'cut'))
  const psize = whole.readUInt32LE(48)
  await writeFile(join(dir, 'cut', 'data.mdb'), whole.subarray(0, 2 * psize))
  await assert.rejects(checkLmdbHeader(join(dir, 'cut'), 50), (error: any) => {
    assert.equal(error.code, 'STRATA_ERR_STORE_CORRUPT')
    assert.match(error.message, /truncated/)
    return true
  })
})
