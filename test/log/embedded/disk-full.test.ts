// A full disk under the embedded log (issue 11), on a real small tmpfs (needs root): a request
// without room is refused whole with DISK_FULL (507), nothing of it is ever counted in any
// partition it touched, and writes resume by themselves once space is freed.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { EmbeddedLog } from '../../../src/log/embedded/index.ts'
import type { LogRecord } from '../../../src/log/log.ts'

const isRoot = process.getuid?.() === 0

/** A small tmpfs of our own; `cleanup` runs the closes registered, then unmounts it. */
export async function smallDisk(
  size = '4m',
): Promise<{ dir: string; onCleanup: (f: () => unknown) => void; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-disk-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir])
  const closes: (() => unknown)[] = []
  return {
    dir,
    onCleanup: (f) => closes.push(f),
    async cleanup() {
      for (const close of closes.reverse()) await Promise.resolve(close()).catch(() => undefined)
      execFileSync('umount', [dir])
      await rm(dir, { recursive: true, force: true })
    },
  }
}

const event = (i: number) =>
  `{"type":"page_view","url":"/p/${i % 5}","user":"u${i}","pad":"${'x'.repeat(900)}","ts":${1764000000000 + i}}`

async function readAll(log: EmbeddedLog, partition: number): Promise<LogRecord[]> {
  const end = (await log.endOffsets())[partition]!
  const out: LogRecord[] = []
  for await (const batch of log.read(partition, 0, { to: end })) out.push(...batch.records)
  return out
}

test('disk full: a request without room is refused whole with 507 DISK_FULL, never counted, and writes resume once space is back', {
  skip: isRoot ? false : 'needs root to mount a small tmpfs',
}, async (t) => {
  const { dir: disk, onCleanup, cleanup } = await smallDisk()
  t.after(cleanup)
  const dir = join(disk, 'master')
  await mkdir(dir)
  // Space we free later, as an operator would.
  await writeFile(join(disk, 'ballast'), Buffer.alloc(1 << 20))
  const warnings: string[] = []
  let log = await EmbeddedLog.open({ dir, partitions: 2, onWarning: (m) => warnings.push(m) })
  onCleanup(() => log.close())
  let acknowledged = 0
  let refusal: (Error & { code?: string; status?: number; retriable?: boolean }) | undefined
  for (let request = 0; request < 200 && !refusal; request++) {
    // Each request spans both partitions.
    const records = Array.from({ length: 100 }, (_, i) => ({
      value: event(acknowledged + i),
      partition: i % 2,
    }))
    try {
      await log.append(records)
      acknowledged += records.length
    } catch (error) {
      refusal = error as typeof refusal
    }
  }
  assert.ok(refusal, 'the disk filled up')
  assert.equal(refusal.code, 'STRATA_ERR_DISK_FULL')
  assert.equal(refusal.status, 507)
  assert.equal(refusal.retriable, true)
  assert.match(refusal.message, /free space/i)
  assert.ok(acknowledged > 0)
  assert.ok(
    warnings.some((w) => /disk .* is full/.test(w)),
    warnings.join('\n'),
  )
  const endOffsets = await log.endOffsets()
  assert.equal(endOffsets[0]! + endOffsets[1]!, acknowledged)
  // Still full: the same request is refused again; the partitions are not failed.
  const request = Array.from({ length: 100 }, (_, i) => ({
    value: event(acknowledged + i),
    partition: i % 2,
  }))
  await assert.rejects(log.append(request), { code: 'STRATA_ERR_DISK_FULL' })
  // Restart: nothing of a refused request is in the log.
  await log.close()
  log = await EmbeddedLog.open({ dir, onWarning: (m) => warnings.push(m) })
  assert.deepEqual(await log.endOffsets(), endOffsets)
  const values = [...(await readAll(log, 0)), ...(await readAll(log, 1))].map((r) => r.value.toString())
  assert.equal(values.length, acknowledged)
  // The reopened log cut its zeros ahead: fill what that freed until a request is refused again.
  let refusedAgain = false
  for (let i = 0; i < 50 && !refusedAgain; i++) {
    await log.append(request).catch((error) => {
      assert.equal(error.code, 'STRATA_ERR_DISK_FULL')
      refusedAgain = true
    })
  }
  assert.ok(refusedAgain)
  const full = await log.endOffsets()
  // Out of room, the partitions say so (health: no-room)...
  assert.ok(
    log.conditions().some((c) => c.state === 'no-room'),
    JSON.stringify(log.conditions()),
  )
  // Free space: the same process accepts again, no restart; and before any request, the
  // partitions find the room by themselves (a probe each second), so /health recovers at once
  // rather than at a client's next retry.
  await rm(join(disk, 'ballast'))
  const deadline = Date.now() + 10_000
  while (log.conditions().some((c) => c.state !== 'ok') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.deepEqual(
    log.conditions().map((c) => c.state),
    ['ok', 'ok'],
  )
  assert.ok(
    warnings.some((w) => /there is room on disk again/.test(w)),
    warnings.join('\n'),
  )
  const positions = await log.append(request)
  assert.equal(positions.length, 100)
  assert.deepEqual(await log.endOffsets(), [full[0]! + 50, full[1]! + 50])
  // Sealing cuts the room reserved ahead: the sealed file is exactly its records.
  await log.seal()
  assert.equal((await readAll(log, 0)).length, full[0]! + 50)
})
