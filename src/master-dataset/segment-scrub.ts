// Finds sealed segments whose NDJSON no longer matches its checksum. The batch layer reads a
// sealed segment through its packed copy and does not re-hash the NDJSON (segment-reader.ts,
// PackedSegmentReader), so a byte that rots in the NDJSON after the packed copy was derived goes
// unseen there: the fold stays exact, but the master dataset itself is damaged, and the operator
// must hear of it before the packed copy goes too. The batch role hashes each sealed segment once
// per process (at start, then the segments sealed since), re-hashes only the damaged ones (a
// restored file clears), and reports what it found once per segment.
//
// The hashing runs in a process of its own at a lower priority (segment-hash.ts), so the first
// pass over a large master dataset does not hold the main thread; `pauseWhile` lets the batch
// role hold the pass between segments while a batch run is in progress, so the two do not
// compete for the cores and the disk (the schedule leaves an interval between runs, so the pass
// still ends). `progress` says how far it is, for /health and /metrics. One hasher (one hashing
// process) serves every check until stop(): forking one per check cost the main thread a fork of
// a large process each time (segment-hash.ts).

import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { readPackedHeader } from './packed-cursor.ts'
import { openRegularFile } from './regular-file.ts'
import { PACKED_EXTENSION, partitionDirName, type SegmentRange, segmentFileName } from './segment-format.ts'
import { NOT_A_FILE, SegmentHasher } from './segment-hash.ts'
import { listPartitions, listSegments, partitionDir } from './segment-list.ts'
import { readSegmentChecksum } from './segment-reader.ts'

export interface SegmentDamage {
  partition: number
  /** The segment's data file, relative to the master dataset's root (p0003/…ndjson). */
  file: string
  /** True when its packed copy names the checksum the sidecar records (it holds the verified content). */
  packedHolds: boolean
  /** Set when the segment's file is not a regular file ("not a regular file (a FIFO)"): refused, never read. */
  notRegular?: string
}

type Hasher = Pick<SegmentHasher, 'hash' | 'close'> & Partial<Pick<SegmentHasher, 'start'>>

// How often a paused pass looks whether it may go on.
const PAUSE_POLL_MS = 250

export class SegmentScrub {
  readonly #root: string
  readonly #verified = new Set<string>()
  readonly #damaged = new Map<string, SegmentDamage>()
  #found = 0
  // Distinct segments (their files), not lists: a damaged segment is re-hashed at each check and
  // a check a failing hashing process ended lists its segments again; counting each time made the pair
  // grow forever and say nothing of how far the pass is.
  readonly #listed = new Set<string>()
  readonly #checked = new Set<string>()
  #stopped = false
  #failure: string | undefined
  #hasher: Hasher | undefined
  readonly #newHasher: () => Hasher

  /** `hasher`: where the hashing runs (a test's stand-in); default a child process (segment-hash.ts). */
  constructor(root: string, options: { hasher?: () => Hasher } = {}) {
    this.#root = root
    this.#newHasher = options.hasher ?? (() => new SegmentHasher())
  }

  /** The segments damaged now (as of the last check). */
  get damaged(): SegmentDamage[] {
    return [...this.#damaged.values()]
  }

  /** Segments found damaged since the process started (only grows: a restored one stays counted). */
  get found(): number {
    return this.#found
  }

  /**
   * Distinct segments listed for hashing since the process started, and those of them hashed at
   * least once (both only grow; a damaged segment re-hashed counts once). A pass is done when
   * they are equal.
   */
  get progress(): { checked: number; listed: number } {
    return { checked: this.#checked.size, listed: this.#listed.size }
  }

  /**
   * Why the last check ended early (its hashing process failed: it could not start, or died), until
   * a check completes: the segments are then not being verified, which /health must say.
   */
  get failure(): string | undefined {
    return this.#failure
  }

  /**
   * Ends a check in progress (the segment being hashed included) and the hashing process;
   * resolves once that process is gone (or left after CLOSE_WAIT_MS, segment-hash.ts).
   */
  stop(): Promise<void> {
    this.#stopped = true
    return this.#hasher?.close() ?? Promise.resolve()
  }

  /**
   * Hashes the sealed segments not verified yet; `onDamage` once for each newly damaged one.
   * Between segments it waits while `pauseWhile()` is true.
   */
  async check(
    onDamage: (damage: SegmentDamage) => void = () => {},
    options: { pauseWhile?: () => boolean } = {},
  ): Promise<void> {
    if (this.#stopped) return
    // Forked at the first check (the role's start, this process still small), even with nothing
    // to hash yet: a fork later, once the process is large, holds its main thread far longer.
    this.#hasher ??= this.#newHasher()
    const hasher = this.#hasher
    hasher.start?.()
    const todo: Array<{ partition: number; range: SegmentRange; name: string; file: string }> = []
    for (const partition of await listPartitions(this.#root)) {
      for (const range of await listSegments(this.#root, partition)) {
        const name = segmentFileName(range)
        const file = `${partitionDirName(partition)}/${name}`
        if (!this.#verified.has(file)) todo.push({ partition, range, name, file })
      }
    }
    if (this.#stopped) return
    if (todo.length === 0) {
      this.#failure = undefined // nothing left unverified (those a failed check left are gone)
      return
    }
    for (const { file } of todo) this.#listed.add(file)
    try {
      for (const segment of todo) {
        while (!this.#stopped && options.pauseWhile?.()) await sleep(PAUSE_POLL_MS)
        if (this.#stopped) return
        await this.#checkOne(segment, hasher, onDamage)
        if (this.#stopped) return // its hash cut short: not checked
        this.#checked.add(segment.file)
      }
      this.#failure = undefined
    } catch (error) {
      if (!this.#stopped) this.#failure = (error as Error).message
      throw error
    }
  }

  async #checkOne(
    { partition, range, name, file }: { partition: number; range: SegmentRange; name: string; file: string },
    hasher: Hasher,
    onDamage: (damage: SegmentDamage) => void,
  ): Promise<void> {
    const dir = partitionDir(this.#root, partition)
    let expected: string
    let actual: string | undefined
    let notRegular: string | undefined
    try {
      expected = await readSegmentChecksum(this.#root, partition, range)
      actual = await hasher.hash(join(dir, name)).catch((error: NodeJS.ErrnoException) => {
        // A FIFO, a device, a folder in the segment's place: refused before it was opened for
        // reading (a FIFO's open would wait forever for a writer), reported as damage.
        if (error.code !== NOT_A_FILE || this.#stopped) throw error
        notRegular = error.message
        return undefined
      })
    } catch (error) {
      // No sidecar, or the file is gone (an error of the file system, with its code): every read
      // reports that (SEGMENT_CORRUPT). The hashing process itself failing (it could not start,
      // or died) ends the check instead: the segments left are not counted as checked.
      if (this.#stopped || (error as NodeJS.ErrnoException).code !== undefined) return
      throw error
    }
    if (actual === expected) {
      this.#verified.add(file)
      this.#damaged.delete(file)
      return
    }
    if (this.#damaged.has(file)) return
    const damage: SegmentDamage = {
      partition,
      file,
      packedHolds: await packedNames(join(dir, name.replace(/\.ndjson$/, PACKED_EXTENSION)), expected),
      ...(notRegular ? { notRegular } : {}),
    }
    this.#damaged.set(file, damage)
    this.#found++
    onDamage(damage)
  }
}

/** One line for /health and the log: which segment, and the way out (docs/master-dataset.md). */
export function describeDamage(d: SegmentDamage): string {
  return `segment ${d.file} ${d.notRegular ? `is ${d.notRegular}: refused, never read, so not verified` : 'does not match its checksum'}: ${
    d.packedHolds
      ? 'its packed copy still holds the verified content and the batch layer reads that (keep the .packed file)'
      : 'no packed copy holds its content: batch runs fail on it'
  }; ${
    d.notRegular
      ? // sha256sum would wait on a FIFO as the scrub did: find names them without opening any.
        'put a regular file back from a backup (`find p*/ -mindepth 1 ! -type f` in the master dataset lists every such one)'
      : 'restore the file from a backup (`sha256sum -c p*/*.sha256` in the master dataset finds every damaged one)'
  }`
}

// The header only: the cursor checks the sections' CRCs when the batch layer opens it.
async function packedNames(path: string, checksum: string): Promise<boolean> {
  try {
    const handle = await openRegularFile(path) // a FIFO's open would wait for a writer forever
    try {
      const head = Buffer.alloc(20)
      await handle.read(head, 0, 20, 0)
      const length = head.readUInt32LE(16)
      const buffer = Buffer.alloc(20 + length)
      await handle.read(buffer, 0, buffer.length, 0)
      return readPackedHeader(buffer).header.source === checksum
    } finally {
      await handle.close()
    }
  } catch {
    return false
  }
}
