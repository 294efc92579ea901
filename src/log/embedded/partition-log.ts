// One partition of the embedded log: an append-only active segment (`<start>.active`, the same
// line format as sealed segments) that is sealed into an ordinary master-dataset segment
// (`<start>-<end>.ndjson` + sha256 sidecar + packed cache) when it reaches a size, a record
// count or an age.
//
// Durability: offsets are assigned in call order when append() is called; a single flush loop
// writes everything queued since its last write in one write + fdatasync (group commit) and
// only then resolves those appends. So whatever was acknowledged is a durable prefix of the
// file, and recover-active.ts can cut a torn tail after a crash. Before those appends resolve,
// the new durable end is written to the partition's acknowledged-end record (acknowledged-end.ts,
// one small write, no fsync), so that recovery never cuts an acknowledged record as a torn tail.
// If an fsync fails the partition refuses further appends (the file's state is unknown after a
// failed fsync); opening the log again recovers it.
//
// Room (room.ts): append() takes bytes reserved by reserve(), which keeps the file written with
// zeros ahead of everything queued or reserved, so a write never meets a full disk and a request
// without room is refused (DISK_FULL) before any offset is assigned. The partition does not fail
// on a full disk: the next reserve() tries again. Sealing and close() cut the zeros off.
//
// Sealing runs inside the flush loop, between writes: create the next active file under a temp
// name with room for what is queued, then the master dataset's writer seals in place (checksum
// sidecar, the file cut to its records and renamed to its range, the next one renamed into
// place: master-dataset/segment-writer.ts). No room for the first two steps postpones the seal
// (the segment grows past the policy meanwhile).
import { type FileHandle, mkdir, open, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import {
  activeFileName,
  checkContiguity,
  commitActiveSegment,
  createActiveSegment,
  encodeRecordLine,
  fsyncDir,
  listPartition,
  missingSegments,
  nextActiveTempPath,
  packSegment,
  partitionDir,
  segmentFileName,
  sha256Hex,
  writeChecksumSidecar,
  writePackedCache,
} from '../../master-dataset/index.ts'
import { ACKNOWLEDGED_END_FILE, AcknowledgedEndFile, readAcknowledgedEnd } from './acknowledged-end.ts'
import { recoverActive } from './recover-active.ts'
import { diskFull, isNoSpace, PROBE_BYTES, probeRoom, writeZerosAhead } from './room.ts'

/** How often a partition out of room looks for freed space by itself. */
const ROOM_PROBE_MS = 1000

/** A seal postponed for want of room is tried again after this long. */
const SEAL_RETRY_MS = 1000

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
  bytes: number
  end: number
  resolve: () => void
  reject: (error: unknown) => void
}

export class PartitionLog {
  readonly partition: number
  readonly dir: string
  #policy: SegmentPolicy
  #handle: FileHandle
  #acknowledged: AcknowledgedEndFile
  #state: DurableState
  #nextOffset: number
  #activeSince: number | undefined
  #pending: Pending[] = []
  #running = false
  #idle: Promise<void> = Promise.resolve()
  #sealRequested = false
  #failed: unknown
  #waiters: (() => void)[] = []
  /** How far the active file reaches (records, then zeros). */
  #allocated: number
  /** Bytes of lines queued but not written yet, and bytes reserved but not appended yet. */
  #queuedBytes = 0
  #reservedBytes = 0
  /** Serializes growing the file and swapping it at a seal; reserve() skips it while room is left. */
  #roomLock: Promise<unknown> = Promise.resolve()
  #roomBusy = 0
  #sealRetryAt = 0
  #onWarning: (message: string) => void
  #noRoom = false
  /** While out of room: the timer of the probe that notices freed space without a request. */
  #roomProbe: NodeJS.Timeout | undefined
  #closed = false

  private constructor(
    partition: number,
    dir: string,
    policy: SegmentPolicy,
    handle: FileHandle,
    acknowledged: AcknowledgedEndFile,
    state: DurableState,
    onWarning: (message: string) => void,
  ) {
    this.partition = partition
    this.#acknowledged = acknowledged
    this.#onWarning = onWarning
    this.#allocated = state.durableBytes
    this.dir = dir
    this.#policy = policy
    this.#handle = handle
    this.#state = state
    this.#nextOffset = state.durableEnd
    this.#activeSince = state.durableEnd > state.activeStart ? Date.now() : undefined
  }

  /** Opens (recovering) or creates the partition's active segment. */
  static async open(
    root: string,
    partition: number,
    policy: SegmentPolicy,
    onWarning: (message: string) => void = () => {},
  ): Promise<PartitionLog> {
    const dir = partitionDir(root, partition)
    if ((await mkdir(dir, { recursive: true })) !== undefined) await fsyncDir(root)
    const { segments, activeStart, recordedStart } = await listPartition(root, partition)
    checkContiguity(partition, segments, recordedStart)
    const sealedEnd = segments.at(-1)?.end ?? 0
    const acknowledgedEnd = (await readAcknowledgedEnd(dir, partition))?.end ?? 0
    let state: DurableState
    if (activeStart === undefined) {
      if (acknowledgedEnd > sealedEnd) throw missingActive(partition, dir, sealedEnd, acknowledgedEnd)
      await createActiveSegment(dir, sealedEnd)
      state = { activeStart: sealedEnd, durableEnd: sealedEnd, durableBytes: 0 }
    } else {
      if (activeStart > sealedEnd) throw missingSegments(partition, sealedEnd, activeStart)
      if (activeStart < sealedEnd) {
        throw new StrataError(
          ErrorCodes.SEGMENT_CORRUPT,
          `partition ${partition}: active segment starts at ${activeStart}, sealed segments end at ${sealedEnd}`,
        )
      }
      const recovered = await recoverActive(
        join(dir, activeFileName(activeStart)),
        activeStart,
        partition,
        acknowledgedEnd,
      )
      if (recovered.truncated > 0) {
        // Zeros only is what every stop short of close() leaves (the room reserved ahead, ~1 MB
        // a partition), not a record cut in half: said so, not as "a torn tail" on each partition.
        const last = activeStart + recovered.records - 1
        const where = `${last < 0 ? 'before any record' : `after offset ${last}`} in ${activeFileName(activeStart)}`
        onWarning(
          recovered.zeros
            ? `partition ${partition}: cut ${recovered.truncated} bytes of zeros ${where} (room reserved ahead of appends, or an append a crash left unwritten; no record is in them: the process did not stop cleanly)`
            : `partition ${partition}: dropped a torn tail of ${recovered.truncated} bytes ${where} (never acknowledged: a crash mid-append)`,
        )
      }
      state = { activeStart, durableEnd: activeStart + recovered.records, durableBytes: recovered.bytes }
    }
    const handle = await open(join(dir, activeFileName(state.activeStart)), 'r+')
    let acknowledged: AcknowledgedEndFile
    try {
      acknowledged = await AcknowledgedEndFile.open(dir, acknowledgedOf(state))
    } catch (error) {
      await handle.close()
      throw error
    }
    return new PartitionLog(partition, dir, policy, handle, acknowledged, state, onWarning)
  }

  get state(): DurableState {
    return this.#state
  }

  /** True once closed or failed: no more records will become durable through this object. */
  /** For health: failed (no more appends until reopened), out of room (refusing with 507), or fine. */
  get condition(): { state: 'ok' | 'no-room' | 'failed'; reason?: string } {
    if (this.#failed !== undefined && !this.#closed) {
      const e = this.#failed as { message?: string; code?: string }
      return { state: 'failed', reason: `${e.message ?? String(e)}${e.code ? ` [${e.code}]` : ''}` }
    }
    if (this.#noRoom)
      return { state: 'no-room', reason: `no room on the disk of ${this.dir} [STRATA_ERR_DISK_FULL]` }
    return { state: 'ok' }
  }

  get stopped(): boolean {
    return this.#failed !== undefined
  }

  /**
   * Reserves room for `bytes` more bytes of lines (see maxRecordLineBytes): throws DISK_FULL
   * (retriable; the partition stays usable) when the disk has no room for them. Each
   * reservation is spent by one append() or given back by release(). Returns undefined when the
   * room was there already (the common case: no promise, no await on the hot path).
   */
  reserve(bytes: number): Promise<void> | undefined {
    if (this.#failed !== undefined) return Promise.reject(this.#failed)
    if (this.#roomBusy === 0 && this.#committed() + bytes <= this.#allocated) {
      this.#reservedBytes += bytes
      return undefined
    }
    return this.#withRoomLock(async () => {
      if (this.#failed !== undefined) throw this.#failed
      const need = this.#committed() + bytes
      if (need > this.#allocated) {
        this.#allocated = Math.max(
          this.#allocated,
          await writeZerosAhead(this.#handle, this.#allocated, need),
        )
      }
      if (need > this.#allocated) {
        if (!this.#noRoom) {
          this.#noRoom = true
          this.#onWarning(
            `partition ${this.partition}: the disk of ${this.dir} is full; ingest refuses requests (507 ${ErrorCodes.DISK_FULL}) until space is freed`,
          )
          this.#roomProbe ??= setInterval(() => void this.#probeRoom(), ROOM_PROBE_MS).unref()
        }
        throw diskFull(this.partition, this.dir)
      }
      this.#roomBack()
      this.#reservedBytes += bytes
    })
  }

  #roomBack(): void {
    if (this.#roomProbe !== undefined) clearInterval(this.#roomProbe)
    this.#roomProbe = undefined
    if (!this.#noRoom) return
    this.#noRoom = false
    this.#onWarning(`partition ${this.partition}: there is room on disk again; ingest accepts requests`)
  }

  // Out of room, the partition learnt of freed space only from the next request's reserve(), so
  // /health said no-room until a client retried (~15 s seen, after Retry-After). The probe writes
  // one page of zeros ahead (kept as room, as reserve()'s are; cut at seal and close), so it takes
  // nothing a request needs from a nearly full disk.
  async #probeRoom(): Promise<void> {
    await this.#withRoomLock(async () => {
      if (this.#failed !== undefined) {
        clearInterval(this.#roomProbe)
        this.#roomProbe = undefined
        return
      }
      if (!this.#noRoom) return this.#roomBack()
      if (await probeRoom(this.#handle, this.#allocated)) {
        this.#allocated += PROBE_BYTES
        this.#roomBack()
      }
    }).catch(() => undefined) // another error is the next append's to meet and report
  }

  /** Gives back a reservation that no append() will spend (another partition had no room). */
  release(bytes: number): void {
    this.#reservedBytes -= bytes
  }

  /**
   * Appends records with room reserved for them (`reserved` bytes, at least their lines' size);
   * resolves with the first one's offset once all are durable.
   */
  append(records: readonly PartitionAppend[], reserved: number): Promise<number> {
    this.#reservedBytes -= reserved
    if (this.#failed !== undefined) return Promise.reject(this.#failed)
    const first = this.#nextOffset
    const lines = records.map((r, i) =>
      encodeRecordLine({ offset: first + i, timestamp: r.timestamp, key: r.key, value: r.value }, true),
    )
    let bytes = 0
    for (const line of lines) bytes += line.length
    if (bytes > reserved) {
      return Promise.reject(
        new StrataError(ErrorCodes.INTERNAL, `append of ${bytes} bytes with ${reserved} bytes reserved`),
      )
    }
    this.#queuedBytes += bytes
    this.#nextOffset += records.length
    return new Promise((resolve, reject) => {
      this.#pending.push({ lines, bytes, end: this.#nextOffset, resolve: () => resolve(first), reject })
      this.#kick()
    })
  }

  #committed(): number {
    return this.#state.durableBytes + this.#queuedBytes + this.#reservedBytes
  }

  async #withRoomLock<T>(task: () => Promise<T>): Promise<T> {
    this.#roomBusy++
    const run = this.#roomLock.then(task, task)
    this.#roomLock = run.catch(() => {})
    try {
      return await run
    } finally {
      this.#roomBusy--
    }
  }

  /** Seals the active segment if it holds records (after queued appends are written). */
  seal(): Promise<void> {
    this.#sealRequested = true
    this.#kick()
    return this.idle()
  }

  /** Asks for a seal when the active segment is older than the policy allows. */
  sealIfOld(now: number): void {
    if (
      this.#activeSince !== undefined &&
      now - this.#activeSince >= this.#policy.maxSegmentAgeMs &&
      now >= this.#sealRetryAt
    ) {
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
    if (this.#roomProbe !== undefined) clearInterval(this.#roomProbe)
    this.#roomProbe = undefined
    await this.#idle
    const failed = this.#failed !== undefined
    this.#closed = !failed
    this.#failed ??= new StrataError(ErrorCodes.INTERNAL, `partition ${this.partition} of the log is closed`)
    this.#wake()
    await this.#roomLock
    try {
      // Cut the room reserved ahead: a cleanly closed active file holds exactly its records.
      if (!failed && this.#allocated > this.#state.durableBytes) {
        await this.#handle.truncate(this.#state.durableBytes)
        await this.#handle.sync()
      }
      if (!failed) await this.#acknowledged.sync()
    } finally {
      await this.#handle.close()
      await this.#acknowledged.close()
    }
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
        if (this.#failed === undefined && this.#shouldSeal()) {
          if (!(await this.#withRoomLock(() => this.#seal()))) {
            this.#sealRequested = false
            this.#sealRetryAt = Date.now() + SEAL_RETRY_MS
          }
        }
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
    } catch (error) {
      if (!isNoSpace(error)) {
        for (const pending of batch) pending.reject(error)
        throw error
      }
      // A write over the room reserved ahead met a full disk anyway (a copy-on-write file
      // system): nothing of these appends or of those queued after them is acknowledged, so
      // their offsets are given back; the file is written again from its durable end.
      const refused = diskFull(this.partition, this.dir, error)
      for (const pending of [...batch, ...this.#pending.splice(0)]) pending.reject(refused)
      this.#queuedBytes = 0
      this.#nextOffset = this.#state.durableEnd
      return
    }
    try {
      await this.#handle.datasync()
    } catch (error) {
      // After a failed fsync the file's state is unknown: the partition fails (reopen recovers).
      const failed = new StrataError(
        ErrorCodes.INTERNAL,
        `partition ${this.partition}: fsync of the active segment in ${this.dir} failed (${(error as Error).message}); restart strata to recover the log`,
        { cause: error },
      )
      this.#onWarning(failed.message)
      for (const pending of batch) pending.reject(failed)
      throw failed
    }
    this.#queuedBytes -= data.length
    this.#activeSince ??= Date.now()
    this.#state = {
      activeStart: this.#state.activeStart,
      durableEnd: batch.at(-1)!.end,
      durableBytes: this.#state.durableBytes + data.length,
    }
    let unrecorded: StrataError | undefined
    try {
      this.#acknowledged.write(acknowledgedOf(this.#state))
    } catch (error) {
      // The records are durable (acknowledged below), but not their end: a later loss of them
      // would pass for a torn tail. The partition stops, as after a failed fsync.
      unrecorded = new StrataError(
        ErrorCodes.INTERNAL,
        `partition ${this.partition}: writing the acknowledged end in ${this.dir} failed (${(error as Error).message}); restart strata to recover the log`,
        { cause: error },
      )
      this.#onWarning(unrecorded.message)
    }
    for (const pending of batch) pending.resolve()
    this.#wake()
    if (unrecorded) throw unrecorded
  }

  #shouldSeal(): boolean {
    const { activeStart, durableEnd, durableBytes } = this.#state
    if (durableEnd === activeStart || Date.now() < this.#sealRetryAt) return false
    return (
      this.#sealRequested ||
      durableBytes >= this.#policy.maxSegmentBytes ||
      durableEnd - activeStart >= this.#policy.maxSegmentRecords
    )
  }

  /** Seals the active segment (under the room lock); false when postponed for want of room. */
  async #seal(): Promise<boolean> {
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
    const range = { start, end }
    // What is queued or reserved now goes to the next file: it gets its room first, under a
    // temp name (removed on open if a crash leaves it) until the old file has its range.
    const carried = this.#queuedBytes + this.#reservedBytes
    const temp = nextActiveTempPath(this.dir, end)
    const next = await open(temp, 'w+')
    let allocated = 0
    try {
      if (carried > 0) allocated = await writeZerosAhead(next, 0, carried)
      if (allocated < carried) throw diskFull(this.partition, this.dir)
      await writeChecksumSidecar(this.dir, segmentFileName(range), hex)
    } catch (error) {
      await next.close()
      await unlink(temp)
      if (isNoSpace(error) || (error as StrataError).code === ErrorCodes.DISK_FULL) return false
      throw error
    }
    await commitActiveSegment(this.dir, range, this.#handle, durableBytes, temp)
    const previous = this.#handle
    this.#handle = next
    this.#allocated = allocated
    this.#state = { activeStart: end, durableEnd: end, durableBytes: 0 }
    // A crash before this write leaves the old record (end `end`), which the sealed file covers.
    this.#acknowledged.write(acknowledgedOf(this.#state))
    this.#activeSince = undefined
    this.#sealRequested = false
    this.#wake()
    await previous.close()
    // The packed encoding is a cache (rebuilt from the NDJSON if lost): no fsync, no failure.
    await writePackedCache(this.dir, range, packSegment(data, hex)).catch(() => {})
    return true
  }
}

function acknowledgedOf(state: DurableState): { start: number; end: number; bytes: number } {
  return { start: state.activeStart, end: state.durableEnd, bytes: state.durableBytes }
}

function missingActive(
  partition: number,
  dir: string,
  sealedEnd: number,
  acknowledgedEnd: number,
): StrataError {
  const path = join(dir, activeFileName(sealedEnd))
  return new StrataError(
    ErrorCodes.SEGMENT_CORRUPT,
    `partition ${partition}: the active segment ${path} is missing, yet records up to offset ${acknowledgedEnd - 1} were acknowledged (${join(dir, ACKNOWLEDGED_END_FILE)} records it); the sealed segments end at ${sealedEnd}. ` +
      `Put the file back (from a backup or copy). To go on without offsets ${sealedEnd} to ${acknowledgedEnd - 1}: rm ${join(dir, ACKNOWLEDGED_END_FILE)}, then move the store aside (see docs/master-dataset.md, "Damaged files")`,
  )
}
