// Records as Strata's roles see them, decoded from the record batches of a fetch response.
import type { RecordsBatch } from '@platformatic/kafka'

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
  /** The partition's end (last stable offset) when the broker answered: lag = highWatermark - nextOffset. */
  highWatermark: number
}

// attributes bit 5: a control batch (transaction commit/abort markers), never user data.
const IS_CONTROL = 0b10_0000
const EMPTY = Buffer.alloc(0)

/**
 * Decodes a partition's batches from `fromOffset` on. A fetch can start before `fromOffset`
 * (the broker returns whole batches, and a compressed batch is one unit), so earlier records
 * are dropped here. `nextOffset` moves past control batches too, or a consumer parked on a
 * transaction marker would fetch it forever.
 */
export function decodeBatches(
  topic: string,
  partition: number,
  batches: readonly RecordsBatch[],
  fromOffset: number,
): { records: ConsumedRecord[]; nextOffset: number } {
  const records: ConsumedRecord[] = []
  let nextOffset = fromOffset
  for (const batch of batches) {
    const firstOffset = Number(batch.firstOffset)
    const lastOffset = firstOffset + batch.lastOffsetDelta
    if (lastOffset + 1 > nextOffset) nextOffset = lastOffset + 1
    if (batch.attributes & IS_CONTROL) continue
    const firstTimestamp = Number(batch.firstTimestamp)
    for (const record of batch.records) {
      const offset = firstOffset + record.offsetDelta
      if (offset < fromOffset) continue
      const headers: Record<string, Buffer> = {}
      for (const [name, value] of record.headers) {
        if (name !== null) headers[name.toString('utf8')] = value ?? EMPTY
      }
      records.push({
        topic,
        partition,
        offset,
        key: record.key,
        value: record.value ?? EMPTY,
        timestamp: firstTimestamp + Number(record.timestampDelta),
        headers,
      })
    }
  }
  return { records, nextOffset }
}
