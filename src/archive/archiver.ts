// The archiver (consumer group `strata-archiver`): copies the source topic into the master
// dataset. Built against PartitionSource (src/log/partition-source.ts), which the consumer group
// implements (kafka-archiver.ts starts it that way; tests use an in-memory source):
//   - onAssign(partitions) returns where each partition starts: the segment store's nextOffset
//     (for a partition with no segment yet, where the source's log starts).
//   - onBatch delivers a partition's records in offset order, one batch at a time.
//   - onRevoke(partitions) comes before anyone else may own them: the open segments are written
//     then, so the next owner resumes exactly at their end.
// After each segment the group offset is committed too (so `kafka-consumer-groups` shows lag),
// but it is never read back: a crash between a segment and its commit is harmless.
import type { StrataError } from '../core/errors.ts'
import { eventCheck, type RecordCheck } from '../core/event.ts'
import { type EventScanner, eventScanner } from '../core/event-scan.ts'
import { type Hold, heldBatches } from '../core/held-batches.ts'
import type { PartitionSource, ReadTrouble } from '../log/partition-source.ts'
import type { MasterDataset } from '../master-dataset/index.ts'
import { type ArchiveBatch, type CutPolicy, PartitionArchiver, type Rejection } from './partition-archiver.ts'

export interface ArchiverOptions extends Partial<CutPolicy> {
  /** The event-time field, to reject what is not an event (default `ts`). */
  timeField?: string
  /** A custom check instead of the event check. */
  check?: RecordCheck
  /**
   * Records that are not events (bad JSON, no event time, tombstones): their offsets become gaps
   * in the segment ranges. Hook the dead-letter writer here; by default they are only counted.
   */
  onReject?: (rejection: Rejection) => void | Promise<void>
  /**
   * Asked before each batch (core/held-batches.ts): `strata start` holds its archiver while
   * POST /events bursts (runtime/ingest-burst.ts). Unset: never held.
   */
  hold?: Hold
}

export const defaultCutPolicy: CutPolicy = {
  maxSegmentBytes: 64 * 1024 * 1024,
  maxSegmentRecords: 1_000_000,
  maxSegmentAgeMs: 60_000,
}

export interface ArchiverStats {
  segments: number
  records: number
  rejected: number
  /** Segment writes failing now with a retriable error (the object store down), and since when. */
  writeFailures: number
  failingSince: number | undefined
  lastError: StrataError | undefined
  /** The partitions owned now: `next` is the offset after the last one taken in, `durable` the
   * end of the last segment written (what the batch layer can read). */
  partitions: ArchiverPartitionStats[]
  /** Owned partitions the log cannot be read from now (retried meanwhile). */
  readTrouble?: ReadTrouble[]
}

export interface ArchiverPartitionStats {
  partition: number
  next: number
  durable: number
}

/** An archiver's stats before it has taken anything in (also a role thread's until its first post). */
export function freshArchiverStats(): ArchiverStats {
  return {
    segments: 0,
    records: 0,
    rejected: 0,
    writeFailures: 0,
    failingSince: undefined,
    lastError: undefined,
    partitions: [],
  }
}

export class Archiver {
  // Its partitions are read from the partition states when asked (stats()).
  readonly #stats: Omit<ArchiverStats, 'partitions' | 'readTrouble'> = freshArchiverStats()
  #store: MasterDataset
  #source: PartitionSource
  #options: ArchiverOptions
  #policy: CutPolicy
  #check: RecordCheck
  #scanner: EventScanner | undefined
  #owned = new Map<number, PartitionArchiver>()
  #timer: NodeJS.Timeout | undefined

  constructor(store: MasterDataset, source: PartitionSource, options: ArchiverOptions = {}) {
    this.#store = store
    this.#source = source
    this.#options = options
    this.#policy = {
      maxSegmentBytes: options.maxSegmentBytes ?? defaultCutPolicy.maxSegmentBytes,
      maxSegmentRecords: options.maxSegmentRecords ?? defaultCutPolicy.maxSegmentRecords,
      maxSegmentAgeMs: options.maxSegmentAgeMs ?? defaultCutPolicy.maxSegmentAgeMs,
    }
    this.#check = options.check ?? eventCheck(options.timeField ?? 'ts')
    // The scanner proves the default check's events only: a custom check reads every record.
    this.#scanner = options.check === undefined ? eventScanner(options.timeField ?? 'ts') : undefined
  }

  async start(): Promise<void> {
    const every = Math.max(10, Math.min(1000, this.#policy.maxSegmentAgeMs / 4))
    this.#timer = setInterval(() => {
      const now = Date.now()
      for (const archiver of this.#owned.values()) archiver.cutIfOld(now).catch(() => {})
    }, every)
    this.#timer.unref()
    await this.#source.start({
      onAssign: (partitions) => this.#assign(partitions),
      onBatch: heldBatches((batch: ArchiveBatch) => this.#batch(batch), this.#options.hold),
      onRevoke: (partitions) => this.#revoke(partitions),
    })
  }

  /** A snapshot of the counters and of the partitions owned now. */
  get stats(): ArchiverStats {
    const partitions = [...this.#owned.values()].map((a) => ({
      partition: a.partition,
      next: a.nextOffset,
      durable: a.durableEnd,
    }))
    return { ...this.#stats, partitions, readTrouble: this.#source.readTrouble?.() ?? [] }
  }

  /** Partitions owned now, with the end of their durable segments. */
  positions(): Map<number, number> {
    return new Map([...this.#owned].map(([p, a]) => [p, a.durableEnd]))
  }

  /** Writes the open segments, leaves the group. */
  async close(): Promise<void> {
    clearInterval(this.#timer)
    for (const archiver of this.#owned.values()) archiver.stop()
    await this.#source.close()
    await this.#revoke([...this.#owned.keys()])
  }

  async #assign(partitions: number[]): Promise<Map<number, number>> {
    const starts = new Map<number, number>()
    for (const partition of partitions) {
      const segments = await this.#store.segments(partition)
      // A partition with no segment yet starts where the log starts (Kafka: the earliest offset;
      // records deleted by retention before archiving began were never in the dataset).
      const start = segments.at(-1)?.end ?? (await this.#source.logStart?.(partition)) ?? 0
      starts.set(partition, start)
      this.#owned.set(
        partition,
        new PartitionArchiver({
          store: this.#store,
          partition,
          start,
          policy: this.#policy,
          check: this.#check,
          scanner: this.#scanner,
          onReject: (rejection) => {
            this.#stats.rejected++
            return this.#options.onReject?.(rejection)
          },
          onSegment: (end) => this.#segmentWritten(partition, end),
          onWriteRetry: (error) => this.#writeRetry(error),
        }),
      )
    }
    return starts
  }

  async #batch(batch: ArchiveBatch): Promise<void> {
    const archiver = this.#owned.get(batch.partition)
    if (!archiver) return // revoked meanwhile: the next owner reads it again
    this.#stats.records += batch.records.length
    await archiver.add(batch)
  }

  async #revoke(partitions: number[]): Promise<void> {
    await Promise.all(
      partitions.map(async (partition) => {
        // Flushed while still owned, so the group offset is committed at the segment's end.
        await this.#owned.get(partition)?.flush()
        this.#owned.delete(partition)
      }),
    )
  }

  #writeRetry(error: StrataError | undefined): void {
    if (error === undefined) {
      this.#stats.writeFailures = 0
      this.#stats.failingSince = undefined
      this.#stats.lastError = undefined
      return
    }
    this.#stats.writeFailures++
    this.#stats.failingSince ??= Date.now()
    this.#stats.lastError = error
  }

  async #segmentWritten(partition: number, end: number): Promise<void> {
    this.#stats.segments++
    // Lag visibility only: a failed commit (a rebalance under way) is retried by the next segment.
    if (this.#owned.has(partition)) await this.#source.commit(new Map([[partition, end]])).catch(() => {})
  }
}
