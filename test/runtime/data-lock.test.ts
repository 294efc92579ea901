// The data folder's lock (runtime/data-lock.ts): one holder at a time, across processes and
// within one; the refusal names the holder's pid; the OS lets go when the holder dies by kill -9.
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ErrorCodes, isStrataError } from '../../src/core/errors.ts'
import { HOLDER_FILE, lockFolder, lockFolders, readHolder } from '../../src/runtime/data-lock.ts'

const moduleUrl = new URL('../../src/runtime/data-lock.ts', import.meta.url).href

async function scratch(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-lock-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A process that takes the lock, says "locked", and waits to be killed. */
async function holder(dir: string) {
  const script = `import { lockFolder } from ${JSON.stringify(moduleUrl)}
lockFolder(${JSON.stringify(dir)}, 'test holder'); console.log('locked'); setInterval(() => {}, 1e6)`
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const [chunk] = await once(child.stdout!, 'data')
  assert.match(String(chunk), /locked/)
  return child
}

function refusal(dir: string): Error & { code?: string } {
  try {
    lockFolder(dir, 'second').release()
  } catch (error) {
    assert.ok(isStrataError(error), String(error))
    return error
  }
  assert.fail('the second lock was granted')
}

test('a second process is refused with the holder pid; kill -9 of the holder releases the lock', async (t) => {
  const dir = await scratch(t)
  const child = await holder(dir)
  t.after(() => child.kill('SIGKILL'))
  const error = refusal(dir)
  assert.equal(error.code, ErrorCodes.DATA_LOCKED)
  assert.match(error.message, new RegExp(`in use by strata pid ${child.pid} \\(test holder, since `))
  assert.match(error.message, /stop it, or give another --data/)
  assert.equal(readHolder(dir)?.pid, child.pid)

  child.kill('SIGKILL')
  await once(child, 'exit')
  const lock = lockFolder(dir, 'after kill -9')
  assert.equal(readHolder(dir)?.pid, process.pid)
  lock.release()
})

test('within one process too, a second lock is refused until the first is released', async (t) => {
  const dir = await scratch(t)
  const first = lockFolder(dir, 'first')
  assert.equal(refusal(dir).code, ErrorCodes.DATA_LOCKED)
  first.release()
  first.release() // idempotent
  assert.equal(existsSync(join(dir, HOLDER_FILE)), false, 'the holder file goes with the lock')
  lockFolder(dir, 'again').release()
})

test('lockFolders takes all or none', async (t) => {
  const a = await scratch(t)
  const b = await scratch(t)
  const held = lockFolder(b, 'holder of b')
  assert.throws(() => lockFolders([a, b], 'both'), { code: ErrorCodes.DATA_LOCKED })
  lockFolder(a, 'a is free again').release() // a was released when b failed
  held.release()
  const both = lockFolders([a, b, a], 'both')
  both.release()
})

// `strata start --data` on a full disk said "database or disk is full [STRATA_ERR_INTERNAL]":
// SQLite's words, no folder, and a code that reads as Strata's bug. A full disk is the
// operator's to fix, so it is STRATA_ERR_DISK_FULL naming the folder, and no lock is held.
test('a full disk: the lock is refused with STRATA_ERR_DISK_FULL naming the folder', {
  skip: process.getuid?.() === 0 ? false : 'needs root to mount a small tmpfs',
}, async (t) => {
  const disk = await mkdtemp(join(tmpdir(), 'strata-lock-disk-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', disk])
  t.after(async () => {
    execFileSync('umount', [disk])
    await rm(disk, { recursive: true, force: true })
  })
  // Fill it: the write stops at ENOSPC, keeping what fitted.
  await writeFile(join(disk, 'filler'), Buffer.alloc(1 << 20)).catch((error) =>
    assert.equal(error.code, 'ENOSPC'),
  )
  const data = join(disk, 'data')
  assert.throws(
    () => lockFolder(data, 'strata start'),
    (error) =>
      isStrataError(error) &&
      error.code === ErrorCodes.DISK_FULL &&
      error.message.includes(`no room on disk for the lock of ${data}`),
  )
  await truncate(join(disk, 'filler'), 0)
  lockFolder(data, 'strata start').release()
})

// `--data` naming a file, or a folder on a read-only disk, ended `strata start` with Node's bare
// "EEXIST: file already exists, mkdir …" (or "ENOENT …" on a read-only mount) as
// STRATA_ERR_INTERNAL, the code of a bug in Strata (found from the user's seat by s13-user).
test('a data folder that is a file, or under one, is refused as an argument naming it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-lock-file-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'afile')
  await writeFile(file, 'not a folder')
  for (const data of [file, join(file, 'data')]) {
    assert.throws(
      () => lockFolder(data, 'strata start'),
      (error: unknown) =>
        isStrataError(error) &&
        error.code === ErrorCodes.INVALID_ARGUMENT &&
        error.message.includes(data) &&
        /not a folder/.test(error.message),
    )
  }
})

test('a data folder on a read-only disk is refused as an argument naming it', {
  skip: process.getuid?.() === 0 ? false : 'needs root to mount a read-only tmpfs',
}, async (t) => {
  const disk = await mkdtemp(join(tmpdir(), 'strata-lock-ro-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk])
  t.after(async () => {
    execFileSync('umount', [disk])
    await rm(disk, { recursive: true, force: true })
  })
  const there = join(disk, 'there') // made before the mount turns read-only
  await mkdir(there)
  execFileSync('mount', ['-o', 'remount,ro', disk])
  for (const data of [join(disk, 'data'), there]) {
    assert.throws(
      () => lockFolder(data, 'strata start'),
      (error: unknown) =>
        isStrataError(error) &&
        error.code === ErrorCodes.INVALID_ARGUMENT &&
        error.message.includes(data) &&
        /cannot create or write/.test(error.message),
    )
  }
})
