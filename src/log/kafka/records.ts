// Records as Strata's roles see them, decoded from the record batches of a fetch response.
//
// The batches come as the broker sent them (fetcher.ts keeps each partition's record set as one
// contiguous Buffer) and are walked here with plain Buffer reads: the batch header once per batch,
// and per record only the varints and slices it needs. Record values and keys are views of that
// Buffer, never copies. (platformatic's own decoder read every byte through its chunked
// DynamicBuffer, built a record object with BigInt timestamps and a header array per record, and
// we then built ours: most of the main thread's time per event in the speed catch-up, decision
// 0001's addendum of 2026-12-06.)
import { compressionsAlgorithmsByBitmask } from '@platformatic/kafka'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import type { RecordSpans } from '../partition-source.ts'
import { crc32c } from './crc32c.ts'

export interface ConsumedRecord {
  topic: string
  partition: number
  offset: number
  key: Buffer | null
  /** The record's bytes; a null value (a tombstone) arrives as an empty Buffer. */
  value: Buffer
  /** CreateTime (or LogAppendTime when the topic says so), epoch ms. */
  timestamp: number
  /** Header values by name; when a name repeats, the last one wins. */
  headers: Record<string, Buffer>
}

/** The records of one partition from one fetch, and where the next fetch starts. */
export interface PartitionBatch {
  topic: string
  partition: number
  records: ConsumedRecord[]
  /** The offset after the last record delivered (or skipped: control records, compacted gaps). */
  nextOffset: number
  /**
   * Set when the fetch was asked for spans (FetchOptions.recordSpans): the records as spans of
   * their values (record-spans.ts decodeRecordSpans), and `records` decoded only if read.
   */
  spans?: RecordSpans
  /** The partition's end (last stable offset) when the broker answered: lag = highWatermark - nextOffset. */
  highWatermark: number
  /**
   * Set when this partition could not be read this time while the others could (no leader, a
   * retriable error in its part of the answer): no records, `nextOffset` where it was asked from,
   * `highWatermark` -1. The fetch loop asks again and reports the trouble (ReadTrouble).
   */
  error?: StrataError
}

/** An aborted transaction the broker listed with a read_committed fetch. */
export interface AbortedTransaction {
  producerId: bigint
  firstOffset: bigint
}

// Record batch v2 (magic 2), offsets from the batch's start.
export const BATCH_LENGTH = 8 // int32: bytes after this field
const MAGIC = 16
const CRC = 17 // uint32: CRC-32C of everything from ATTRIBUTES to the batch's end
const ATTRIBUTES = 21 // int16
const LAST_OFFSET_DELTA = 23 // int32
const FIRST_TIMESTAMP = 27 // int64
const MAX_TIMESTAMP = 35 // int64
const PRODUCER_ID = 43 // int64
export const RECORD_COUNT = 57 // int32
export const RECORDS = 61
/** baseOffset (int64) and batchLength (int32): the part not counted in batchLength. */
export const LOG_OVERHEAD = 12

const COMPRESSION = 0b111
// attributes bit 3: LogAppendTime. The broker then sets only the batch's maxTimestamp; the records'
// deltas keep the producer's CreateTime, so every record takes maxTimestamp (Kafka's DefaultRecordBatch).
const LOG_APPEND_TIME = 0b1000
const IS_TRANSACTIONAL = 0b1_0000
// attributes bit 5: a control batch (transaction commit/abort markers), never user data.
const IS_CONTROL = 0b10_0000
const EMPTY = Buffer.alloc(0)
const EMPTY_HEADERS: Record<string, Buffer> = Object.freeze({}) as Record<string, Buffer>

/**
 * Decodes one partition's record set (the `records` bytes of a Fetch response) from `fromOffset`
 * on. A fetch can start before `fromOffset` (the broker returns whole batches, and a compressed
 * batch is one unit), so earlier records are dropped. `nextOffset` moves past control batches and
 * aborted batches too, or a consumer parked on a transaction marker would fetch it forever. A
 * batch cut off by the fetch's size limit (the last one of a set) is left for the next fetch.
 *
 * Every batch is checked against its CRC-32C first, control, aborted and earlier ones too, as Java's
 * consumer does (check.crcs):
 * a mismatch throws a retriable error naming the batch, and the fetcher asks again (a batch
 * damaged on the way heals; one damaged in the log keeps the partition unreadable, reported).
 *
 * Read committed (the fetcher always asks for it): `aborted` lists the transactions the broker
 * knows were aborted in the range it returned. As in Java's consumer (CompletedFetch), a
 * transactional batch of producer P is dropped from the first offset of P's aborted transaction
 * until P's abort marker, whether or not that marker is in this answer (a fetch cut at its size
 * limit can end between an aborted transaction's records and its marker).
 */
export function decodeRecordSet(
  topic: string,
  partition: number,
  bytes: Buffer,
  fromOffset: number,
  aborted: readonly AbortedTransaction[] | null = null,
): { records: ConsumedRecord[]; nextOffset: number } {
  const records: ConsumedRecord[] = []
  const nextOffset = walkRecordSet(topic, partition, bytes, fromOffset, aborted, (batch) => {
    const { body, count, end, firstOffset, firstTimestamp, appendTime } = batch
    const reader = new VarReader(body, batch.pos)
    for (let i = 0; i < count; i++) {
      const length = reader.varint()
      const recordEnd = reader.at + length
      if (recordEnd > end) throw truncated(topic, partition, firstOffset)
      reader.at++ // attributes (unused)
      const timestampDelta = reader.varlong()
      const offset = firstOffset + reader.varint()
      if (offset < fromOffset) {
        reader.at = recordEnd
        continue
      }
      const key = reader.bytes()
      const value = reader.bytes() ?? EMPTY
      const headerCount = reader.varint()
      let headers = EMPTY_HEADERS
      if (headerCount > 0) {
        headers = {}
        for (let h = 0; h < headerCount; h++) {
          const name = reader.bytes()
          const headerValue = reader.bytes()
          if (name !== null) headers[name.toString('utf8')] = headerValue ?? EMPTY
        }
      }
      if (reader.at !== recordEnd) throw truncated(topic, partition, firstOffset)
      records.push({
        topic,
        partition,
        offset,
        key,
        value,
        timestamp: appendTime ?? firstTimestamp + timestampDelta,
        headers,
      })
    }
  })
  return { records, nextOffset }
}

/** A record batch's records, as walkRecordSet hands them to a decoder's record loop. */
export interface BatchRecords {
  /** The bytes the records are read from: the record set, or a compressed batch's body. */
  body: Buffer
  pos: number
  end: number
  count: number
  firstOffset: number
  firstTimestamp: number
  /** LogAppendTime: every record's timestamp. */
  appendTime: number | undefined
}

/**
 * The walk over a record set's batches that both decoders share: lengths, format, CRC, read
 * committed, control batches, records before `fromOffset`, decompression (decodeRecordSet's
 * comment). Each data batch that may hold records at or past `fromOffset` goes to `records`.
 * Returns the next offset.
 */
export function walkRecordSet(
  topic: string,
  partition: number,
  bytes: Buffer,
  fromOffset: number,
  aborted: readonly AbortedTransaction[] | null,
  records: (batch: BatchRecords) => void,
): number {
  let nextOffset = fromOffset
  const pending = aborted && aborted.length > 0 ? [...aborted].sort(byFirstOffset) : undefined
  let abortedProducers: Set<bigint> | undefined
  let at = 0
  while (bytes.length - at >= LOG_OVERHEAD) {
    const batchEnd = at + LOG_OVERHEAD + bytes.readInt32BE(at + BATCH_LENGTH)
    // A length shorter than a batch header (a damaged length field, which the CRC does not cover)
    // would walk backwards or over the header: refused like a failed CRC, as Java's consumer does.
    if (batchEnd < at + RECORDS) {
      throw new StrataError(
        ErrorCodes.KAFKA,
        `${topic}[${partition}]: a record batch at ${readInt64(bytes, at)} has an impossible length (damaged in the log or on the way); fetched again`,
        { retriable: true },
      )
    }
    if (batchEnd > bytes.length) break // cut off by the size limit: the next fetch brings it whole
    // Kafka 4 writes and serves format 2 only (the older formats were removed), and the magic byte
    // is outside the CRC: any other value is a byte damaged on the way or in the log. Retriable like
    // a failed CRC, so a damaged answer heals on the next fetch and a damaged log shows as the
    // partition's read trouble, instead of failing the role.
    const magic = bytes[at + MAGIC]!
    if (magic !== 2) {
      throw new StrataError(
        ErrorCodes.KAFKA,
        `${topic}[${partition}]: a record batch at ${readInt64(bytes, at)} says format ${magic} (only format 2 is read; damaged in the log or on the way, or a broker older than Kafka 0.11); fetched again`,
        { retriable: true },
      )
    }
    const firstOffset = readInt64(bytes, at)
    // A damaged batch is never used, not even to be skipped: the CRC covers the attributes, the
    // last offset delta and the producer id, so a flipped bit there could make a data batch look
    // like a control batch, an aborted one or one before fromOffset, and its records be skipped
    // (lost) or an abort marker be missed (aborted records counted). As Java's CompletedFetch,
    // every batch is checked before anything in it is read.
    if (crc32c(bytes.subarray(at + ATTRIBUTES, batchEnd)) !== bytes.readUInt32BE(at + CRC)) {
      throw new StrataError(
        ErrorCodes.KAFKA,
        `${topic}[${partition}]: the record batch at ${firstOffset} fails its CRC check (damaged in the log or on the way); fetched again`,
        { retriable: true },
      )
    }
    const lastOffset = firstOffset + bytes.readInt32BE(at + LAST_OFFSET_DELTA)
    const attributes = bytes.readInt16BE(at + ATTRIBUTES)
    const start = at
    at = batchEnd
    if (lastOffset + 1 > nextOffset) nextOffset = lastOffset + 1
    if (attributes & IS_TRANSACTIONAL && pending !== undefined) {
      while (pending.length > 0 && Number(pending[0]!.firstOffset) <= lastOffset) {
        abortedProducers ??= new Set()
        abortedProducers.add(pending.shift()!.producerId)
      }
      if (abortedProducers?.size) {
        const producerId = bytes.readBigInt64BE(start + PRODUCER_ID)
        if (attributes & IS_CONTROL) {
          if (isAbortMarker(bytes, start, batchEnd)) abortedProducers.delete(producerId)
          continue
        }
        if (abortedProducers.has(producerId)) continue
      }
    }
    if (attributes & IS_CONTROL || lastOffset < fromOffset) continue
    const count = bytes.readInt32BE(start + RECORD_COUNT)
    let body = bytes
    let pos = start + RECORDS
    let end = batchEnd
    const compression = attributes & COMPRESSION
    if (compression !== 0) {
      const algorithm = compressionsAlgorithmsByBitmask[compression]
      if (!algorithm) {
        throw new StrataError(
          ErrorCodes.KAFKA,
          `${topic}[${partition}]: a record batch at ${firstOffset} is compressed with an unknown codec (${compression})`,
        )
      }
      body = algorithm.decompressSync(bytes.subarray(pos, batchEnd)) as Buffer
      pos = 0
      end = body.length
    }
    records({
      body,
      pos,
      end,
      count,
      firstOffset,
      firstTimestamp: readInt64(bytes, start + FIRST_TIMESTAMP),
      appendTime: attributes & LOG_APPEND_TIME ? readInt64(bytes, start + MAX_TIMESTAMP) : undefined,
    })
  }
  return nextOffset
}

function byFirstOffset(a: AbortedTransaction, b: AbortedTransaction): number {
  return a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0
}

// A control record's key: version int16, type int16 (0 abort, 1 commit). The batch holds one.
function isAbortMarker(bytes: Buffer, start: number, batchEnd: number): boolean {
  if (bytes.readInt32BE(start + RECORD_COUNT) < 1) return false
  const reader = new VarReader(bytes, start + RECORDS)
  reader.varint() // length
  reader.at++ // attributes
  reader.varlong() // timestamp delta
  reader.varint() // offset delta
  const key = reader.bytes()
  if (reader.at > batchEnd || key === null || key.length < 4) return false
  return key.readInt16BE(2) === 0
}

/** A signed int64 as a number (offsets and timestamps stay far below 2^53). */
function readInt64(bytes: Buffer, at: number): number {
  return bytes.readInt32BE(at) * 4_294_967_296 + bytes.readUInt32BE(at + 4)
}

export function truncated(topic: string, partition: number, firstOffset: number): StrataError {
  return new StrataError(
    ErrorCodes.KAFKA,
    `${topic}[${partition}]: the record batch at ${firstOffset} is malformed (a record runs past its end)`,
  )
}

/** Zigzag varints of a record (Kafka's ByteUtils.readVarint/readVarlong), read in place. */
export class VarReader {
  readonly buf: Buffer
  at: number

  constructor(buf: Buffer, at: number) {
    this.buf = buf
    this.at = at
  }

  varint(): number {
    const buf = this.buf
    let value = 0
    let shift = 0
    let byte: number
    do {
      if (this.at >= buf.length || shift > 28) throw new RangeError('bad varint in a record batch')
      byte = buf[this.at++]!
      value |= (byte & 0x7f) << shift
      shift += 7
    } while (byte & 0x80)
    return (value >>> 1) ^ -(value & 1)
  }

  // Up to 2^53 in magnitude (timestamp deltas): multiplication instead of 32-bit shifts.
  varlong(): number {
    const buf = this.buf
    let value = 0
    let scale = 1
    let byte: number
    do {
      if (this.at >= buf.length || scale > 2 ** 56) throw new RangeError('bad varlong in a record batch')
      byte = buf[this.at++]!
      value += (byte & 0x7f) * scale
      scale *= 128
    } while (byte & 0x80)
    // zigzag: even n is n/2, odd n is -(n+1)/2
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2
  }

  /** A varint length and that many bytes skipped, as bytes() reads them; returns the length (-1: null). */
  skipBytes(): number {
    const length = this.varint()
    if (length < 0) return length
    this.at += length
    if (this.at > this.buf.length) throw new RangeError('a record field runs past its batch')
    return length
  }

  /** A varint length and that many bytes (a view); -1 is null. */
  bytes(): Buffer | null {
    const length = this.varint()
    if (length < 0) return null
    const start = this.at
    this.at += length
    if (this.at > this.buf.length) throw new RangeError('a record field runs past its batch')
    return this.buf.subarray(start, this.at)
  }
}
