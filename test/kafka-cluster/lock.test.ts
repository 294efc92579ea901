import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { setImmediate as tick } from 'node:timers/promises'
import { withClusterLock } from '../../src/kafka-cluster/lock.ts'

test('two holders of a cluster lock never overlap', async (t) => {
  const folder = await mkdtemp(join(tmpdir(), 'strata-lock-'))
  t.after(() => rm(folder, { recursive: true, force: true }))
  const events: string[] = []
  const hold = (name: string) =>
    withClusterLock(folder, 10_000, async () => {
      events.push(`${name} in`)
      for (let i = 0; i < 5; i++) await tick()
      events.push(`${name} out`)
    })
  await Promise.all([hold('a'), hold('b'), hold('c')])
  assert.equal(events.length, 6)
  for (let i = 0; i < 6; i += 2) {
    assert.equal(events[i]!.replace(' in', ''), events[i + 1]!.replace(' out', ''), events.join(', '))
  }
  await assert.rejects(readFile(join(folder, 'lock')), { code: 'ENOENT' })
})

test('a lock left by a dead process is taken over', async (t) => {
  const folder = await mkdtemp(join(tmpdir(), 'strata-lock-'))
  t.after(() => rm(folder, { recursive: true, force: true }))
  const dead = spawnSync(process.execPath, [
    '-e',
    'process.stdout.write(String(process.pid))',
  ]).stdout.toString()
  await writeFile(join(folder, 'lock'), `${dead}\n`)
  assert.equal(await withClusterLock(folder, 5000, async () => 'ran'), 'ran')
})

test('a lock held by a live process times out with a retriable error naming it', async (t) => {
  const folder = await mkdtemp(join(tmpdir(), 'strata-lock-'))
  t.after(() => rm(folder, { recursive: true, force: true }))
  await writeFile(join(folder, 'lock'), `${process.ppid}\n`)
  await assert.rejects(
    withClusterLock(folder, 0, async () => 'ran'),
    (error: any) =>
      error.code === 'STRATA_ERR_CLUSTER' && error.retriable && error.message.includes(`${process.ppid}`),
  )
})
