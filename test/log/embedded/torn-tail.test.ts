// A record torn at every byte of its line, after a crash: the records before it are kept whole,
// the torn bytes are cut and called a torn tail; only a tail of zeros alone is called zeros (the
// room reserved ahead). The events carry runs of zeros ("0000", 0.000, "\u0000" escapes) so that
// no digit or escape of a record can pass for the zeros reserved ahead.
// The torn record was never acknowledged, so the partition's acknowledged end (acknowledged-end.ts)
// is the one the ten before it left; zeros or a cut over acknowledged records are refused.
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { EmbeddedLog } from '../../../src/log/embedded/index.ts'
import { tempDir } from '../../master-dataset/test-helpers.ts'

const ACTIVE = join('p0000', '00000000000000000000.active')
const ACKNOWLEDGED = join('p0000', 'acknowledged-end')
const event = (i: number) =>
  `{"type":"page_view","pad":"0000000000000000","nul":"\\u0000\\u0000\\u0000","n":0.0000,"k":"${String(i).padStart(8, '0')}","ts":${1764000000000 + i}}`

/**
 * The file of 11 records in partition 0, where the last one's line starts, and the acknowledged
 * end as the first ten left it (`tenAcknowledged`: the eleventh's write torn, never acknowledged).
 */
async function elevenRecords(
  dir: string,
): Promise<{ data: Buffer; lastLine: number; tenAcknowledged: Buffer }> {
  const log = await EmbeddedLog.open({ dir, partitions: 1 })
  for (let i = 0; i < 10; i++) await log.append([{ key: '0000', value: event(i) }])
  const tenAcknowledged = await readFile(join(dir, ACKNOWLEDGED))
  await log.append([{ key: '0000', value: event(10) }])
  await log.close()
  const data = await readFile(join(dir, ACTIVE))
  return { data, lastLine: data.lastIndexOf(0x0a, data.length - 2) + 1, tenAcknowledged }
}

async function reopen(dir: string): Promise<{ end: number; warnings: string[]; file: Buffer }> {
  const warnings: string[] = []
  const log = await EmbeddedLog.open({ dir, onWarning: (m) => warnings.push(m) })
  const [end] = await log.endOffsets()
  await log.close()
  return { end: end!, warnings, file: await readFile(join(dir, ACTIVE)) }
}

test('a record torn at every byte of its line: the ten before it kept, the torn bytes cut as a torn tail, never as zeros', async (t) => {
  const dir = await tempDir(t, 'strata-torn-')
  const { data, lastLine, tenAcknowledged } = await elevenRecords(dir)
  const kept = data.subarray(0, lastLine)
  const line = data.subarray(lastLine)
  assert.match(line.toString(), /"nul":"\\u0000\\u0000\\u0000"/)
  const zeros = Buffer.alloc(4096)
  for (let cut = 0; cut <= line.length; cut++) {
    const head = line.subarray(0, cut)
    // The head of the line as written; the same with the room reserved ahead after it; and the
    // tail of the line after zeros (a crash that kept a later page of the write, not an earlier).
    const cases = [
      { tail: head, zerosOnly: false },
      { tail: Buffer.concat([head, zeros]), zerosOnly: cut === 0 || cut === line.length },
      { tail: Buffer.concat([Buffer.alloc(cut), line.subarray(cut)]), zerosOnly: cut === line.length },
    ]
    for (const [i, { tail, zerosOnly }] of cases.entries()) {
      const what = `cut at byte ${cut} of ${line.length}, case ${i}`
      await writeFile(join(dir, ACTIVE), Buffer.concat([kept, tail]))
      await writeFile(join(dir, ACKNOWLEDGED), tenAcknowledged)
      const { end, warnings, file } = await reopen(dir)
      const whole = i === 0 ? cut === line.length : i === 1 ? cut === line.length : cut === 0
      assert.equal(end, whole ? 11 : 10, what)
      assert.deepEqual(file, whole ? data : kept, what)
      const cutBytes = tail.length - (whole ? line.length : 0)
      if (cutBytes === 0) {
        assert.deepEqual(warnings, [], what)
        continue
      }
      assert.equal(warnings.length, 1, what)
      const after = `after offset ${whole ? 10 : 9}`
      if (zerosOnly) assert.match(warnings[0]!, new RegExp(`cut ${cutBytes} bytes of zeros ${after} `), what)
      else assert.match(warnings[0]!, new RegExp(`dropped a torn tail of ${cutBytes} bytes ${after} `), what)
    }
  }
})

test('zeros over acknowledged records, with a valid record after them, are damage: refused, nothing cut', async (t) => {
  const dir = await tempDir(t, 'strata-torn-')
  const { data, lastLine } = await elevenRecords(dir)
  // Records 5 to 9 (their newlines too) zeroed, as a lost write of their pages would leave them.
  const start = data.indexOf('{"offset":5,')
  const damaged = Buffer.from(data)
  damaged.fill(0, start, lastLine)
  await writeFile(join(dir, ACTIVE), damaged)
  await assert.rejects(EmbeddedLog.open({ dir }), { code: 'STRATA_ERR_SEGMENT_CORRUPT' })
  assert.deepEqual(await readFile(join(dir, ACTIVE)), damaged)
})

test('zeros in a partition that holds no record yet are cut without naming an offset -1', async (t) => {
  const dir = await tempDir(t, 'strata-torn-')
  await (await EmbeddedLog.open({ dir, partitions: 1 })).close()
  await writeFile(join(dir, ACTIVE), Buffer.alloc(4096))
  const { end, warnings, file } = await reopen(dir)
  assert.equal(end, 0)
  assert.equal(file.length, 0)
  assert.equal(warnings.length, 1)
  assert.match(
    warnings[0]!,
    /^partition 0: cut 4096 bytes of zeros before any record in 00000000000000000000\.active /,
  )
})
