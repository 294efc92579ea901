// A record set decoded as spans of its values, for the speed layer's fold threads (decision 0011,
// session 15): the walk and checks of records.ts, no object per record.
import type { RecordSpans } from '../partition-source.ts'
import {
  type AbortedTransaction,
  BATCH_LENGTH,
  LOG_OVERHEAD,
  RECORD_COUNT,
  RECORDS,
  truncated,
  VarReader,
  walkRecordSet,
} from './records.ts'

/**
 * The records of a record set as spans of their values, no object per record (the speed layer
 * with a fold thread reads only each record's offset and value bytes, and copies those into the
 * buffer it sends: src/speed/batch-buffers.ts packSpans). Record i is bytes
 * [starts[i], ends[i]) of `parts` laid end to end, at offsets[i]. A part is a run of one buffer
 * (the fetch answer, or a compressed batch's body) from a value's first byte to a later value's
 * last, taking along the bytes between them (record headers and keys, batch headers) while they
 * are short: one copy per run, not one per record.
 *
 * The same walk and the same checks as decodeRecordSet, which it must agree with record for record
 * (test/log/kafka/record-spans.property.test.ts): the same records, the same next offset, the
 * same errors. A null value is an empty span.
 */
export function decodeRecordSpans(
  topic: string,
  partition: number,
  bytes: Buffer,
  fromOffset: number,
  aborted: readonly AbortedTransaction[] | null = null,
): { spans: RecordSpans; nextOffset: number } {
  let capacity = Math.max(16, Math.min(countRecords(bytes), bytes.length))
  let offsets = new Float64Array(capacity)
  let starts = new Uint32Array(capacity)
  let ends = new Uint32Array(capacity)
  let n = 0
  const parts: Uint8Array[] = []
  // The part being laid out: body[partFrom, partEnd), after `laid` bytes of earlier parts.
  let partBody: Buffer | undefined
  let partFrom = 0
  let partEnd = 0
  let laid = 0
  const nextOffset = walkRecordSet(topic, partition, bytes, fromOffset, aborted, (batch) => {
    const { body, count, end, firstOffset } = batch
    const reader = new VarReader(body, batch.pos)
    for (let i = 0; i < count; i++) {
      const length = reader.varint()
      const recordEnd = reader.at + length
      if (recordEnd > end) throw truncated(topic, partition, firstOffset)
      reader.at++ // attributes (unused)
      reader.varlong() // timestamp delta (unused)
      const offset = firstOffset + reader.varint()
      if (offset < fromOffset) {
        reader.at = recordEnd
        continue
      }
      reader.skipBytes() // key
      const valueLength = reader.skipBytes()
      const valueEnd = reader.at
      const headerCount = reader.varint()
      for (let h = 0; h < headerCount; h++) {
        reader.skipBytes()
        reader.skipBytes()
      }
      if (reader.at !== recordEnd) throw truncated(topic, partition, firstOffset)
      if (n === capacity) {
        capacity *= 2
        offsets = grown(offsets, new Float64Array(capacity))
        starts = grown(starts, new Uint32Array(capacity))
        ends = grown(ends, new Uint32Array(capacity))
      }
      offsets[n] = offset
      if (valueLength <= 0) {
        // Empty or null: an empty span where the laid-out bytes end now.
        const at = laid + partEnd - partFrom
        starts[n] = at
        ends[n] = at
      } else {
        const valueStart = valueEnd - valueLength
        if (body !== partBody || valueStart < partEnd || valueStart - partEnd > SPAN_GAP) {
          if (partBody !== undefined) {
            parts.push(partBody.subarray(partFrom, partEnd))
            laid += partEnd - partFrom
          }
          partBody = body
          partFrom = valueStart
        }
        partEnd = valueEnd
        starts[n] = laid + valueStart - partFrom
        ends[n] = laid + valueEnd - partFrom
      }
      n++
    }
  })
  if (partBody !== undefined) {
    parts.push(partBody.subarray(partFrom, partEnd))
    laid += partEnd - partFrom
  }
  return {
    spans: {
      count: n,
      offsets: offsets.subarray(0, n),
      starts: starts.subarray(0, n),
      ends: ends.subarray(0, n),
      parts,
      bytes: laid,
    },
    nextOffset,
  }
}

/**
 * Bytes between two values (a record's header and key, a batch header, a transaction marker)
 * taken along in one part rather than starting another: as packRecords's runs (batch-buffers.ts).
 */
const SPAN_GAP = 512

function grown<T extends Float64Array | Uint32Array>(from: T, to: T): T {
  to.set(from)
  return to
}

/** The records the whole batches of a record set say they hold (a first guess of a capacity). */
function countRecords(bytes: Buffer): number {
  let count = 0
  let at = 0
  while (bytes.length - at >= RECORDS) {
    const next = at + LOG_OVERHEAD + bytes.readInt32BE(at + BATCH_LENGTH)
    if (next < at + RECORDS || next > bytes.length) break
    count += Math.max(0, bytes.readInt32BE(at + RECORD_COUNT))
    at = next
  }
  return count
}
