// The segment scrub's hashing process lives as long as the scrub (segment-hash.ts): forked at the
// first check, reused by every later one (a fork per check held the main thread of a large
// `strata start` 27-40 ms each minute), replaced when it dies, and gone once stop() resolves.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { rename } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { SegmentHasher } from '../../src/master-dataset/segment-hash.ts'
import { SegmentScrub } from '../../src/master-dataset/segment-scrub.ts'
import { SegmentStore } from '../../src/master-dataset/segment-store.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { buildSegment, range, tempDir } from './test-helpers.ts'

async function seal(root: string, start: number, end: number): Promise<void> {
  const store = await SegmentStore.open(root)
  const builder = buildSegment(range(start, end))
  await store.writeSegment(0, { start, end }, builder.data(), builder.packer())
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

// A scrub whose hasher the test can see (its process id), `anyFile` for the FIFO of a hung read.
function scrubWithHasher(root: string, options: { anyFile?: boolean } = {}) {
  const made: SegmentHasher[] = []
  const scrub = new SegmentScrub(root, {
    hasher: () => {
      const hasher = new SegmentHasher(options)
      made.push(hasher)
      return hasher
    },
  })
  return { scrub, made }
}

test('every check reuses the one hashing process, forked at the first check even with nothing to hash; stop() leaves none', async (t) => {
  const defer = deferrer(t)
  const root = await tempDir(t)
  const { scrub, made } = scrubWithHasher(root)
  defer(() => scrub.stop())
  await scrub.check() // an empty master dataset: the role's start, the process still small
  const pid = made[0]?.pid
  assert.ok(pid, 'forked at the first check')
  await seal(root, 0, 100)
  await scrub.check()
  await seal(root, 100, 200)
  await scrub.check()
  assert.deepEqual(scrub.progress, { checked: 2, listed: 2 })
  assert.equal(made.length, 1, 'one hasher for the scrub')
  assert.equal(made[0]!.pid, pid, 'the same process hashed both checks')
  await scrub.stop()
  assert.equal(alive(pid), false, 'no hashing process left after stop()')
})

test('a hashing process killed while idle is replaced by the next check, which completes', async (t) => {
  const defer = deferrer(t)
  const root = await tempDir(t)
  await seal(root, 0, 100)
  const { scrub, made } = scrubWithHasher(root)
  defer(() => scrub.stop())
  await scrub.check()
  const first = made[0]!.pid!
  process.kill(first, 'SIGKILL')
  for (let i = 0; i < 500 && made[0]!.pid === first; i++) await new Promise((r) => setTimeout(r, 10))
  await seal(root, 100, 200)
  await scrub.check()
  assert.deepEqual(scrub.progress, { checked: 2, listed: 2 })
  assert.equal(scrub.failure, undefined)
  const second = made[0]!.pid
  assert.ok(second)
  assert.notEqual(second, first)
})

// A read that never returns (a FIFO read as a plain file stands in for a hung mount), its
// process killed: that check fails as before (the segment not checked, /health's failure set);
// the next check forks a new process and, the file restored, completes.
test('a hashing process killed mid-check: that check fails, the next one forks a new process and completes', {
  timeout: 60_000,
}, async (t) => {
  if (process.platform === 'win32') return
  const defer = deferrer(t)
  const root = await tempDir(t)
  await seal(root, 0, 100)
  const segment = join(root, 'p0000', '00000000000000000000-00000000000000000100.ndjson')
  await rename(segment, `${segment}.kept`)
  execFileSync('mkfifo', [segment])
  const { scrub, made } = scrubWithHasher(root, { anyFile: true })
  defer(() => scrub.stop())
  const checking = scrub.check().then(
    () => undefined,
    (error: Error) => error,
  )
  for (let i = 0; i < 500 && made[0]?.pid === undefined; i++) await new Promise((r) => setTimeout(r, 10))
  await new Promise((r) => setTimeout(r, 300)) // the read is in flight
  const first = made[0]!.pid!
  process.kill(first, 'SIGKILL')
  assert.match(String((await checking)?.message), /the segment hashing process exited \(SIGKILL\)/)
  assert.match(scrub.failure ?? '', /exited/)
  assert.deepEqual(scrub.progress, { checked: 0, listed: 1 })
  await rename(`${segment}.kept`, segment) // over the FIFO
  await scrub.check()
  assert.deepEqual(scrub.progress, { checked: 1, listed: 1 })
  assert.equal(scrub.failure, undefined)
  assert.notEqual(made[0]!.pid, first)
})
