// The pure start of producing: which partition each record goes to, its bytes, and the limits
// requests are cut by (partition-lane.ts cuts them; sender.ts gives each record its offset).
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

/**
 * A record ready for the wire: a partition, its key and value (strings stay strings, written as
 * UTF-8 straight into the request: one Buffer fewer per record), and a size estimate for cutting
 * requests.
 */
export interface PreparedRecord {
  topic: string
  partition: number
  key: Buffer | string | undefined
  value: Buffer | string
  /** UTF-8 length of the key (0 when there is none) and of the value. */
  keyBytes: number
  valueBytes: number
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
    const key = record.key === undefined || record.key === null ? undefined : toBytes(record.key)
    const value = toBytes(record.value)
    const keyBytes = key === undefined ? 0 : byteLength(key)
    const valueBytes = byteLength(value)
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
    let bytes = RECORD_OVERHEAD + valueBytes + keyBytes
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
    return { topic, partition, key, value, keyBytes, valueBytes, headers, timestamp, bytes }
  })
}

export interface RequestLimits {
  /** Largest produce request we build (bytes before compression). */
  maxRequestBytes: number
  /** Largest record batch, i.e. one partition's share of a request: the broker refuses a batch
   * over `message.max.bytes` (1 MiB by default). */
  maxBatchBytes: number
}

// A short string (a key, typically) is measured by a JavaScript loop when it is ASCII: cheaper
// than a call into C++ (bench/producer-encode-micro.ts). Longer ones, or any with a unit from
// 0x80, go to Buffer.byteLength.
const SHORT = 16

function byteLength(data: Buffer | string): number {
  if (typeof data !== 'string') return data.length
  const length = data.length
  if (length > SHORT) return Buffer.byteLength(data, 'utf8')
  for (let i = 0; i < length; i++) if (data.charCodeAt(i) > 0x7f) return Buffer.byteLength(data, 'utf8')
  return length
}

/** Strings as they are, bytes as a Buffer. */
function toBytes(value: unknown): Buffer | string {
  if (typeof value === 'string') return value
  return toBuffer(value)
}

/** A key or value as a Buffer (platformatic's encoder takes nothing else). */
export function asBuffer(data: Buffer | string | undefined): Buffer | undefined {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data
}

function toBuffer(value: unknown): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8')
  if (Buffer.isBuffer(value)) return value
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  throw new StrataError(ErrorCodes.INVALID_ARGUMENT, 'Keys, values and headers must be strings or Buffers')
}
