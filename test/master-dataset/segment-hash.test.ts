// The segment scrub's hashing thread (segment-hash.ts): the digest a sidecar records, a missing
// file refused as a read would be, and a hash in progress ended by close().
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { SegmentHasher } from '../../src/master-dataset/segment-hash.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { tempDir } from './test-helpers.ts'

test('the hashing thread answers the SHA-256 of each file, and ENOENT for a missing one', async (t) => {
  const defer = deferrer(t)
  const dir = await tempDir(t)
  const hasher = new SegmentHasher()
  defer(() => hasher.close())
  const a = Buffer.alloc(3 << 20, 'a')
  const b = Buffer.from('{"offset":0}\n')
  await writeFile(join(dir, 'a'), a)
  await writeFile(join(dir, 'b'), b)
  const [ha, hb] = await Promise.all([hasher.hash(join(dir, 'a')), hasher.hash(join(dir, 'b'))])
  assert.equal(ha, createHash('sha256').update(a).digest('hex'))
  assert.equal(hb, createHash('sha256').update(b).digest('hex'))
  await assert.rejects(hasher.hash(join(dir, 'missing')), { code: 'ENOENT' })
})

test('close() ends the thread: a hash in progress and any later one reject', async (t) => {
  const dir = await tempDir(t)
  await writeFile(join(dir, 'big'), Buffer.alloc(64 << 20))
  const hasher = new SegmentHasher()
  const pending = assert.rejects(hasher.hash(join(dir, 'big')), /closed/)
  await hasher.close()
  await pending
  await assert.rejects(hasher.hash(join(dir, 'big')), /closed/)
})
