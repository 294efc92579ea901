import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { EmbeddedLog, embeddedPartitionSource } from '../../../src/log/embedded/index.ts'
import type { SourceBatch } from '../../../src/log/partition-source.ts'
import { deferrer } from '../../helpers/cleanup.ts'
import { tempDir } from '../../master-dataset/test-helpers.ts'

const event = (i: number) => `{"type":"page_view","user":"u${i}","ts":${1764000000000 + i}}`

test('the embedded log as a source: every partition assigned, read from the answered offsets, revoked on close', async (t) => {
  const defer = deferrer(t)
  const dir = await tempDir(t, 'strata-embedded-source-')
  const log = await EmbeddedLog.open({ dir, partitions: 2 })
  defer(() => log.close())
  await log.append(Array.from({ length: 6 }, (_, i) => ({ value: event(i), partition: i % 2 })))
  const calls: string[] = []
  const offsets = new Map<number, number[]>([
    [0, []],
    [1, []],
  ])
  const source = embeddedPartitionSource({ log, partitions: 2, onError: (e) => assert.fail(e) })
  await source.start({
    async onAssign(partitions) {
      calls.push(`assign ${partitions}`)
      return new Map([
        [0, 1],
        [1, 0],
      ])
    },
    async onBatch(batch: SourceBatch) {
      offsets.get(batch.partition)!.push(...batch.records.map((r) => r.offset))
    },
    async onRevoke(partitions) {
      calls.push(`revoke ${partitions}`)
    },
  })
  assert.deepEqual(calls, ['assign 0,1'])
  // Records appended after start are delivered too: the source follows the log.
  await log.append([{ value: event(6), partition: 0 }])
  for (let i = 0; i < 100 && offsets.get(0)!.length < 3; i++) await sleep(10)
  await source.commit(new Map([[0, 4]])) // no group: nothing to do, and no error
  await source.close()
  assert.deepEqual(calls, ['assign 0,1', 'revoke 0,1'])
  assert.deepEqual(offsets.get(0), [1, 2, 3])
  assert.deepEqual(offsets.get(1), [0, 1, 2])
})
