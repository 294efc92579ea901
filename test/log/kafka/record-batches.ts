// Record batches as a broker sends them, for the tests of the decoder and of what reads its
// records: built by platformatic's encoder (the producer's, which Kafka itself accepts), with the
// base offset, the producer and the control bit patched in where a broker would set them, and the
// CRC-32C written again after a patch.
import { type CompressionAlgorithmValue, createRecordsBatch, type MessageRecord } from '@platformatic/kafka'
import { crc32c } from '../../../src/log/kafka/crc32c.ts'
import type { AbortedTransaction } from '../../../src/log/kafka/records.ts'

/** attributes bit 5: a control batch (a transaction marker). */
export const CONTROL = 0b10_0000

export interface BatchSpec {
  base: number
  values: (string | null)[]
  compression?: CompressionAlgorithmValue
  producerId?: bigint
  transactional?: boolean
  headers?: boolean
  /** The value of record i's one header (with `headers`); its index by default. */
  header?: (i: number) => string
  keys?: boolean
}

export function batchBytes(spec: BatchSpec): Buffer {
  const header = spec.header ?? String
  const messages: MessageRecord[] = spec.values.map((value, i) => ({
    topic: 't',
    key: spec.keys === false ? undefined : Buffer.from(`k${i}`),
    value: value === null ? (null as unknown as Buffer) : Buffer.from(value),
    timestamp: 1_700_000_000_000n + BigInt(i * 1000),
    ...(spec.headers ? { headers: new Map([[Buffer.from('h'), Buffer.from(header(i))]]) } : {}),
  }))
  const bytes = Buffer.from(
    createRecordsBatch(messages, {
      ...(spec.compression ? { compression: spec.compression } : {}),
      ...(spec.producerId === undefined ? {} : { producerId: spec.producerId, producerEpoch: 0 }),
      ...(spec.transactional ? { transactionalId: 'tx' } : {}),
    }).buffer,
  )
  bytes.writeBigInt64BE(BigInt(spec.base), 0)
  return bytes
}

/** A transaction marker as the broker writes it: a control batch of one record, key (version, type). */
export function markerBytes(base: number, producerId: bigint, type: 'abort' | 'commit'): Buffer {
  const key = Buffer.alloc(4)
  key.writeInt16BE(0, 0)
  key.writeInt16BE(type === 'abort' ? 0 : 1, 2)
  const bytes = Buffer.from(
    createRecordsBatch([{ topic: 't', key, value: Buffer.from([0, 0, 0, 0, 0, 0]) }], {
      producerId,
      producerEpoch: 0,
      transactionalId: 'tx',
    }).buffer,
  )
  bytes.writeBigInt64BE(BigInt(base), 0)
  bytes.writeInt16BE(bytes.readInt16BE(21) | CONTROL, 21)
  return withCrc(bytes)
}

/** The batch's CRC-32C written again after a field was patched, as the broker's batch has it. */
export function withCrc(bytes: Buffer): Buffer {
  bytes.writeUInt32BE(crc32c(bytes.subarray(21)), 17)
  return bytes
}

/** A part of a record set: a data batch, a batch of an aborted transaction, or an abort marker. */
export interface SetPart {
  kind: 'data' | 'aborted' | 'marker'
  values: Array<string | null>
  compression: CompressionAlgorithmValue | undefined
  headers: boolean
  keys?: boolean
}

/**
 * The record set the parts make from offset 1,000 (producer 7's transactions), and the aborted
 * transactions a broker would list with it; `header(i)` is record i's header value (with
 * `headers`). `end`: the offset after the last part.
 */
export function recordSetBytes(
  parts: SetPart[],
  header: (i: number) => string,
): { bytes: Buffer; aborted: AbortedTransaction[]; end: number } {
  const producerId = 7n
  const buffers: Buffer[] = []
  const aborted: AbortedTransaction[] = []
  let base = 1_000
  for (const p of parts) {
    if (p.kind === 'marker') {
      buffers.push(markerBytes(base, producerId, 'abort'))
      base += 1
      continue
    }
    if (p.kind === 'aborted') aborted.push({ producerId, firstOffset: BigInt(base) })
    buffers.push(
      batchBytes({
        base,
        values: p.values,
        ...(p.compression ? { compression: p.compression } : {}),
        ...(p.kind === 'aborted' ? { producerId, transactional: true } : {}),
        headers: p.headers,
        ...(p.keys === undefined ? {} : { keys: p.keys }),
        header,
      }),
    )
    base += p.values.length
  }
  return { bytes: Buffer.concat(buffers), aborted, end: base }
}
