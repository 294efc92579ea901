// The embedded log: the log of the embedded default (no Kafka). Its partitions are folders of the
// master dataset (src/master-dataset), so what ingest appends is already archived: sealed segments are
// ordinary master-dataset segments, the active one is read up to its durable end.
// Keys go to partitions with Kafka's murmur2 partitioner, so moving to Kafka keeps the layout;
// keyless records of one append() call stick to one partition, rotating between calls.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCodes, invalidInput, StrataError } from '../../core/errors.ts'
import {
  EMBEDDED_META_FILE,
  fsyncDir,
  maxRecordLineBytes,
  SegmentStore,
  storedEventBytes,
  writeFileDurable,
} from '../../master-dataset/index.ts'
import { partitionForKey, StickyRoundRobin } from '../kafka/partitioner.ts'
import type { AppendRecord, Log, LogBatch, LogReadOptions, RecordPosition } from '../log.ts'
import { type PartitionAppend, PartitionLog, type SegmentPolicy } from './partition-log.ts'
import { readPartitionLog } from './tail-reader.ts'

export interface EmbeddedLogOptions extends Partial<SegmentPolicy> {
  /** The master dataset's root folder. */
  dir: string
  /** Partition count; fixed at creation, may grow later, never shrink. Default: as created, or 1. */
  partitions?: number
  /** Where the log says what an operator should know: a torn tail dropped, a full disk. */
  onWarning?(message: string): void
}

export const defaultSegmentPolicy: SegmentPolicy = {
  maxSegmentBytes: 64 * 1024 * 1024,
  maxSegmentRecords: Number.POSITIVE_INFINITY,
  maxSegmentAgeMs: 10 * 60 * 1000,
}

export class EmbeddedLog implements Log {
  readonly partitions: number
  readonly dir: string
  #logs: PartitionLog[]
  #sticky = new StickyRoundRobin()
  #timer: NodeJS.Timeout

  private constructor(dir: string, logs: PartitionLog[], policy: SegmentPolicy) {
    this.dir = dir
    this.partitions = logs.length
    this.#logs = logs
    const every = Math.max(10, Math.min(1000, policy.maxSegmentAgeMs / 4))
    this.#timer = setInterval(() => {
      const now = Date.now()
      for (const log of this.#logs) log.sealIfOld(now)
    }, every)
    this.#timer.unref()
  }

  static async open(options: EmbeddedLogOptions): Promise<EmbeddedLog> {
    const policy: SegmentPolicy = {
      maxSegmentBytes: options.maxSegmentBytes ?? defaultSegmentPolicy.maxSegmentBytes,
      maxSegmentRecords: options.maxSegmentRecords ?? defaultSegmentPolicy.maxSegmentRecords,
      maxSegmentAgeMs: options.maxSegmentAgeMs ?? defaultSegmentPolicy.maxSegmentAgeMs,
    }
    await SegmentStore.open(options.dir) // creates the folder, removes crash leftovers
    const partitions = await resolvePartitions(options.dir, options.partitions)
    const logs: PartitionLog[] = []
    const warn = options.onWarning ?? (() => {})
    try {
      for (let p = 0; p < partitions; p++) logs.push(await PartitionLog.open(options.dir, p, policy, warn))
    } catch (error) {
      await Promise.all(logs.map((log) => log.close()))
      throw error
    }
    return new EmbeddedLog(options.dir, logs, policy)
  }

  async append(records: readonly AppendRecord[]): Promise<RecordPosition[]> {
    const keyless = this.#sticky.nextPartition('', this.partitions)
    const now = Date.now()
    const byPartition = new Map<number, { indexes: number[]; records: PartitionAppend[]; bytes: number }>()
    records.forEach((record, index) => {
      const value = storedEventBytes(record.value)
      try {
        JSON.parse(value.toString())
      } catch (error) {
        throw invalidInput(ErrorCodes.INVALID_JSON, `record ${index + 1} is not valid JSON`, {
          cause: error,
          line: index + 1,
        })
      }
      const key = record.key ?? null
      const partition = record.partition ?? (key === null ? keyless : partitionForKey(key, this.partitions))
      if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitions) {
        throw invalidInput(
          ErrorCodes.INVALID_ARGUMENT,
          `partition ${partition} is not in [0, ${this.partitions})`,
        )
      }
      let group = byPartition.get(partition)
      if (!group) {
        group = { indexes: [], records: [], bytes: 0 }
        byPartition.set(partition, group)
      }
      group.indexes.push(index)
      const appended = { key, value, timestamp: record.timestamp ?? now }
      group.records.push(appended)
      group.bytes += maxRecordLineBytes(appended, true)
    })
    // Room first, in every partition the request touches; offsets only once all of it is there,
    // so a request refused for want of room (DISK_FULL) leaves nothing behind in any partition.
    const groups = [...byPartition]
    const waits = groups.map(([partition, group]) => this.#logs[partition]!.reserve(group.bytes))
    if (waits.some((w) => w !== undefined)) {
      const reserved = await Promise.allSettled(waits)
      const refused = reserved.find((r) => r.status === 'rejected')
      if (refused) {
        reserved.forEach((r, i) => {
          const [partition, group] = groups[i]!
          if (r.status === 'fulfilled') this.#logs[partition]!.release(group.bytes)
        })
        throw refused.reason
      }
    }
    const positions: RecordPosition[] = new Array(records.length)
    await Promise.all(
      groups.map(async ([partition, group]) => {
        const first = await this.#logs[partition]!.append(group.records, group.bytes)
        group.indexes.forEach((index, i) => {
          positions[index] = { partition, offset: first + i }
        })
      }),
    )
    return positions
  }

  read(partition: number, fromOffset: number, options?: LogReadOptions): AsyncIterable<LogBatch> {
    return readPartitionLog(this.dir, this.#log(partition), fromOffset, options)
  }

  async endOffsets(): Promise<number[]> {
    return this.#logs.map((log) => log.state.durableEnd)
  }

  /** Per partition, for health: failed, out of room, or fine (partition-log.ts). */
  conditions(): Array<PartitionLog['condition']> {
    return this.#logs.map((log) => log.condition)
  }

  /** Per partition, the end of the sealed segments: horizons the batch layer can read from files. */
  sealedOffsets(): number[] {
    return this.#logs.map((log) => log.state.activeStart)
  }

  /** Seals every non-empty active segment (after the appends already queued). */
  async seal(): Promise<void> {
    await Promise.all(this.#logs.map((log) => log.seal()))
  }

  async close(): Promise<void> {
    clearInterval(this.#timer)
    await Promise.all(this.#logs.map((log) => log.close()))
  }

  #log(partition: number): PartitionLog {
    const log = this.#logs[partition]
    if (!log)
      throw invalidInput(
        ErrorCodes.INVALID_ARGUMENT,
        `partition ${partition} is not in [0, ${this.partitions})`,
      )
    return log
  }
}

async function resolvePartitions(dir: string, requested: number | undefined): Promise<number> {
  let existing: number | undefined
  try {
    existing = JSON.parse(await readFile(join(dir, EMBEDDED_META_FILE), 'utf8')).partitions
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const partitions = requested ?? existing ?? 1
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw invalidInput(ErrorCodes.INVALID_CONFIG, `partitions must be a positive integer, got ${partitions}`)
  }
  if (existing !== undefined && partitions < existing) {
    throw new StrataError(
      ErrorCodes.INVALID_CONFIG,
      `the embedded log in ${dir} has ${existing} partitions; they cannot shrink to ${partitions}`,
    )
  }
  if (partitions !== existing) {
    await writeFileDurable(dir, EMBEDDED_META_FILE, Buffer.from(JSON.stringify({ partitions }) + '\n'))
    await fsyncDir(dir)
  }
  return partitions
}
