// One partition of the embedded log: an append-only active segment (`<start>.active`, the same
// line format as sealed segments) that is sealed into an ordinary master-dataset segment
// (`<start>-<end>.ndjson` + sha256 sidecar + packed cache) when it reaches a size, a record
// count or an age.
//
// Durability: offsets are assigned in call order when append() is called; a single flush loop
// writes everything queued since its last write in one write + fdatasync (group commit) and
// only then resolves those appends. So whatever was acknowledged is a durable prefix of the
// file, and recover-active.ts can cut a torn tail after a crash. If a write or fsync fails the
// partition refuses further appends (the file's state is unknown after a failed fsync); opening
// the log again recovers it.
//
// Sealing runs inside the flush loop, between writes: checksum sidecar (durable), rename the
// active file to its range, create the next active file, fsync the folder. A crash between any
// two steps leaves either the active file (and maybe an orphan sidecar, removed on open) or the
// sealed segment: never both, never neither.
import { type FileHandle, mkdir, open, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { formatChecksumFile, sha256Hex } from '../../archive/checksum.ts'
import { fsyncDir, writeFileDurable } from '../../archive/durable-fs.ts'
import { PackedSegmentEncoder } from '../../archive/packed-segment.ts'
import {
  activeFileName,
  CHECKSUM_EXTENSION,
  encodeRecordLine,
  lineKey,
  PACKED_EXTENSION,
  segmentFileName,
} from '../../archive/segment-format.ts'
import { checkContiguity, listPartition, partitionDir } from '../../archive/segment-list.ts'
import { forEachLine } from '../../archive/segment-reader.ts'
import { writeCacheFile } from '../../archive/segment-writer.ts'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import { recoverActive } from './recover-active.ts'

export interface SegmentPolicy {
  maxSegmentBytes: number
  maxSegmentRecords: number
  maxSegmentAgeMs: number
}

export interface PartitionAppend {
  key: string | null
  /** Valid JSON text with CR/LF already replaced (storedEventBytes). */
  value: Buffer
  timestamp: number
}

/** What readers may read: the active segment's start and its durable end. */
export interface DurableState {
  activeStart: number
  durableEnd: number
  durableBytes: number
}

interface Pending {
  lines: Buffer[]
  end: number
  resolve: () => void
  reject: (error: unknown) => void
}

export class PartitionLog {
  readonly partition: number
  readonly dir: string
  #policy: SegmentPolicy
  #handle: FileHandle
  #state: DurableState
  #nextOffset: number
  #activeSince: number | undefined
  #pending: Pending[] = []
  #running = false
  #idle: Promise<void> = Promise.resolve()
  #sealRequested = false
  #failed: unknown
  #waiters: (() => void)[] = []

  private constructor(
    partition: number,
    dir: string,
    policy: SegmentPolicy,
    handle: FileHandle,
    state: DurableState,
  ) {
    this.partition = partition
    this.dir = dir
    this.#policy = policy
    this.#handle = handle
    this.#state = state
    this.#nextOffset = state.durableEnd
    this.#activeSince = state.durableEnd > state.activeStart ? Date.now() : undefined
  }

  /** Opens (recovering) or creates the partition's active segment. */
  static async open(root: string, partition: number, policy: SegmentPolicy): Promise<PartitionLog> {
    const dir = partitionDir(root, partition)
    if ((await mkdir(dir, { recursive: true })) !== undefined) await fsyncDir(root)
    const { segments, activeStart } = await listPartition(root, partition)
    checkContiguity(partition, segments)
    const sealedEnd = segments.at(-1)?.end ?? 0
    let state: DurableState
    if (activeStart === undefined) {
      await (await open(join(dir, activeFileName(sealedEnd)), 'wx')).close()
      await fsyncDir(dir)
      state = { activeStart: sealedEnd, durableEnd: sealedEnd, durableBytes: 0 }
    } else {
      if (activeStart !== sealedEnd) {
        throw new StrataError(
          ErrorCodes.SEGMENT_CORRUPT,
          `partition ${partition}: active segment starts at ${activeStart}, sealed segments end at ${sealedEnd}`,
        )
      }
      const recovered = await recoverActive(join(dir, activeFileName(activeStart)), activeStart)
      state = { activeStart, durableEnd: activeStart + recovered.records, durableBytes: recovered.bytes }
    }
    const handle = await open(join(dir, activeFileName(state.activeStart)), 'r+')
    return new PartitionLog(partition, dir, policy, handle, state)
  }

  get state(): DurableState {
    return this.#state
  }

  /** True once closed or failed: no more records will become durable through this object. */
  get stopped(): boolean {
    return this.#failed !== undefined
  }

  /** Appends records; resolves with the first one's offset once all are durable. */
  append(records: readonly PartitionAppend[]): Promise<number> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed)
    const first = this.#nextOffset
    const lines = records.map((r, i) =>
      encodeRecordLine({ offset: first + i, timestamp: r.timestamp, key: r.key, value: r.value }),
    )
    this.#nextOffset += records.length
    return new Promise((resolve, reject) => {
      this.#pending.push({ lines, end: this.#nextOffset, resolve: () => resolve(first), reject })
      this.#kick()
    })
  }

  /** Seals the active segment if it holds records (after queued appends are written). */
  seal(): Promise<void> {
    this.#sealRequested = true
    this.#kick()
    return this.idle()
  }

  /** Asks for a seal when the active segment is older than the policy allows. */
  sealIfOld(now: number): void {
    if (this.#activeSince !== undefined && now - this.#activeSince >= this.#policy.maxSegmentAgeMs) {
      this.#sealRequested = true
      this.#kick()
    }
  }

  /** Resolves when queued appends and seals are done (rejects if the partition failed). */
  async idle(): Promise<void> {
    await this.#idle
    if (this.#failed !== undefined) throw this.#failed
  }

  /** Resolves at the next change of the durable state (or at once if the signal aborted). */
  changed(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done)
        resolve()
      }
      this.#waiters.push(done)
      signal?.addEventListener('abort', done, { once: true })
    })
  }

  async close(): Promise<void> {
    await this.#idle
    this.#failed ??= new StrataError(ErrorCodes.INTERNAL, `partition ${this.partition} of the log is closed`)
    this.#wake()
    await this.#handle.close()
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }

  #kick(): void {
    if (this.#running) return
    this.#running = true
    this.#idle = this.#flushLoop()
  }

  async #flushLoop(): Promise<void> {
    try {
      while (this.#failed === undefined && (this.#pending.length > 0 || this.#sealRequested)) {
        if (this.#pending.length > 0) await this.#flush()
        if (this.#failed === undefined && this.#shouldSeal()) await this.#seal()
        this.#sealRequested &&= this.#state.durableEnd > this.#state.activeStart
      }
    } catch (error) {
      this.#failed = error
      for (const pending of this.#pending.splice(0)) pending.reject(error)
      this.#wake()
    } finally {
      // Set in the same tick the loop sees an empty queue, so a new append starts a new loop.
      this.#running = false
    }
  }

  async #flush(): Promise<void> {
    const batch = this.#pending.splice(0)
    const data = Buffer.concat(batch.flatMap((p) => p.lines))
    try {
      let written = 0
      while (written < data.length) {
        const { bytesWritten } = await this.#handle.write(
          data,
          written,
          data.length - written,
          this.#state.durableBytes + written,
        )
        written += bytesWritten
      }
      await this.#handle.datasync()
    } catch (error) {
      for (const pending of batch) pending.reject(error)
      throw error
    }
    this.#activeSince ??= Date.now()
    this.#state = {
      activeStart: this.#state.activeStart,
      durableEnd: batch.at(-1)!.end,
      durableBytes: this.#state.durableBytes + data.length,
    }
    for (const pending of batch) pending.resolve()
    this.#wake()
  }

  #shouldSeal(): boolean {
    const { activeStart, durableEnd, durableBytes } = this.#state
    if (durableEnd === activeStart) return false
    return (
      this.#sealRequested ||
      durableBytes >= this.#policy.maxSegmentBytes ||
      durableEnd - activeStart >= this.#policy.maxSegmentRecords
    )
  }

  async #seal(): Promise<void> {
    const { activeStart: start, durableEnd: end, durableBytes } = this.#state
    const data = Buffer.alloc(durableBytes)
    let read = 0
    while (read < durableBytes) {
      const { bytesRead } = await this.#handle.read(data, read, durableBytes - read, read)
      if (bytesRead === 0)
        throw new StrataError(ErrorCodes.SEGMENT_CORRUPT, 'active segment shorter than written')
      read += bytesRead
    }
    const hex = sha256Hex(data)
    const name = segmentFileName({ start, end })
    await writeFileDurable(this.dir, name + CHECKSUM_EXTENSION, formatChecksumFile(hex, name))
    await rename(join(this.dir, activeFileName(start)), join(this.dir, name))
    const next = await open(join(this.dir, activeFileName(end)), 'wx+')
    await fsyncDir(this.dir)
    const previous = this.#handle
    this.#handle = next
    this.#state = { activeStart: end, durableEnd: end, durableBytes: 0 }
    this.#activeSince = undefined
    this.#sealRequested = false
    this.#wake()
    await previous.close()
    // The packed encoding is a cache (rebuilt from the NDJSON if lost): no fsync, no failure.
    const packer = new PackedSegmentEncoder()
    forEachLine(data, start, end, (f) => {
      const text = data.toString('utf8', f.eventStart, f.eventEnd)
      packer.add(f.offset, f.timestamp, lineKey(data, f), JSON.parse(text), text)
    })
    await writeCacheFile(this.dir, name.replace(/\.ndjson$/, PACKED_EXTENSION), packer.finish(hex)).catch(
      () => {},
    )
  }
}
