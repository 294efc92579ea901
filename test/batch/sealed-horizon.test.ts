// Regression: a batch run opened the segment store to read the horizon, and opening removes
// "crash leftovers" — which, while the embedded log was sealing (checksum sidecar written, data
// file not yet renamed into place), deleted a live sidecar and left a sealed segment without a
// checksum, failing every batch run after it. Reading the horizon must not touch the files.
import assert from 'node:assert/strict'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { sealedHorizon } from '../../src/batch/batch-run.ts'
import { SegmentBuilder, SegmentStore } from '../../src/master-dataset/index.ts'
import { tempDir } from '../master-dataset/test-helpers.ts'

test('reading the sealed horizon leaves a writer’s in-flight files alone', async (t) => {
  const root = await tempDir(t, 'strata-horizon-')
  const store = await SegmentStore.open(root)
  const builder = new SegmentBuilder()
  builder.add({ offset: 0, timestamp: 1, key: null, value: Buffer.from('{"ts":1}') })
  await store.writeSegment(0, { start: 0, end: 1 }, builder.data(), builder.packer())
  // A seal in progress: the sidecar is durable, the data file is not renamed yet.
  const sidecar = '00000000000000000001-00000000000000000002.ndjson.sha256'
  await writeFile(join(root, 'p0000', sidecar), 'abc  00000000000000000001-00000000000000000002.ndjson\n')
  await writeFile(join(root, 'p0000', '.x.packed.123.abcd.tmp'), 'partial')
  assert.deepEqual(await sealedHorizon(root, 2), [1, 0])
  const names = await readdir(join(root, 'p0000'))
  assert.ok(names.includes(sidecar))
  assert.ok(names.includes('.x.packed.123.abcd.tmp'))
})
