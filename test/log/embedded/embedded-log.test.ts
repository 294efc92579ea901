import assert from 'node:assert/strict'
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { EmbeddedLog } from '../../../src/log/embedded/index.ts'
import { partitionForKey } from '../../../src/log/kafka/partitioner.ts'
import type { LogRecord } from '../../../src/log/log.ts'
import { readRecords } from '../../../src/master-dataset/index.ts'
import { deferrer } from '../../helpers/cleanup.ts'
import { tempDir } from '../../master-dataset/test-helpers.ts'

const event = (i: number) =>
  `{"type":"page_view","url":"/p/${i % 5}","user":"u${i}","ts":${1764000000000 + i}}`

async function readAll(log: EmbeddedLog, partition: number, from = 0): Promise<LogRecord[]> {
  const [end] = [(await log.endOffsets())[partition]!]
  const out: LogRecord[] = []
  for await (const batch of log.read(partition, from, { to: end })) out.push(...batch.records)
  return out
}

test('appends get sequential offsets per partition, keys routed by murmur2, readable back', async (t) => {
  const defer = deferrer(t)
  const dir = await tempDir(t, 'strata-embedded-')
  const log = await EmbeddedLog.open({ dir, partitions: 4 })
  defer(() => log.close())
  const records = Array.from({ length: 40 }, (_, i) => ({ key: `k${i % 9}`, value: event(i) }))
  const positions = await log.append(records)
  const next = new Map<number, number>()
  positions.forEach((position, i) => {
    assert.equal(position.partition, partitionForKey(`k${i % 9}`, 4))
    assert.equal(position.offset, next.get(position.partition) ?? 0)
    next.set(position.partition, position.offset + 1)
  })
  assert.deepEqual(
    await log.endOffsets(),
    [0, 1, 2, 3].map((p) => next.get(p) ?? 0),
  )
  for (let p = 0; p < 4; p++) {
    const read = await readAll(log, p)
    const expected = records.filter((_, i) => positions[i]!.partition === p)
    assert.deepEqual(
      read.map((r) => [r.offset, r.key, r.value.toString()]),
      expected.map((r, offset) => [offset, r.key, r.value]),
    )
  }
})

test('invalid JSON rejects the whole append and writes nothing', async (t) => {
  const defer = deferrer(t)
  const dir = await tempDir(t, 'strata-embedded-')
  const log = await EmbeddedLog.open({ dir, partitions: 2 })
  defer(() => log.close())
  await assert.rejects(log.append([{ value: event(1) }, { value: '{"a":' }]), {
    code: 'STRATA_ERR_INVALID_JSON',
    line: 2,
  })
  assert.deepEqual(await log.endOffsets(), [0, 0])
})

test('sealed segments are ordinary master-dataset segments; reads span sealed and active', async (t) => {
  const defer = deferrer(t)
  const dir = await tempDir(t, 'strata-embedded-')
  const log = await EmbeddedLog.open({ dir, partitions: 1, maxSegmentRecords: 10 })
  defer(() => log.close())
  for (let i = 0; i < 25; i++) await log.append([{ key: null, value: event(i) }])
  assert.deepEqual(log.sealedOffsets(), [20])
  const names = (await readdir(join(dir, 'p0000'))).filter((n) => !n.endsWith('.packed')).sort()
  assert.deepEqual(names, [
    '00000000000000000000-00000000000000000010.ndjson',
    '00000000000000000000-00000000000000000010.ndjson.sha256',
    '00000000000000000010-00000000000000000020.ndjson',
    '00000000000000000010-00000000000000000020.ndjson.sha256',
    '00000000000000000020.active',
    'acknowledged-end',
  ])
  const fromFiles: number[] = []
  for await (const batch of readRecords(dir, 0)) fromFiles.push(...batch.map((r) => r.offset))
  assert.deepEqual(fromFiles, [...Array(25).keys()])
  assert.deepEqual(
    (await readAll(log, 0, 7)).map((r) => r.value.toString()),
    [...Array(18).keys()].map((i) => event(i + 7)),
  )
  await log.seal()
  assert.deepEqual(log.sealedOffsets(), [25])
})

test('a following read waits for appends and ends on abort', async (t) => {
  const defer = deferrer(t)
  const dir = await tempDir(t, 'strata-embedded-')
  const log = await EmbeddedLog.open({ dir, partitions: 1, maxSegmentRecords: 3 })
  defer(() => log.close())
  const controller = new AbortController()
  const seen: number[] = []
  const reading = (async () => {
    for await (const batch of log.read(0, 0, { signal: controller.signal })) {
      seen.push(...batch.records.map((r) => r.offset))
      if (seen.length === 8) controller.abort()
    }
  })()
  for (let i = 0; i < 8; i++) await log.append([{ value: event(i) }])
  await reading
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7])
})

test('concurrent appends are group-committed without losing or reusing an offset', async (t) => {
  const defer = deferrer(t)
  const dir = await tempDir(t, 'strata-embedded-')
  const log = await EmbeddedLog.open({ dir, partitions: 1, maxSegmentRecords: 50 })
  defer(() => log.close())
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => log.append([{ value: event(i) }])))
  const offsets = results.map(([p]) => p!.offset).sort((a, b) => a - b)
  assert.deepEqual(offsets, [...Array(200).keys()])
  const read = await readAll(log, 0)
  for (const [i, [position]] of results.entries())
    assert.equal(read[position!.offset]!.value.toString(), event(i))
})

test('restart: a torn last line is cut and appends continue after the last complete record', async (t) => {
  const defer = deferrer(t)
  const dir = await tempDir(t, 'strata-embedded-')
  let log = await EmbeddedLog.open({ dir, partitions: 1, maxSegmentRecords: 4 })
  await log.append([0, 1, 2, 3].map((i) => ({ value: event(i) })))
  await log.append([4, 5].map((i) => ({ value: event(i) })))
  await log.close()
  const active = join(dir, 'p0000', '00000000000000000004.active')
  const before = await readFile(active)
  // What a crash mid-write leaves: half a line, and zeros from a file extended before its data.
  await appendFile(active, '{"offset":6,"timestamp":1,"key":null,"event":{"ty')
  await writeFile(join(dir, 'p0000', '00000000000000000004-00000000000000000008.ndjson.sha256'), 'orphan')
  log = await EmbeddedLog.open({ dir })
  assert.deepEqual(await readFile(active), before)
  assert.equal(log.partitions, 1)
  assert.deepEqual(await log.endOffsets(), [6])
  assert.deepEqual(await log.append([{ value: event(6) }]), [{ partition: 0, offset: 6 }])
  await log.close()
  await appendFile(join(dir, 'p0000', '00000000000000000004.active'), Buffer.alloc(300))
  log = await EmbeddedLog.open({ dir })
  defer(() => log.close())
  assert.deepEqual(
    (await readAll(log, 0)).map((r) => r.value.toString()),
    [0, 1, 2, 3, 4, 5, 6].map(event),
  )
  await assert.rejects(EmbeddedLog.open({ dir, partitions: 0 }), { code: 'STRATA_ERR_INVALID_CONFIG' })
})
