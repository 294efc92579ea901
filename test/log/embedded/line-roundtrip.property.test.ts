// What the embedded log writes (encodeRecordLine with its CRC, byte by byte since session 15) is
// read back as it was appended: by recovery on open (which checks each active line's CRC-32 and
// drops what fails as a torn tail), by the readers of the active segment and of the sealed one.
// Any key (empty, multi-byte, a lone surrogate, escapes), any integer timestamp (negative, 0,
// past 2^32), and events with CR/LF between tokens, multi-byte text, up to and past 256 bytes.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { EmbeddedLog } from '../../../src/log/embedded/index.ts'
import { readRecords } from '../../../src/master-dataset/index.ts'
import { deferrer } from '../../helpers/cleanup.ts'
import { tempDir } from '../../master-dataset/test-helpers.ts'

const recordArb = fc.record({
  key: fc.oneof(
    fc.constant(null),
    fc.constant(''),
    fc.string({
      unit: fc.constantFrom('a', 'é', '😀', '\ud800', '\udc00', '"', '\\', '\n', '\u0000'),
      maxLength: 8,
    }),
  ),
  timestamp: fc.oneof(
    fc.constantFrom(0, -1, 9, 10, -10, 2 ** 32, 1_764_000_000_000, Number.MAX_SAFE_INTEGER),
    fc.integer(),
  ),
  // Valid JSON whatever the whitespace: CR/LF only between tokens, where they become spaces.
  value: fc
    .array(
      fc.tuple(
        fc.constantFrom('', ' ', '\n', '\r\n', '\r'),
        fc.constantFrom('"a"', '"é😀"', '-1.50', `"${'x'.repeat(250)}"`),
      ),
      {
        minLength: 1,
        maxLength: 4,
      },
    )
    .map((fields) => `{${fields.map(([ws, v], i) => `${ws}"f${i}"${ws}:${ws}${v}${ws}`).join(',')}}`),
})

const stored = (value: string) => value.replace(/[\r\n]/g, ' ')

test('the embedded log reads back what it wrote: keys, timestamps and events, through recovery (CRC) and after a seal', async (t) => {
  const defer = deferrer(t)
  let run = 0
  await fc.assert(
    fc.asyncProperty(fc.array(recordArb, { minLength: 1, maxLength: 12 }), async (records) => {
      const dir = await tempDir(t, `strata-line-roundtrip-${run++}-`)
      const warnings: string[] = []
      const open = () => EmbeddedLog.open({ dir, partitions: 1, onWarning: (m) => warnings.push(m) })
      const expected = records.map((r, offset) => ({ offset, ...r, value: stored(r.value) }))
      const read = async () => {
        const got: typeof expected = []
        for await (const batch of readRecords(dir, 0))
          for (const r of batch)
            got.push({ offset: r.offset, key: r.key, timestamp: r.timestamp, value: r.value.toString() })
        return got
      }
      let log = await open()
      defer(() => log.close())
      await log.append(records.map((r) => ({ ...r, partition: 0 })))
      assert.deepEqual(await read(), expected, 'the active segment')
      await log.close()
      log = await open() // recovery checks every line's CRC-32: a line that failed it would be cut
      assert.deepEqual(warnings, [])
      assert.deepEqual(await read(), expected, 'after recovery')
      await log.seal()
      assert.deepEqual(log.sealedOffsets(), [records.length])
      assert.deepEqual(await read(), expected, 'the sealed segment')
      await log.close()
    }),
    { numRuns: 40 },
  )
})
