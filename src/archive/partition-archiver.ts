// Archiving one partition of the source topic into segments. The archiver that owns a partition
// starts at the end of its last durable segment (MasterDataset.nextOffset: the segment store, not
// the group offset, says where to resume), buffers records into the open segment and cuts it by
// size, record count or age. A segment's range ends at the batch's nextOffset, which also covers
// offsets that carried no event (transaction markers, rejected records): every offset is
// accounted for exactly once. A crash loses only the open segment, which is re-read from Kafka.
import { setTimeout as sleep } from 'node:timers/promises'
import { isStrataError, type StrataError } from '../core/errors.ts'
import type { RecordCheck } from '../core/event.ts'
import type { EventScanner } from '../core/event-scan.ts'
import type { MasterDataset } from '../master-dataset/index.ts'
import { SegmentBuilder } from '../master-dataset/index.ts'

export interface ArchiveRecord {
  offset: number
  timestamp: number
  key: Buffer | string | null
  value: Buffer
}

/** A partition's records in offset order; nextOffset is where the next batch starts. */
export interface ArchiveBatch {
  partition: number
  records: readonly ArchiveRecord[]
  nextOffset: number
}

export interface CutPolicy {
  maxSegmentBytes: number
  maxSegmentRecords: number
  maxSegmentAgeMs: number
}

export interface Rejection {
  partition: number
  record: ArchiveRecord
  reason: string
}

export class PartitionArchiver {
  readonly partition: number
  #store: MasterDataset
  #policy: CutPolicy
  #check: RecordCheck
  #scanner: EventScanner | undefined
  #onReject: (rejection: Rejection) => void | Promise<void>
  // Dead-letter writes of the open segment's rejected records: a segment that accounts for a
  // rejected offset is written only once that record is safe in the dead-letter topic.
  #rejections: Promise<void>[] = []
  #onSegment: (end: number) => Promise<void>
  #onWriteRetry: (error: StrataError | undefined) => void
  #stopping = false
  #start: number
  #next: number
  #builder = new SegmentBuilder()
  #openedAt: number | undefined
  // Batches and age cuts of one partition run one after another.
  #chain: Promise<void> = Promise.resolve()

  constructor(options: {
    store: MasterDataset
    partition: number
    start: number
    policy: CutPolicy
    check: RecordCheck
    /**
     * The scanner of the same events as `check` (eventCheck's), which splits a record it can
     * prove an event into its fields for the packed encoder without parsing it; the rest goes to
     * `check`. Absent: every record goes to `check`.
     */
    scanner?: EventScanner
    onReject: (rejection: Rejection) => void | Promise<void>
    onSegment: (end: number) => Promise<void>
    /** A retriable write failure (the object store down), or undefined once a write succeeds. */
    onWriteRetry?: (error: StrataError | undefined) => void
  }) {
    this.#onWriteRetry = options.onWriteRetry ?? (() => {})
    this.partition = options.partition
    this.#store = options.store
    this.#policy = options.policy
    this.#check = options.check
    this.#scanner = options.scanner
    this.#onReject = options.onReject
    this.#onSegment = options.onSegment
    this.#start = options.start
    this.#next = options.start
  }

  /** Where the open segment starts: everything before it is durable. */
  get durableEnd(): number {
    return this.#start
  }

  /** The offset after the last one taken in (where the source's next batch starts). */
  get nextOffset(): number {
    return this.#next
  }

  add(batch: ArchiveBatch): Promise<void> {
    return this.#serial(async () => {
      for (const record of batch.records) {
        // A source may deliver again what we already have (a refetch from an older position).
        if (record.offset < this.#next) continue
        const scanner = this.#scanner
        if (scanner?.scan(record.value)) {
          const key = record.key === null ? null : record.key.toString()
          const { keys, values, count } = scanner
          this.#builder.addFields(
            { offset: record.offset, timestamp: record.timestamp, key, value: record.value },
            keys,
            values,
            count,
          )
          this.#next = record.offset + 1
          if (this.#full()) await this.#cut()
          continue
        }
        const checked = this.#check(record.value)
        if ('reason' in checked) {
          const written = this.#onReject({ partition: this.partition, record, reason: checked.reason })
          if (written) this.#rejections.push(written)
        } else {
          const key = record.key === null ? null : record.key.toString()
          this.#builder.add(
            { offset: record.offset, timestamp: record.timestamp, key, value: record.value },
            checked.event,
            checked.text,
          )
        }
        this.#next = record.offset + 1
        if (this.#full()) await this.#cut()
      }
      this.#next = Math.max(this.#next, batch.nextOffset)
      this.#openedAt ??= Date.now()
    })
  }

  /** Writes the open segment when it is older than the policy allows. */
  cutIfOld(now: number): Promise<void> {
    return this.#serial(async () => {
      if (this.#openedAt !== undefined && now - this.#openedAt >= this.#policy.maxSegmentAgeMs)
        await this.#cut()
    })
  }

  /** Writes whatever the open segment holds (on revoke and on close). */
  flush(): Promise<void> {
    return this.#serial(() => this.#cut())
  }

  /** Stops retrying a failing write (the role is closing): the open segment is re-read later. */
  stop(): void {
    this.#stopping = true
  }

  #full(): boolean {
    return (
      this.#builder.bytes >= this.#policy.maxSegmentBytes ||
      this.#builder.records >= this.#policy.maxSegmentRecords
    )
  }

  async #cut(): Promise<void> {
    const range = { start: this.#start, end: this.#next }
    if (range.end === range.start) return
    const builder = this.#builder
    await Promise.all(this.#rejections)
    this.#rejections = []
    await this.#write(range, builder)
    this.#start = range.end
    this.#builder = new SegmentBuilder()
    this.#openedAt = undefined
    await this.#onSegment(range.end)
  }

  // A retriable failure (the object store unreachable, MASTER_UNAVAILABLE) is retried with backoff,
  // holding the partition's batches meanwhile (the consumer waits: nothing is skipped); the
  // role's health shows it (archiver.ts). Anything else (a conflict, damage) is thrown.
  async #write(range: { start: number; end: number }, builder: SegmentBuilder): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#store.writeSegment(this.partition, range, builder.data(), builder.packer())
        if (attempt > 1) this.#onWriteRetry(undefined)
        return
      } catch (error) {
        if (!isStrataError(error) || !error.retriable || this.#stopping) throw error
        this.#onWriteRetry(error)
        await sleep(Math.min(5_000, 100 * 2 ** attempt))
      }
    }
  }

  #serial(task: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(task)
    this.#chain = run.catch(() => {})
    return run
  }
}
