// A record set decoded as spans of its values (src/log/kafka/record-spans.ts decodeRecordSpans, what
// the speed layer's fold threads are fed from) must hold exactly the records decodeRecordSet
// gives for the same bytes: the same offsets in the same order, the same value bytes, the same
// next offset, and the same error when the bytes are damaged or malformed. A record lost or
// counted twice here would be an event lost or counted twice by the speed layer. Then the spans
// packed into a reused buffer (src/speed/batch-buffers.ts packSpans) read back byte for byte.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { decodeRecordSpans } from '../../../src/log/kafka/record-spans.ts'
import { decodeRecordSet } from '../../../src/log/kafka/records.ts'
import type { RecordSpans } from '../../../src/log/partition-source.ts'
import { BatchBuffers, packSpans } from '../../../src/speed/batch-buffers.ts'
import { batchBytes, recordSetBytes, type SetPart } from './record-batches.ts'

/** Where a record batch holds its format (magic) byte, which its CRC does not cover. */
const MAGIC = 16

const value = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  // Longer than the gap a span takes along, and around it.
  { weight: 1, arbitrary: fc.integer({ min: 400, max: 1_500 }).map((n) => 'v'.repeat(n)) },
)
const part: fc.Arbitrary<SetPart> = fc.record({
  kind: fc.constantFrom('data', 'data', 'data', 'aborted', 'marker'),
  values: fc.array(value, { minLength: 1, maxLength: 12 }),
  compression: fc.constantFrom(undefined, undefined, undefined, 'gzip', 'snappy', 'lz4', 'zstd'),
  headers: fc.boolean(),
  keys: fc.boolean(),
})

/** The record set the parts make; headers of growing size between the values: gaps short and long. */
const recordSet = (parts: SetPart[]) => recordSetBytes(parts, (i) => 'x'.repeat(i * 90))

/** Record i's value bytes from spans (the parts laid end to end). */
function spanValues(spans: RecordSpans): Buffer[] {
  const laid = Buffer.concat(spans.parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.length)))
  assert.equal(laid.length, spans.bytes)
  return Array.from({ length: spans.count }, (_, i) => {
    assert.ok(spans.starts[i]! <= spans.ends[i]! && spans.ends[i]! <= laid.length)
    return laid.subarray(spans.starts[i]!, spans.ends[i]!)
  })
}

/** The outcome of a decoder: its records (offset, value) and next offset, or its error. */
function outcome(decode: () => { offsets: number[]; values: Buffer[]; nextOffset: number }) {
  try {
    return { ok: decode() }
  } catch (error) {
    const e = error as Error & { code?: string; retriable?: boolean }
    return { error: { name: e.name, message: e.message, code: e.code, retriable: e.retriable } }
  }
}

test('a record set decoded as spans holds exactly the records decodeRecordSet gives, damaged or cut off too', () => {
  const pool = new BatchBuffers()
  pool.smallest = 1
  let compared = 0
  let failed = 0
  fc.assert(
    fc.property(
      fc.array(part, { minLength: 1, maxLength: 6 }),
      fc.nat(40),
      fc.oneof(
        // Cut the set short (the fetch's size limit, or a damaged length), and damage one byte:
        // these decode or fail as the bytes fall (a damaged byte fails a CRC only now and then).
        {
          weight: 3,
          arbitrary: fc.record({
            cut: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
            damage: fc.option(
              fc.tuple(
                fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
                fc.integer({ min: 1, max: 255 }),
              ),
              { nil: undefined },
            ),
          }),
        },
        // Whole, the first batch's magic byte damaged: these always fail, so every run compares
        // failing sets too (300 cases of the kind above once drew none in CI).
        {
          weight: 1,
          arbitrary: fc.record({
            cut: fc.constant(undefined),
            damage: fc.integer({ min: 1, max: 255 }).map((flip) => ['magic', flip] as const),
          }),
        },
      ),
      (parts, skip, { cut, damage }) => {
        let { bytes, aborted } = recordSet(parts)
        if (cut !== undefined) bytes = bytes.subarray(0, Math.floor(bytes.length * cut))
        if (damage !== undefined) {
          bytes = Buffer.from(bytes)
          if (bytes.length > 0) {
            const at = damage[0] === 'magic' ? MAGIC : Math.floor(bytes.length * damage[0])
            bytes[at] = bytes[at]! ^ damage[1]
          }
        }
        const from = 1_000 + skip
        const expected = outcome(() => {
          const { records, nextOffset } = decodeRecordSet('t', 3, bytes, from, aborted)
          return { offsets: records.map((r) => r.offset), values: records.map((r) => r.value), nextOffset }
        })
        let spans: RecordSpans | undefined
        const got = outcome(() => {
          const decoded = decodeRecordSpans('t', 3, bytes, from, aborted)
          spans = decoded.spans
          assert.equal(decoded.spans.offsets.length, decoded.spans.count)
          return {
            offsets: [...decoded.spans.offsets],
            values: spanValues(decoded.spans),
            nextOffset: decoded.nextOffset,
          }
        })
        assert.deepEqual(got, expected)
        if (expected.error) {
          failed++
          return
        }
        compared++
        // Packed into a reused, dirty buffer, every record reads back at its offset.
        const packed = packSpans(spans!, pool)
        assert.deepEqual([...packed.offsets], expected.ok!.offsets)
        expected.ok!.values.forEach((v, i) => {
          assert.deepEqual(Buffer.from(packed.values.subarray(packed.starts[i]!, packed.ends[i]!)), v)
        })
        if (packed.buffer.byteLength > 0) {
          new Uint8Array(packed.buffer).fill(0xee)
          pool.give(structuredClone(packed.buffer, { transfer: [packed.buffer] }))
        }
      },
    ),
    { numRuns: Number(process.env.STRATA_PROPERTY_RUNS ?? 300) },
  )
  // The property compared record sets that decode and ones that fail, not only one kind.
  assert.ok(compared > 0 && failed > 0, `compared ${compared}, failed alike ${failed}`)
})

test('spans of a large record set grow past the first guess of its record count', () => {
  // Compressed batches hold more records than their bytes suggest.
  const values = Array.from({ length: 5_000 }, () => '')
  const bytes = Buffer.concat([
    batchBytes({ base: 0, values, compression: 'gzip', keys: false }),
    batchBytes({ base: 5_000, values: ['a', 'b'] }),
  ])
  const { spans, nextOffset } = decodeRecordSpans('t', 0, bytes, 0)
  const { records } = decodeRecordSet('t', 0, bytes, 0)
  assert.equal(spans.count, 5_002)
  assert.deepEqual(
    [...spans.offsets],
    records.map((r) => r.offset),
  )
  assert.deepEqual(
    spanValues(spans).map(String),
    records.map((r) => r.value.toString()),
  )
  assert.equal(nextOffset, 5_002)
})
