// A batch's records packed for a fold thread (src/speed/batch-buffers.ts packRecords) straight
// from what the Kafka decoder hands over (src/log/kafka/records.ts): values are views of the fetch
// answer (a record header and key apart), of a batch's decompressed body, or a shared empty Buffer
// (a null value); control batches, aborted transactions and records before the fetch offset are
// left out in the middle. Copied by runs, every record must read back byte for byte at its offset,
// whatever the layout, in a buffer reused from the pool (its old bytes never show through).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { decodeRecordSet } from '../../src/log/kafka/records.ts'
import { BatchBuffers, packRecords } from '../../src/speed/batch-buffers.ts'
import { recordSetBytes, type SetPart } from '../log/kafka/record-batches.ts'

const value = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  // Longer than the gap copied along, and around it.
  { weight: 1, arbitrary: fc.integer({ min: 400, max: 1_500 }).map((n) => 'v'.repeat(n)) },
)
const part: fc.Arbitrary<SetPart> = fc.record({
  kind: fc.constantFrom('data', 'data', 'data', 'aborted', 'marker'),
  values: fc.array(value, { minLength: 1, maxLength: 12 }),
  compression: fc.constantFrom(undefined, undefined, 'gzip', 'snappy', 'lz4', 'zstd'),
  headers: fc.boolean(),
})

test('records packed by runs from a decoded fetch answer read back byte for byte: compressed, control and aborted batches, records before the fetch offset', () => {
  // A pool whose free buffers hold old bytes: a later batch reuses them.
  const pool = new BatchBuffers()
  fc.assert(
    fc.property(fc.array(part, { minLength: 1, maxLength: 6 }), fc.nat(40), (parts, skip) => {
      // Headers of growing size between the values: gaps short and long.
      const { bytes: answer, aborted } = recordSetBytes(parts, (i) => 'x'.repeat(i * 40))
      const { records } = decodeRecordSet('t', 0, answer, 1_000 + skip, aborted)
      const packed = packRecords(records, pool)
      assert.equal(packed.offsets.length, records.length)
      records.forEach((r, i) => {
        assert.equal(packed.offsets[i], r.offset)
        assert.ok(packed.starts[i]! <= packed.ends[i]! && packed.ends[i]! <= packed.values.length)
        assert.deepEqual(Buffer.from(packed.values.subarray(packed.starts[i]!, packed.ends[i]!)), r.value)
      })
      // Handed back dirty, as a thread's window would after a drop: the next batch reuses it.
      if (packed.buffer.byteLength > 0) {
        new Uint8Array(packed.buffer).fill(0xee)
        pool.give(structuredClone(packed.buffer, { transfer: [packed.buffer] }))
      }
    }),
    { numRuns: Number(process.env.STRATA_PROPERTY_RUNS ?? 200) },
  )
})
