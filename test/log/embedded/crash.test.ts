// kill -9 of a process appending to the embedded log: after a restart every acknowledged record
// is readable at the offset it was acknowledged at, offsets are contiguous, none is repeated.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { EmbeddedLog } from '../../../src/log/embedded/index.ts'
import { readRecords } from '../../../src/master-dataset/index.ts'
import { tempDir } from '../../master-dataset/test-helpers.ts'
import { childEvent } from './append-child.ts'

const child = new URL('./append-child.ts', import.meta.url).pathname

function runUntilKilled(
  dir: string,
  firstIndex: number,
  acksBeforeKill: number,
): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, dir, String(firstIndex)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const acked = new Map<string, number>() // "partition:offset" -> i
    let buffered = ''
    proc.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop()!
      for (const line of lines) {
        const [, partition, offset, i] = line.split(' ')
        assert.ok(!acked.has(`${partition}:${offset}`), `offset acknowledged twice: ${line}`)
        acked.set(`${partition}:${offset}`, Number(i))
      }
      if (acked.size >= acksBeforeKill) proc.kill('SIGKILL')
    })
    proc.on('error', reject)
    proc.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${_code} ${signal}`))
      else resolve(acked)
    })
  })
}

test('SIGKILL mid-append: every acknowledged record survives, offsets contiguous and unique', async (t) => {
  const dir = await tempDir(t, 'strata-embedded-crash-')
  const acked = new Map<string, number>()
  for (let round = 0; round < 4; round++) {
    const acks = await runUntilKilled(dir, round * 1_000_000, 200 + Math.floor(Math.random() * 800))
    for (const [position, i] of acks) {
      assert.ok(!acked.has(position), `offset ${position} acknowledged in two runs`)
      acked.set(position, i)
    }
    // Reopening recovers torn tails; what is on disk must hold every acknowledged record.
    const log = await EmbeddedLog.open({ dir })
    const ends = await log.endOffsets()
    await log.close()
    const seenValues = new Set<string>()
    for (let p = 0; p < 3; p++) {
      let expected = 0
      for await (const batch of readRecords(dir, p, { to: ends[p] })) {
        for (const record of batch) {
          assert.equal(record.offset, expected++, 'contiguous offsets from 0')
          const value = record.value.toString()
          assert.ok(!seenValues.has(value), `record stored twice: ${value}`)
          seenValues.add(value)
          const i = acked.get(`${p}:${record.offset}`)
          // Unacknowledged records may or may not be there; acknowledged ones must match.
          if (i !== undefined) assert.equal(value, childEvent(i))
        }
      }
      assert.equal(expected, ends[p])
    }
    for (const [position] of acked) {
      const [p, offset] = position.split(':').map(Number) as [number, number]
      assert.ok(offset < ends[p]!, `acknowledged ${position} lost (end ${ends[p]})`)
    }
  }
  assert.ok(acked.size >= 800)
})
