// Finds sealed segments whose NDJSON no longer matches its checksum. The batch layer reads a
// sealed segment through its packed copy and does not re-hash the NDJSON (segment-reader.ts,
// PackedSegmentReader), so a byte that rots in the NDJSON after the packed copy was derived goes
// unseen there: the fold stays exact, but the master dataset itself is damaged, and the operator
// must hear of it before the packed copy goes too. The batch role hashes each sealed segment once
// per process (at start, then the segments sealed since), re-hashes only the damaged ones (a
// restored file clears), and reports what it found once per segment.

import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { readPackedHeader } from './packed-cursor.ts'
import { PACKED_EXTENSION, partitionDirName, segmentFileName } from './segment-format.ts'
import { listPartitions, listSegments, partitionDir } from './segment-list.ts'
import { readSegmentChecksum } from './segment-reader.ts'

export interface SegmentDamage {
  partition: number
  /** The segment's data file, relative to the master dataset's root (p0003/…ndjson). */
  file: string
  /** True when its packed copy names the checksum the sidecar records (it holds the verified content). */
  packedHolds: boolean
}

export class SegmentScrub {
  readonly #root: string
  readonly #verified = new Set<string>()
  readonly #damaged = new Map<string, SegmentDamage>()
  #found = 0
  #stopped = false

  constructor(root: string) {
    this.#root = root
  }

  /** The segments damaged now (as of the last check). */
  get damaged(): SegmentDamage[] {
    return [...this.#damaged.values()]
  }

  /** Segments found damaged since the process started (only grows: a restored one stays counted). */
  get found(): number {
    return this.#found
  }

  /** Ends a check in progress at its next segment. */
  stop(): void {
    this.#stopped = true
  }

  /** Hashes the sealed segments not verified yet; `onDamage` once for each newly damaged one. */
  async check(onDamage: (damage: SegmentDamage) => void = () => {}): Promise<void> {
    for (const partition of await listPartitions(this.#root)) {
      for (const range of await listSegments(this.#root, partition)) {
        if (this.#stopped) return
        const name = segmentFileName(range)
        const file = `${partitionDirName(partition)}/${name}`
        if (this.#verified.has(file)) continue
        const dir = partitionDir(this.#root, partition)
        let expected: string
        let actual: string
        try {
          expected = await readSegmentChecksum(this.#root, partition, range)
          actual = await hashFile(join(dir, name))
        } catch {
          continue // no sidecar, or the file is gone: every read reports that (SEGMENT_CORRUPT)
        }
        if (actual === expected) {
          this.#verified.add(file)
          this.#damaged.delete(file)
          continue
        }
        if (this.#damaged.has(file)) continue
        const damage: SegmentDamage = {
          partition,
          file,
          packedHolds: await packedNames(join(dir, name.replace(/\.ndjson$/, PACKED_EXTENSION)), expected),
        }
        this.#damaged.set(file, damage)
        this.#found++
        onDamage(damage)
      }
    }
  }
}

/** One line for /health and the log: which segment, and the way out (docs/master-dataset.md). */
export function describeDamage(d: SegmentDamage): string {
  return `segment ${d.file} does not match its checksum: ${
    d.packedHolds
      ? 'its packed copy still holds the verified content and the batch layer reads that (keep the .packed file)'
      : 'no packed copy holds its content: batch runs fail on it'
  }; restore the file from a backup (\`sha256sum -c p*/*.sha256\` in the master dataset finds every damaged one)`
}

// Streamed, so a large segment does not hold the event loop for the whole hash.
function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')))
  })
}

// The header only: the cursor checks the sections' CRCs when the batch layer opens it.
async function packedNames(path: string, checksum: string): Promise<boolean> {
  try {
    const handle = await open(path, 'r')
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
