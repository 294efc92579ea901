// Partitions handed to a role, whichever source hands them out: a Kafka consumer group, which
// shares them among its members and moves them on a rebalance (kafka/group-source.ts), or the
// embedded log, where one process owns every partition for as long as it runs
// (embedded/partition-source.ts). The speed layer and the archiver are written once against it.
//
// Contract, as Kafka's eager rebalance protocol gives it (the embedded log keeps it trivially):
//   - onAssign(partitions): the partitions are ours; the answer says where each starts reading.
//     It is the role's own stored position (the speed layer's stored offset, the segment store's
//     end), never the group's committed offset.
//   - onBatch(batch): a partition's records in offset order; that partition's next batch waits
//     until the promise resolves.
//   - onRevoke(partitions): they stop being ours (a rebalance, close, a fatal error), before anyone
//     else can be given them: the role writes what it holds for them then, so the next owner
//     resumes exactly there. Every onAssign is matched by an onRevoke.
// A member that stalls past its session timeout loses its partitions without an onRevoke: what
// it writes late must be fenced by the role's store (the speed layer's owner token; the
// segment store's contiguity check).

/** A record as a role reads it (Kafka's ConsumedRecord and the embedded log's LogRecord fit). */
export interface SourceRecord {
  offset: number
  /** Epoch ms: Kafka's record timestamp, or the embedded log's append time. */
  timestamp: number
  key: Buffer | string | null
  value: Buffer
}

/**
 * A batch's records as spans of their values, without an object per record (Kafka with
 * FetchOptions.recordSpans: kafka/record-spans.ts decodeRecordSpans). Record i is at offsets[i], its
 * value bytes [starts[i], ends[i]) of the parts laid end to end (`bytes` in all). The same records
 * as the batch's `records`, in the same order.
 */
export interface RecordSpans {
  count: number
  offsets: Float64Array
  starts: Uint32Array
  ends: Uint32Array
  parts: readonly Uint8Array[]
  bytes: number
  /**
   * Set when the values lie in one part of a buffer that this batch alone holds (a Kafka record
   * set copied out of the connection for this fetch, not compressed): a reader may take that
   * buffer (transfer it to a fold thread) instead of copying the values out of it. Once it is
   * taken the batch's `records` cannot be read (they throw), and nothing else reads the buffer.
   */
  owned?: ArrayBuffer
}

export interface SourceBatch {
  partition: number
  records: readonly SourceRecord[]
  /** The records as spans too, when the source decoded them so (read `records` only if needed). */
  spans?: RecordSpans
  /** Where the partition's next batch starts (past offsets with no record: transaction markers). */
  nextOffset: number
  /** The partition's end when the batch was read (Kafka: the fetch's last stable offset), if known. */
  highWatermark?: number
}

/**
 * A partition the source cannot read right now and keeps trying (Kafka: it has no leader, or
 * every fetch fails retriably): the role's health says so, degraded and then stalled
 * (runtime/role-reporters.ts), rather than running while nothing arrives.
 */
export interface ReadTrouble {
  partition: number
  /** Failed reads in a row. */
  failures: number
  /** When this run of failures began, epoch ms. */
  since: number
  /** The last failure, "message [CODE]". */
  reason: string
}

export interface PartitionHandlers {
  onAssign(partitions: number[]): Promise<Map<number, number>>
  onBatch(batch: SourceBatch): Promise<void>
  onRevoke(partitions: number[]): Promise<void>
}

export interface PartitionSource {
  /** Starts delivering; resolves once the first assignment is delivering. */
  start(handlers: PartitionHandlers): Promise<void>
  /**
   * Records where the role got to in owned partitions (Kafka: the group offsets, so that
   * `kafka-consumer-groups` shows the lag; never read back). The embedded log has no group.
   */
  commit(offsets: Map<number, number>): Promise<void>
  /** Stops delivering, revoking every partition first. */
  close(): Promise<void>
  /**
   * Where a partition's log starts now, when it can start past 0 (Kafka: retention deleted the
   * topic's first records, maybe before Strata ever ran). Absent: it starts at 0.
   */
  logStart?(partition: number): Promise<number>
  /** Owned partitions whose reads are failing now (none: every read succeeds, or no such notion). */
  readTrouble?(): ReadTrouble[]
}
