// The body of an uncompressed Produce request (versions 9 to 11, the flexible ones), written into
// one buffer sized up front. platformatic builds the same bytes from a Writer per record joined
// by Buffer.concat; that was half of the producer's CPU per event (and most of its garbage), a
// cost Java's producer does not pay (docs/decisions/0017-producer-in-flight.md).
//
//   Produce Request (v9-v11) => transactional_id acks timeout_ms [topic_data] TAG_BUFFER
//     topic_data => name [partition_data] TAG_BUFFER
//       partition_data => index records TAG_BUFFER
//
//   RecordBatch (magic 2) => baseOffset:int64 batchLength:int32 partitionLeaderEpoch:int32
//     magic:int8 crc:uint32 (CRC-32C of attributes..end) attributes:int16 lastOffsetDelta:int32
//     baseTimestamp:int64 maxTimestamp:int64 producerId:int64 producerEpoch:int16
//     baseSequence:int32 records:[Record] (int32 count)
//   Record => length:varint attributes:int8 timestampDelta:varlong offsetDelta:varint
//     key:varint-bytes value:varint-bytes headers:[varint-bytes varint-bytes] (varint count)
// (varint and varlong are zigzag-encoded; a null key has length -1.)
import { crc32c } from '@platformatic/kafka'
import type { PreparedRecord } from './produce-batch.ts'

export interface BatchToEncode {
  topic: string
  partition: number
  records: readonly PreparedRecord[]
  producerId: bigint
  producerEpoch: number
  sequence: number
}

const BATCH_HEADER = 61 // bytes before the first record
const CRC_FROM = 21 // attributes onwards

function unsignedVarIntSize(value: number): number {
  if (value < 0x80) return 1
  if (value < 0x4000) return 2
  if (value < 0x200000) return 3
  if (value < 0x10000000) return 4
  if (value < 0x800000000) return 5
  let size = 6
  for (let v = Math.floor(value / 0x800000000); v >= 0x80; v = Math.floor(v / 0x80)) size++
  return size
}

function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1
}

function writeUnsignedVarInt(buffer: Buffer, offset: number, value: number): number {
  while (value >= 0x80) {
    buffer[offset++] = (value % 0x80) | 0x80
    value = Math.floor(value / 0x80)
  }
  buffer[offset++] = value
  return offset
}

function bytesSize(length: number): number {
  return unsignedVarIntSize(zigzag(length)) + length
}

function headersSize(headers: Map<Buffer, Buffer>): number {
  let size = 0
  for (const [key, value] of headers) {
    size += unsignedVarIntSize(zigzag(key.length)) + key.length
    size += unsignedVarIntSize(zigzag(value.length)) + value.length
  }
  return size
}

// The size of one record after its length prefix.
function recordBodySize(record: PreparedRecord, offsetDelta: number, timestampDelta: number): number {
  const headers = record.headers
  return (
    1 +
    unsignedVarIntSize(zigzag(timestampDelta)) +
    unsignedVarIntSize(zigzag(offsetDelta)) +
    (record.key === undefined ? 1 : bytesSize(record.keyBytes)) +
    bytesSize(record.valueBytes) +
    unsignedVarIntSize(zigzag(headers ? headers.size : 0)) +
    (headers ? headersSize(headers) : 0)
  )
}

interface Sized {
  batch: BatchToEncode
  bodies: number[]
  bytes: number
  baseTimestamp: number
  maxTimestamp: number
}

function sizeBatch(batch: BatchToEncode, now: number): Sized {
  const records = batch.records
  const first = records[0]!.timestamp
  const baseTimestamp = first === undefined ? now : Number(first)
  let maxTimestamp = baseTimestamp
  const bodies = new Array<number>(records.length)
  let bytes = BATCH_HEADER
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!
    const timestamp = record.timestamp === undefined ? now : Number(record.timestamp)
    if (timestamp > maxTimestamp) maxTimestamp = timestamp
    const body = recordBodySize(record, i, timestamp - baseTimestamp)
    bodies[i] = body
    bytes += unsignedVarIntSize(zigzag(body)) + body
  }
  return { batch, bodies, bytes, baseTimestamp, maxTimestamp }
}

function writeBytes(buffer: Buffer, offset: number, bytes: Buffer): number {
  offset = writeUnsignedVarInt(buffer, offset, zigzag(bytes.length))
  bytes.copy(buffer, offset)
  return offset + bytes.length
}

// Up to this many characters, an ASCII string is copied by a JavaScript loop: cheaper than a
// call into C++ for a key (~12 against ~57 ns for 6 characters; longer strings favour C++;
// BENCHMARKS.md, Ingest, session 19).
const SHORT_ASCII = 16

// Buffer's own Latin-1 writer (Node's buffer.write(…, 'latin1') calls it after normalising the
// encoding name, which costs more than it saves here); not in @types/node, so looked up, with
// buffer.write as the fallback should a Node release drop it.
type Latin1Write = (this: Buffer, string: string, offset: number, length: number) => number
const latin1Write: Latin1Write =
  (Buffer.prototype as unknown as { latin1Write?: Latin1Write }).latin1Write ??
  function (this: Buffer, string: string, offset: number, length: number) {
    return this.write(string, offset, length, 'latin1')
  }

// A key or value: a string is written as UTF-8 in place, its length known beforehand. A string
// whose UTF-8 length is its length in UTF-16 units is ASCII (any unit from 0x80 takes 2 or more
// bytes), and ASCII's UTF-8 bytes are its Latin-1 bytes: latin1Write skips the UTF-8 encoder
// (~80 against ~110-150 ns for a 64-character value; the whole encoding:
// bench/producer-encode-micro.ts).
function writeData(buffer: Buffer, offset: number, data: Buffer | string, length: number): number {
  offset = writeUnsignedVarInt(buffer, offset, zigzag(length))
  if (typeof data !== 'string') data.copy(buffer, offset)
  else if (length !== data.length) buffer.write(data, offset, length, 'utf8')
  else if (length <= SHORT_ASCII) for (let i = 0; i < length; i++) buffer[offset + i] = data.charCodeAt(i)
  else latin1Write.call(buffer, data, offset, length)
  return offset + length
}

function writeBatch(buffer: Buffer, start: number, sized: Sized, now: number): number {
  const { batch, bodies, bytes, baseTimestamp, maxTimestamp } = sized
  const records = batch.records
  buffer.writeBigInt64BE(0n, start) // base offset: the broker assigns it
  buffer.writeInt32BE(bytes - 12, start + 8)
  buffer.writeInt32BE(-1, start + 12) // partition leader epoch: set by the broker
  buffer.writeInt8(2, start + 16)
  buffer.writeInt16BE(0, start + 21) // attributes: no compression, CreateTime, not transactional
  buffer.writeInt32BE(records.length - 1, start + 23)
  buffer.writeBigInt64BE(BigInt(baseTimestamp), start + 27)
  buffer.writeBigInt64BE(BigInt(maxTimestamp), start + 35)
  buffer.writeBigInt64BE(batch.producerId, start + 43)
  buffer.writeInt16BE(batch.producerEpoch, start + 51)
  buffer.writeInt32BE(batch.sequence, start + 53)
  buffer.writeInt32BE(records.length, start + 57)
  let offset = start + BATCH_HEADER
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!
    const timestamp = record.timestamp === undefined ? now : Number(record.timestamp)
    offset = writeUnsignedVarInt(buffer, offset, zigzag(bodies[i]!))
    buffer[offset++] = 0 // attributes
    offset = writeUnsignedVarInt(buffer, offset, zigzag(timestamp - baseTimestamp))
    offset = writeUnsignedVarInt(buffer, offset, zigzag(i))
    if (record.key === undefined)
      buffer[offset++] = 1 // zigzag(-1): null
    else offset = writeData(buffer, offset, record.key, record.keyBytes)
    offset = writeData(buffer, offset, record.value, record.valueBytes)
    const headers = record.headers
    offset = writeUnsignedVarInt(buffer, offset, zigzag(headers ? headers.size : 0))
    if (headers) {
      for (const [key, value] of headers) {
        offset = writeBytes(buffer, offset, key)
        offset = writeBytes(buffer, offset, value)
      }
    }
  }
  buffer.writeUInt32BE(crc32c(buffer.subarray(start + CRC_FROM, offset)), start + 17)
  return offset
}

/**
 * The request body for these batches (at most one per partition), acks=all. `now` stands for
 * the timestamp of records that have none.
 */
export function encodeProduceRequest(
  batches: readonly BatchToEncode[],
  timeoutMs: number,
  now: number = Date.now(),
): Buffer {
  const topics = new Map<string, { name: Buffer; batches: Sized[] }>()
  for (const batch of batches) {
    let topic = topics.get(batch.topic)
    if (!topic) {
      topic = { name: Buffer.from(batch.topic, 'utf8'), batches: [] }
      topics.set(batch.topic, topic)
    }
    topic.batches.push(sizeBatch(batch, now))
  }
  let size = 1 + 2 + 4 + unsignedVarIntSize(topics.size + 1) + 1
  for (const { name, batches } of topics.values()) {
    size += unsignedVarIntSize(name.length + 1) + name.length + unsignedVarIntSize(batches.length + 1) + 1
    for (const sized of batches) size += 4 + unsignedVarIntSize(sized.bytes + 1) + sized.bytes + 1
  }
  const buffer = Buffer.allocUnsafe(size)
  let offset = 0
  buffer[offset++] = 0 // transactional_id: null
  offset = buffer.writeInt16BE(-1, offset) // acks=all
  offset = buffer.writeInt32BE(timeoutMs, offset)
  offset = writeUnsignedVarInt(buffer, offset, topics.size + 1)
  for (const { name, batches } of topics.values()) {
    offset = writeUnsignedVarInt(buffer, offset, name.length + 1)
    offset += name.copy(buffer, offset)
    offset = writeUnsignedVarInt(buffer, offset, batches.length + 1)
    for (const sized of batches) {
      offset = buffer.writeInt32BE(sized.batch.partition, offset)
      offset = writeUnsignedVarInt(buffer, offset, sized.bytes + 1)
      offset = writeBatch(buffer, offset, sized, now)
      buffer[offset++] = 0 // partition tagged fields
    }
    buffer[offset++] = 0 // topic tagged fields
  }
  buffer[offset++] = 0 // request tagged fields
  if (offset !== size) throw new Error(`produce request sized ${size} bytes, written ${offset}`)
  return buffer
}
