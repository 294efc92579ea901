// The embedded log's interface (src/log/embedded: the master dataset's own segments, the default
// mode). Kafka mode's roles use the Kafka client (src/log/kafka) directly; the records here keep
// Kafka's shape and meaning (partition, offset, timestamp, key, value): past its source, a role
// treats both modes alike.
// Offsets are numbers: Kafka's are int64, but 2^53 records per partition is out of reach.

/** A record as readers see it: where it is, when it was appended, its key and value bytes. */
export interface LogRecord {
  partition: number
  offset: number
  /** Kafka record timestamp (CreateTime, or append time in the embedded log), epoch ms. */
  timestamp: number
  key: string | null
  /** The event's JSON text. */
  value: Buffer
}

/** Records of one partition in offset order, and where the next read starts. */
export interface LogBatch {
  partition: number
  records: LogRecord[]
  /**
   * The offset after this batch. It can pass the last record's offset + 1 when offsets were
   * skipped (Kafka transaction markers), so a reader resumes here, not at last offset + 1.
   */
  nextOffset: number
}

export interface AppendRecord {
  /** Records with the same key land in the same partition (Kafka's murmur2 partitioner). */
  key?: string | null
  /** The event's JSON text. */
  value: Buffer | string
  /** Overrides the partitioner. */
  partition?: number
  /** Epoch ms; defaults to the time of appending. */
  timestamp?: number
}

/** Where an appended record was written: what the embedded log, Kafka's producer and ingest return. */
export interface RecordPosition {
  partition: number
  offset: number
}

export interface LogReadOptions {
  /** Stop before this offset (a horizon bound). Without it, the read follows the log forever. */
  to?: number
  /** Ends a following read (the iterator then returns; it does not throw). */
  signal?: AbortSignal
}

export interface Log {
  readonly partitions: number
  /**
   * Appends durably: when the promise resolves, every record is on disk (fsync), as Kafka's
   * acks=all has it on the in-sync replicas, at the positions returned, in input order. Records
   * of one partition keep their input order.
   */
  append(records: readonly AppendRecord[]): Promise<RecordPosition[]>
  /** Batches of the partition's records from `fromOffset` on, waiting for new ones. */
  read(partition: number, fromOffset: number, options?: LogReadOptions): AsyncIterable<LogBatch>
  /** Per partition, the offset after the last durable record (Kafka's high watermark, here). */
  endOffsets(): Promise<number[]>
  close(): Promise<void>
}
