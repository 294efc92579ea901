// `strata start` on a disk with a few KiB left (a small tmpfs; needs root): the lock fitted, then
// the embedded store's first commit failed inside lmdb-js ("Error: Input/output error", printed
// by lmdb-js), whose write promise then never settled, and the process ended with Node's exit
// code 13 ("unsettled top-level await") and no line of ours. A start now checks the room on the
// disks it writes before it opens anything: STRATA_ERR_DISK_FULL naming the folder, exit 1.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, statfs, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { freePort, spawnStrata } from '../helpers/process.ts'
import { exampleConfig } from './start-helpers.ts'

test('strata start on a nearly full disk: exit 1 with STRATA_ERR_DISK_FULL naming the folder', {
  skip: process.getuid?.() === 0 ? false : 'needs root to mount a small tmpfs',
}, async (t) => {
  const disk = await mkdtemp(join(tmpdir(), 'strata-start-disk-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk])
  t.after(async () => {
    execFileSync('umount', [disk])
    await rm(disk, { recursive: true, force: true })
  })
  // Leave 40 KiB: room for the lock files and a first page of LMDB, not for its first commits.
  const { bavail, bsize } = await statfs(disk)
  await writeFile(join(disk, 'filler'), Buffer.alloc(bavail * bsize - 40 * 1024))
  const data = join(disk, 'data')
  const run = spawnStrata([
    'start',
    '--config',
    exampleConfig,
    '--data',
    data,
    '--port',
    String(await freePort()),
  ])
  assert.equal(await run.exited, 1, run.output())
  assert.match(run.output(), new RegExp(`^strata: .*${data}.*\\[STRATA_ERR_DISK_FULL\\]$`, 'm'), run.output())
})
