// The segment scrub's hashing thread (segment-hash.ts): the digest a sidecar records, a missing
// file refused as a read would be, and a hash in progress ended by close().
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { BACKGROUND_NICE } from '../../src/core/thread-priority.ts'
import { SegmentHasher } from '../../src/master-dataset/segment-hash.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { threadNames, threadNices } from '../helpers/threads.ts'
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

// The hashing thread's priority was checked by nothing: its lowerThreadPriority call could go
// and the first pass would again compete with the HTTP server at its own priority. Linux only;
// not checkable when the test itself runs at or below that nice value already.
test('the hashing thread runs at BACKGROUND_NICE, below the main thread', async (t) => {
  if (process.platform !== 'linux') return
  const main = threadNices().get(process.pid)!
  if (main >= BACKGROUND_NICE) return t.skip(`the test runs at nice ${main} already`)
  const defer = deferrer(t)
  const dir = await tempDir(t)
  await writeFile(join(dir, 'a'), 'x')
  const hasher = new SegmentHasher()
  defer(() => hasher.close())
  await hasher.hash(join(dir, 'a')) // the thread is up and has set its priority
  const nices = threadNices()
  const scrubs = [...threadNames()].filter(([, name]) => name.startsWith('strata segment'))
  assert.equal(scrubs.length, 1, [...threadNames().values()].join(', '))
  assert.equal(nices.get(scrubs[0]![0]), BACKGROUND_NICE)
  assert.equal(nices.get(process.pid), main, 'the main thread keeps its nice value')
})
