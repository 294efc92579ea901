// The acknowledged end of a partition (src/log/embedded/acknowledged-end.ts): zeros or a cut over
// the last acknowledged records of an active segment leave no valid line after them, and were cut
// as a torn tail on restart, the records lost without a word. They are refused now, naming the
// segment and the byte; a torn tail past the acknowledged end is still cut.
import assert from 'node:assert/strict'
import { appendFile, readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseAcknowledgedEnd } from '../../../src/log/embedded/acknowledged-end.ts'
import { EmbeddedLog } from '../../../src/log/embedded/index.ts'
import { tempDir } from '../../master-dataset/test-helpers.ts'

const ACTIVE = '00000000000000000000.active'
const event = (i: number) =>
  `{"type":"page_view","url":"/p/${i % 5}","user":"u${i}","ts":${1764000000000 + i}}`

/** A log of `count` records in partition 0, closed; its active file and where each line starts. */
async function logWith(dir: string, count: number): Promise<{ data: Buffer; starts: number[] }> {
  const log = await EmbeddedLog.open({ dir, partitions: 1 })
  for (let i = 0; i < count; i++) await log.append([{ value: event(i) }])
  await log.close()
  const data = await readFile(join(dir, 'p0000', ACTIVE))
  const starts = [0]
  for (let at = data.indexOf(0x0a); at !== -1 && at + 1 < data.length; at = data.indexOf(0x0a, at + 1)) {
    starts.push(at + 1)
  }
  return { data, starts }
}

async function reopen(dir: string): Promise<{ end: number; warnings: string[] }> {
  const warnings: string[] = []
  const log = await EmbeddedLog.open({ dir, onWarning: (m) => warnings.push(m) })
  const [end] = await log.endOffsets()
  await log.close()
  return { end: end!, warnings }
}

function refusedAt(byte: number, from: number, to: number, what: RegExp) {
  return (error: Error & { code?: string }) => {
    assert.equal(error.code, 'STRATA_ERR_SEGMENT_CORRUPT', error.message)
    assert.match(error.message, new RegExp(`the active segment ${ACTIVE} is damaged at byte ${byte}: `))
    assert.match(error.message, what)
    assert.match(error.message, new RegExp(`records up to offset ${to} were acknowledged`))
    assert.match(error.message, new RegExp(`acknowledged records from offset ${from} on are at risk`))
    assert.match(error.message, new RegExp(`truncate -s ${byte} .* and rm .*acknowledged-end`))
    return true
  }
}

test('the acknowledged end is recorded before an append resolves', async (t) => {
  const dir = await tempDir(t, 'strata-acked-')
  const log = await EmbeddedLog.open({ dir, partitions: 1 })
  t.after(() => log.close())
  for (let i = 0; i < 5; i++) {
    const [position] = await log.append([{ value: event(i) }])
    const recorded = parseAcknowledgedEnd(await readFile(join(dir, 'p0000', 'acknowledged-end')))
    assert.equal(recorded?.end, position!.offset + 1)
    const file = await readFile(join(dir, 'p0000', ACTIVE))
    assert.equal(recorded?.bytes, file.indexOf(0)) // the records, then the room reserved ahead
  }
})

test('zeros over the last acknowledged records, to the end of the file, are refused, not cut as a torn tail', async (t) => {
  const dir = await tempDir(t, 'strata-acked-')
  const { data, starts } = await logWith(dir, 11)
  // Records 8 to 10 zeroed (a lost write of their pages), then the room reserved ahead.
  const damaged = Buffer.concat([data.subarray(0, starts[8]), Buffer.alloc(data.length - starts[8]! + 4096)])
  await writeFile(join(dir, 'p0000', ACTIVE), damaged)
  await assert.rejects(EmbeddedLog.open({ dir }), refusedAt(starts[8]!, 8, 10, /zeros are there/))
  // Nothing cut, a copy kept aside once; opening again refuses again.
  assert.deepEqual(await readFile(join(dir, 'p0000', ACTIVE)), damaged)
  await assert.rejects(EmbeddedLog.open({ dir }), { code: 'STRATA_ERR_SEGMENT_CORRUPT' })
  const copies = (await readdir(join(dir, 'p0000'))).filter((n) => n.startsWith(`${ACTIVE}.damaged-`))
  assert.equal(copies.length, 1)
})

test('a cut over acknowledged records at a line boundary (truncate) is refused', async (t) => {
  const dir = await tempDir(t, 'strata-acked-')
  const { starts } = await logWith(dir, 11)
  await truncate(join(dir, 'p0000', ACTIVE), starts[6])
  await assert.rejects(EmbeddedLog.open({ dir }), refusedAt(starts[6]!, 6, 10, /the file ends there/))
  // Half a line over acknowledged ones is no torn tail either.
  await appendFile(join(dir, 'p0000', ACTIVE), '{"offset":6,"timestamp":1,"ke')
  await assert.rejects(EmbeddedLog.open({ dir }), refusedAt(starts[6]!, 6, 10, /no valid record is there/))
})

test('the way out the refusal names works: truncate, remove the record, and the records before it are kept', async (t) => {
  const dir = await tempDir(t, 'strata-acked-')
  const { data, starts } = await logWith(dir, 11)
  await writeFile(join(dir, 'p0000', ACTIVE), Buffer.concat([data.subarray(0, starts[8]), Buffer.alloc(300)]))
  const error = await EmbeddedLog.open({ dir }).then(
    () => assert.fail('opened'),
    (e: Error) => e,
  )
  const [, size, path, record] = /truncate -s (\d+) (\S+) and rm (\S+),/.exec(error.message)!
  await truncate(path!, Number(size))
  await rm(record!)
  const { end, warnings } = await reopen(dir)
  assert.equal(end, 8)
  assert.deepEqual(warnings, [])
  // And the log goes on recording: a later loss is refused again.
  const log = await EmbeddedLog.open({ dir })
  await log.append([{ value: event(8) }])
  await log.close()
  await truncate(join(dir, 'p0000', ACTIVE), starts[8])
  await assert.rejects(EmbeddedLog.open({ dir }), { code: 'STRATA_ERR_SEGMENT_CORRUPT' })
})

test('a deleted active segment is refused when it held acknowledged records', async (t) => {
  const dir = await tempDir(t, 'strata-acked-')
  const log = await EmbeddedLog.open({ dir, partitions: 1, maxSegmentRecords: 4 })
  for (let i = 0; i < 6; i++) await log.append([{ value: event(i) }])
  await log.close()
  await unlink(join(dir, 'p0000', '00000000000000000004.active'))
  await assert.rejects(EmbeddedLog.open({ dir }), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'STRATA_ERR_SEGMENT_CORRUPT')
    assert.match(
      error.message,
      /00000000000000000004\.active is missing, yet records up to offset 5 were acknowledged/,
    )
    assert.match(error.message, /the sealed segments end at 4/)
    return true
  })
})

test('a torn tail past the acknowledged end is still cut: a crash with the room reserved ahead, a half line', async (t) => {
  const dir = await tempDir(t, 'strata-acked-')
  // Not closed: the file keeps the zeros reserved ahead, as a kill -9 leaves it.
  const crashed = await EmbeddedLog.open({ dir, partitions: 1 })
  for (let i = 0; i < 10; i++) await crashed.append([{ value: event(i) }])
  const path = join(dir, 'p0000', ACTIVE)
  const file = await readFile(path)
  const records = file.subarray(0, file.indexOf(0))
  assert.ok(file.length > records.length)
  // A write of record 10 torn in the middle, over the zeros: never acknowledged.
  const torn = Buffer.from('{"offset":10,"timestamp":1,"key":null,"crc":"0000')
  torn.copy(file, records.length)
  await writeFile(path, file)
  const { end, warnings } = await reopen(dir)
  assert.equal(end, 10)
  assert.equal(warnings.length, 1)
  assert.match(
    warnings[0]!,
    new RegExp(`dropped a torn tail of ${file.length - records.length} bytes after offset 9`),
  )
  assert.deepEqual(await readFile(path), records)
})

test('a crash between a seal and the record of the next active segment refuses nothing', async (t) => {
  const dir = await tempDir(t, 'strata-acked-')
  const log = await EmbeddedLog.open({ dir, partitions: 1 })
  for (let i = 0; i < 5; i++) await log.append([{ value: event(i) }])
  const beforeSeal = await readFile(join(dir, 'p0000', 'acknowledged-end'))
  await log.seal()
  await log.close()
  await writeFile(join(dir, 'p0000', 'acknowledged-end'), beforeSeal)
  assert.deepEqual(await reopen(dir), { end: 5, warnings: [] })
})

test('a damaged record of the acknowledged end is refused, naming it; removing it goes on', async (t) => {
  const dir = await tempDir(t, 'strata-acked-')
  await logWith(dir, 3)
  const path = join(dir, 'p0000', 'acknowledged-end')
  const recorded = await readFile(path)
  recorded[recorded.indexOf('end ') + 23] = '9'.charCodeAt(0) // a digit changed: the CRC fails
  await writeFile(path, recorded)
  await assert.rejects(EmbeddedLog.open({ dir }), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'STRATA_ERR_SEGMENT_CORRUPT')
    assert.match(
      error.message,
      /acknowledged-end \(where the log records how far its records were acknowledged\) is damaged/,
    )
    assert.match(error.message, /rm \S+acknowledged-end/)
    return true
  })
  await rm(path)
  assert.deepEqual(await reopen(dir), { end: 3, warnings: [] })
})

test('a record file created but never written (a crash right after its creation) is as no record: the log opens', async (t) => {
  const dir = await tempDir(t, 'strata-acked-')
  await logWith(dir, 3)
  // AcknowledgedEndFile.open creates the file, then writes it: a kill -9 between the two (or a
  // power loss before its first fsync) leaves it empty. It never held a record, so it names no
  // acknowledged record: refusing it refused a healthy log until the operator removed it.
  await writeFile(join(dir, 'p0000', 'acknowledged-end'), '')
  assert.deepEqual(await reopen(dir), { end: 3, warnings: [] })
  const recorded = parseAcknowledgedEnd(await readFile(join(dir, 'p0000', 'acknowledged-end')))
  assert.equal(recorded?.end, 3)
})
