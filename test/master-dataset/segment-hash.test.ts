// The segment scrub's hashing process (segment-hash.ts): the digest a sidecar records, a missing
// file refused as a read would be, what is not a regular file refused unread, and a hash in
// progress ended by close(), even one blocked in a read that never returns.
import assert from 'node:assert/strict'
import { execFileSync, fork } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { BACKGROUND_NICE } from '../../src/core/thread-priority.ts'
import { NOT_A_FILE, SegmentHasher } from '../../src/master-dataset/segment-hash.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { runProgram } from '../helpers/process.ts'
import { threadNices } from '../helpers/threads.ts'
import { tempDir } from './test-helpers.ts'

test('the hashing process answers the SHA-256 of each file, and ENOENT for a missing one', async (t) => {
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

test('close() ends the process: a hash in progress and any later one reject', async (t) => {
  const dir = await tempDir(t)
  await writeFile(join(dir, 'big'), Buffer.alloc(64 << 20))
  const hasher = new SegmentHasher()
  const pending = assert.rejects(hasher.hash(join(dir, 'big')), /closed/)
  await hasher.close()
  await pending
  await assert.rejects(hasher.hash(join(dir, 'big')), /closed/)
})

// The hashing process's priority was checked by nothing: its lowerProcessPriority call could go
// and the first pass would again compete with the HTTP server at its own priority. Linux only;
// not checkable when the test itself runs at or below that nice value already.
test('the hashing process runs at BACKGROUND_NICE, below the main thread', async (t) => {
  if (process.platform !== 'linux') return
  const main = threadNices().get(process.pid)!
  if (main >= BACKGROUND_NICE) return t.skip(`the test runs at nice ${main} already`)
  const defer = deferrer(t)
  const dir = await tempDir(t)
  await writeFile(join(dir, 'a'), 'x')
  const hasher = new SegmentHasher()
  defer(() => hasher.close())
  await hasher.hash(join(dir, 'a')) // the process is up, has set its priority and read a file
  const pid = hasher.pid!
  assert.notEqual(pid, process.pid)
  const nices = threadNices(pid)
  assert.equal(nices.get(pid), BACKGROUND_NICE, 'its main thread, which hashes')
  // Every thread of it: the file-system pool that reads included (started after, or lowered).
  assert.deepEqual([...new Set(nices.values())], [BACKGROUND_NICE], [...nices].join(' '))
  assert.equal(threadNices().get(process.pid), main, 'the main thread keeps its nice value')
})

// A FIFO put in place of a sealed segment: the thread of session 17 opened it for reading and
// waited for a writer forever (the scrub never ended, nor the process: see the next test). It is
// refused now, before it is opened for reading, with NOT_A_FILE.
test('a FIFO in place of a segment is refused with NOT_A_FILE, never opened for reading', {
  timeout: 30_000,
}, async (t) => {
  if (process.platform === 'win32') return
  const defer = deferrer(t)
  const dir = await tempDir(t)
  const fifo = join(dir, '00000000000000000000-00000000000000000010.ndjson')
  execFileSync('mkfifo', [fifo])
  await writeFile(join(dir, 'b'), 'after')
  const hasher = new SegmentHasher()
  defer(() => hasher.close())
  await assert.rejects(hasher.hash(fifo), { code: NOT_A_FILE, message: 'not a regular file (a FIFO)' })
  // The process goes on with the next file.
  assert.equal(await hasher.hash(join(dir, 'b')), createHash('sha256').update('after').digest('hex'))
  await assert.rejects(hasher.hash(dir), { code: NOT_A_FILE, message: 'not a regular file (a folder)' })
})

// A read that never returns (a hung NFS mount; a FIFO opened as a plain file stands in for it):
// with the hashing in a Worker, neither terminate() nor the process's own exit returned, so the
// batch role ignored its SIGTERM until SIGKILL. The hashing process is killed; the program exits.
test('a hash blocked in a read that never returns: close() ends it, and the process exits', {
  timeout: 60_000,
}, async (t) => {
  if (process.platform === 'win32') return
  const dir = await tempDir(t)
  const fifo = join(dir, 'hung.ndjson')
  execFileSync('mkfifo', [fifo])
  const module = fileURLToPath(new URL('../../src/master-dataset/segment-hash.ts', import.meta.url))
  const program = `
    import { SegmentHasher } from ${JSON.stringify(module)}
    const hasher = new SegmentHasher({ anyFile: true })
    const hashing = hasher.hash(${JSON.stringify(fifo)}).then(() => 'answered', (e) => e.message)
    await new Promise((r) => setTimeout(r, 500)) // the read is in flight
    await hasher.close()
    console.log('closed:', await hashing)
    process.exit(0)
  `
  const { code, output } = await runProgram(t, program)
  assert.equal(code, 0, output)
  assert.match(output, /^closed: the segment hasher is closed$/m)
})

// segment-hash.ts re-exported a constant from segment-hash-process.ts, so every process that
// loaded the master dataset (strata start, an app importing the package) ran the child's module
// too: its 'message' listener held an IPC channel open, and its 'disconnect' handler SIGKILLed
// the process. One forked by a supervisor or a test died when its parent let go of it.
test('loading the master dataset runs nothing of the hashing process: one forked with IPC exits on its own', {
  timeout: 60_000,
}, async (t) => {
  const defer = deferrer(t)
  const dir = await tempDir(t)
  const program = join(dir, 'loads-master-dataset.ts')
  const module = fileURLToPath(new URL('../../src/master-dataset/index.ts', import.meta.url))
  await writeFile(
    program,
    `await import(${JSON.stringify(module)})
    process.send?.({ listeners: process.listenerCount('message') + process.listenerCount('disconnect') })`,
  )
  const child = fork(program, [], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  const exited = new Promise<[number | null, string | null]>((resolve) =>
    child.once('exit', (code, signal) => resolve([code, signal])),
  )
  defer(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  const [said] = (await once(child, 'message')) as [{ listeners: number }]
  assert.equal(said.listeners, 0, 'no message or disconnect handler in the loading process')
  child.disconnect()
  const ended = await Promise.race([
    exited,
    new Promise<'still running'>((r) => setTimeout(r, 30_000, 'still running').unref()),
  ])
  assert.deepEqual(ended, [0, null])
})

// The child killed mid-hash (the OOM killer, an operator): the hash in flight fails without a
// file's error code, so the scrub ends its check (not taken for a missing file, nothing verified),
// and the next hash starts a new child whose answers go to their own requests.
test('the hashing process killed mid-hash: that hash rejects with no code, the next one starts a new process and answers right', {
  timeout: 60_000,
}, async (t) => {
  if (process.platform === 'win32') return
  const defer = deferrer(t)
  const dir = await tempDir(t)
  const fifo = join(dir, 'hung.ndjson')
  execFileSync('mkfifo', [fifo])
  const hasher = new SegmentHasher({ anyFile: true })
  defer(() => hasher.close())
  const hung = hasher.hash(fifo).then(
    () => undefined,
    (error: NodeJS.ErrnoException) => error,
  )
  const first = hasher.pid
  assert.ok(first)
  await new Promise((r) => setTimeout(r, 300)) // the read is in flight
  process.kill(first, 'SIGKILL')
  const failed = await hung
  assert.match(String(failed?.message), /the segment hashing process exited \(SIGKILL\)/)
  assert.equal(failed?.code, undefined)
  const content = Buffer.from('{"offset":0}\n')
  await writeFile(join(dir, 'a'), content)
  assert.equal(await hasher.hash(join(dir, 'a')), createHash('sha256').update(content).digest('hex'))
  assert.notEqual(hasher.pid, first)
})

// The process is kept between hashes (a fork per check held a large parent's main thread): the
// same one answers a later hash, and while idle it keeps nothing of the parent alive — a program
// that never closes its hasher still exits, and its hashing process follows (IPC disconnect).
test('one process answers hashes far apart, and an idle one neither keeps its parent alive nor outlives it', {
  timeout: 60_000,
}, async (t) => {
  const defer = deferrer(t)
  const dir = await tempDir(t)
  await writeFile(join(dir, 'a'), 'x')
  const hasher = new SegmentHasher()
  defer(() => hasher.close())
  hasher.start()
  const pid = hasher.pid
  assert.ok(pid, 'start() forks')
  await hasher.hash(join(dir, 'a'))
  await new Promise((r) => setTimeout(r, 200)) // idle
  await hasher.hash(join(dir, 'a'))
  assert.equal(hasher.pid, pid)

  const module = fileURLToPath(new URL('../../src/master-dataset/segment-hash.ts', import.meta.url))
  const program = `
    import { SegmentHasher } from ${JSON.stringify(module)}
    const hasher = new SegmentHasher()
    await hasher.hash(${JSON.stringify(join(dir, 'a'))})
    console.log('child', hasher.pid) // and returns, the hasher never closed
  `
  const { code, output } = await runProgram(t, program)
  assert.equal(code, 0, output)
  const hashing = Number(/^child (\d+)$/m.exec(output)?.[1])
  assert.ok(hashing > 0, output)
  const alive = () => {
    try {
      process.kill(hashing, 0)
      return true
    } catch {
      return false
    }
  }
  for (let i = 0; i < 1000 && alive(); i++) await new Promise((r) => setTimeout(r, 10))
  assert.equal(alive(), false, 'the hashing process ends with its parent')
})
