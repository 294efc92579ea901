// The pure half of producing: which partition each record goes to, how records are cut into
// requests, and how a produce response's base offsets become one offset per record.
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import type { RecordPosition } from '../log.ts'
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

type Sized = Pick<PreparedRecord, 'topic' | 'partition' | 'bytes'>

/** Tracks how full a produce request is, in total and per partition. (Hot path: no string keys.) */
export class RequestBudget {
  #limits: RequestLimits
  #total = 0
  #batches = new Map<string, number[]>() // topic → bytes by partition

  constructor(limits: RequestLimits) {
    this.#limits = limits
  }

  get empty(): boolean {
    return this.#total === 0
  }

  /** Whether these records can join the request without breaking a limit. */
  fits(records: readonly Sized[]): boolean {
    if (records.length === 1) return this.#fitsOne(records[0]!)
    const scratch = new RequestBudget(this.#limits)
    scratch.#total = this.#total
    for (const [topic, batches] of this.#batches) scratch.#batches.set(topic, [...batches])
    for (const record of records) {
      if (!scratch.#fitsOne(record)) return false
      scratch.#addOne(record)
    }
    return true
  }

  add(records: readonly Sized[]): void {
    for (const record of records) this.#addOne(record)
  }

  #fitsOne({ topic, partition, bytes }: Sized): boolean {
    const batch = (this.#batches.get(topic)?.[partition] ?? 0) + bytes
    return this.#total + bytes <= this.#limits.maxRequestBytes && batch <= this.#limits.maxBatchBytes
  }

  #addOne({ topic, partition, bytes }: Sized): void {
    let batches = this.#batches.get(topic)
    if (!batches) {
      batches = []
      this.#batches.set(topic, batches)
    }
    batches[partition] = (batches[partition] ?? 0) + bytes
    this.#total += bytes
  }
}

/** Cuts records into runs that each fit one request (a single oversized record is a run of its own). */
export function chunkRecords(records: PreparedRecord[], limits: RequestLimits): PreparedRecord[][] {
  const chunks: PreparedRecord[][] = []
  let current: PreparedRecord[] = []
  let budget = new RequestBudget(limits)
  for (const record of records) {
    if (!budget.empty && !budget.fits([record])) {
      chunks.push(current)
      current = []
      budget = new RequestBudget(limits)
    }
    current.push(record)
    budget.add([record])
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
  // topic → next offset by partition, seeded from the base offsets on first use
  const next = new Map<string, number[]>()
  return records.map(({ topic, partition }) => {
    let offsets = next.get(topic)
    if (!offsets) {
      offsets = []
      next.set(topic, offsets)
    }
    const offset = offsets[partition] ?? baseOffsets.get(`${topic}:${partition}`)
    if (offset === undefined || offset < 0) {
      throw new StrataError(ErrorCodes.KAFKA, `The produce response has no offset for ${topic}:${partition}`)
    }
    offsets[partition] = offset + 1
    return { partition, offset }
  })
}

function byteLength(data: Buffer | string): number {
  return typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length
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
