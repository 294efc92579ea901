// The pure half of producing: which partition each record goes to, how records are cut into
// requests, and how a produce response's base offsets become one offset per record.
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import { partitionForKey } from './partitioner.ts'

export interface ProducerRecord {
  /** Records with the same key land in the same partition (Kafka's murmur2 partitioner). */
  key?: string | Buffer | null
  value: string | Buffer
  headers?: Record<string, string | Buffer>
  /** Overrides the partitioner. */
  partition?: number
  /** Record timestamp in epoch ms (CreateTime); defaults to the time of sending. */
  timestamp?: number
}

/** Where a record was written. */
export interface RecordPosition {
  partition: number
  offset: number
}

/** A record ready for the wire: bytes, a partition, and a size estimate for cutting requests. */
export interface PreparedRecord {
  topic: string
  partition: number
  key: Buffer | undefined
  value: Buffer
  headers: Map<Buffer, Buffer> | undefined
  timestamp: bigint | undefined
  bytes: number
}

// Per-record framing in a v2 record batch is at most ~20 bytes (varints for length, deltas, sizes).
const RECORD_OVERHEAD = 24

/**
 * Gives every record its partition and bytes. `keylessPartition` is where the records without a
 * key go (see StickyRoundRobin); an explicit `partition` must exist in the topic.
 */
export function prepareRecords(
  topic: string,
  records: readonly ProducerRecord[],
  partitions: number,
  keylessPartition: number,
): PreparedRecord[] {
  return records.map((record, index) => {
    if (
      record === null ||
      typeof record !== 'object' ||
      record.value === undefined ||
      record.value === null
    ) {
      throw new StrataError(ErrorCodes.INVALID_ARGUMENT, `Record ${index} has no value`)
    }
    const key = record.key === undefined || record.key === null ? undefined : toBuffer(record.key)
    const value = toBuffer(record.value)
    let partition: number
    if (record.partition !== undefined) {
      if (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= partitions) {
        throw new StrataError(
          ErrorCodes.INVALID_ARGUMENT,
          `Record ${index}: partition ${record.partition} does not exist in ${topic} (${partitions} partitions)`,
        )
      }
      partition = record.partition
    } else {
      partition = key === undefined ? keylessPartition : partitionForKey(key, partitions)
    }
    let bytes = RECORD_OVERHEAD + value.length + (key?.length ?? 0)
    let headers: Map<Buffer, Buffer> | undefined
    if (record.headers) {
      headers = new Map()
      for (const [name, headerValue] of Object.entries(record.headers)) {
        const buffer = toBuffer(headerValue)
        headers.set(Buffer.from(name, 'utf8'), buffer)
        bytes += name.length + buffer.length + 4
      }
    }
    const timestamp = record.timestamp === undefined ? undefined : BigInt(record.timestamp)
    return { topic, partition, key, value, headers, timestamp, bytes }
  })
}

/** Cuts records into runs of at most `maxBytes` (a single larger record is a run of its own). */
export function chunkRecords(records: PreparedRecord[], maxBytes: number): PreparedRecord[][] {
  const chunks: PreparedRecord[][] = []
  let current: PreparedRecord[] = []
  let size = 0
  for (const record of records) {
    if (current.length > 0 && size + record.bytes > maxBytes) {
      chunks.push(current)
      current = []
      size = 0
    }
    current.push(record)
    size += record.bytes
  }
  if (current.length > 0) chunks.push(current)
  return chunks
}

/**
 * A produce request holds one record batch per partition, records in request order, and the
 * response gives each batch's base offset. So the n-th record of a partition in the request sits
 * at `base + n`. (Idempotent producers never reorder or split a batch on retry, so this holds
 * across retries too.)
 */
export function positionsFromBaseOffsets(
  records: readonly Pick<PreparedRecord, 'topic' | 'partition'>[],
  baseOffsets: ReadonlyMap<string, number>,
): RecordPosition[] {
  const next = new Map<string, number>()
  return records.map(({ topic, partition }) => {
    const id = `${topic}:${partition}`
    const base = baseOffsets.get(id)
    if (base === undefined || base < 0) {
      throw new StrataError(ErrorCodes.KAFKA, `The produce response has no offset for ${id}`)
    }
    const index = next.get(id) ?? 0
    next.set(id, index + 1)
    return { partition, offset: base + index }
  })
}

function toBuffer(value: unknown): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8')
  if (Buffer.isBuffer(value)) return value
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  throw new StrataError(ErrorCodes.INVALID_ARGUMENT, 'Keys, values and headers must be strings or Buffers')
}
