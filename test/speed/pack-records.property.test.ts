// A batch's records packed for a fold thread (src/speed/batch-buffers.ts packRecords) straight
// from what the Kafka decoder hands over (src/log/kafka/records.ts): values are views of the fetch
// answer (a record header and key apart), of a batch's decompressed body, or a shared empty Buffer
// (a null value); control batches, aborted transactions and records before the fetch offset are
// left out in the middle. Copied by runs, every record must read back byte for byte at its offset,
// whatever the layout, in a buffer reused from the pool (its old bytes never show through).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type CompressionAlgorithmValue, createRecordsBatch, type MessageRecord } from '@platformatic/kafka'
import fc from 'fast-check'
import { crc32c } from '../../src/log/kafka/crc32c.ts'
import { type AbortedTransaction, decodeRecordSet } from '../../src/log/kafka/records.ts'
import { BatchBuffers, packRecords } from '../../src/speed/batch-buffers.ts'

const CONTROL = 0b10_0000

interface Part {
  kind: 'data' | 'aborted' | 'marker'
  values: Array<string | null>
  compression: CompressionAlgorithmValue | undefined
  headers: boolean
}

function batchBytes(base: number, part: Part, producerId: bigint): Buffer {
  const messages: MessageRecord[] = part.values.map((value, i) => ({
    topic: 't',
    key: Buffer.from(`k${i}`),
    value: value === null ? (null as unknown as Buffer) : Buffer.from(value),
    timestamp: 1_700_000_000_000n + BigInt(i),
    ...(part.headers ? { headers: new Map([[Buffer.from('h'), Buffer.from('x'.repeat(i * 40))]]) } : {}),
  }))
  const transactional = part.kind !== 'data'
  const bytes = Buffer.from(
    createRecordsBatch(messages, {
      ...(part.compression ? { compression: part.compression } : {}),
      ...(transactional ? { producerId, producerEpoch: 0, transactionalId: 'tx' } : {}),
    }).buffer,
  )
  bytes.writeBigInt64BE(BigInt(base), 0)
  return bytes
}

function markerBytes(base: number, producerId: bigint): Buffer {
  const key = Buffer.alloc(4)
  key.writeInt16BE(0, 0) // version 0, type 0: abort
  const bytes = Buffer.from(
    createRecordsBatch([{ topic: 't', key, value: Buffer.from([0, 0, 0, 0, 0, 0]) }], {
      producerId,
      producerEpoch: 0,
      transactionalId: 'tx',
    }).buffer,
  )
  bytes.writeBigInt64BE(BigInt(base), 0)
  bytes.writeInt16BE(bytes.readInt16BE(21) | CONTROL, 21)
  bytes.writeUInt32BE(crc32c(bytes.subarray(21)), 17)
  return bytes
}

const value = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  // Longer than the gap copied along, and around it.
  { weight: 1, arbitrary: fc.integer({ min: 400, max: 1_500 }).map((n) => 'v'.repeat(n)) },
)
const part: fc.Arbitrary<Part> = fc.record({
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
      const producerId = 7n
      const buffers: Buffer[] = []
      const aborted: AbortedTransaction[] = []
      let base = 1_000
      for (const p of parts) {
        if (p.kind === 'marker') {
          buffers.push(markerBytes(base, producerId))
          base += 1
          continue
        }
        if (p.kind === 'aborted') aborted.push({ producerId, firstOffset: BigInt(base) })
        buffers.push(batchBytes(base, p, producerId))
        base += p.values.length
      }
      const answer = Buffer.concat(buffers)
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
