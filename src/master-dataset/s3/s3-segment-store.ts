// The master dataset on S3-compatible object storage (docs/master-dataset.md, "On object storage";
// decision 0014). The keys under `s3://bucket/prefix/` are the folder layout's names:
//
//   source.json                                            the source identity (runtime/source-identity.ts)
//   p0003/first-offset                                     where p0003's first segment starts
//   p0003/00000000000000001000-00000000000000002000.ndjson the data, as in a folder
//   p0003/00000000000000001000.sha256                      the COMMIT of the segment starting at 1000
//
// The one difference is the checksum's key: it names the segment's START only, and holds
// "<sha256 hex>  <start>-<end>.ndjson\n" (sha256sum format, naming the data object, so a copy is
// checked with `sha256sum -c` as a folder is). Every object is created with `If-None-Match: *`,
// which never replaces an object; as the checksum's key is the start offset, two writers can
// commit at most one segment starting at any offset, so two archivers racing on a partition can
// never leave overlapping segments (the loser sees 412, finds another range or other bytes there
// and refuses with SEGMENT_CONFLICT, or finds its own bytes: 'identical').
//
// Writing a segment: the data object first, the checksum second. A segment counts only once its
// checksum object exists: an upload interrupted before that leaves a data object nobody lists
// (an orphan, harmless: the next writer re-uploads from its own start, and a data object with the
// same name and the same bytes is accepted as it is). Listing reads the names only: each checksum
// key gives a start, and the data key with that start gives the end (when orphans from
// interrupted uploads share the start, the checksum object itself names the range).
import { mkdir, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import { formatChecksumFile, parseChecksumFile, sha256Hex } from '../checksum.ts'
import { writeFileDurable } from '../durable-fs.ts'
import type { ObjectLocation, S3Settings } from '../location.ts'
import type { MasterDataset } from '../master-dataset.ts'
import {
  CHECKSUM_EXTENSION,
  parseSegmentFileName,
  partitionDirName,
  type SegmentRange,
  segmentFileName,
} from '../segment-format.ts'
import {
  checkContiguity,
  FIRST_OFFSET_FILE,
  listPartition,
  type PartitionListing,
  partitionDir,
} from '../segment-list.ts'
import { validateSegmentData, type WriteOutcome, writeChecksumSidecar } from '../segment-writer.ts'
import { createObjectStore, type ObjectStore } from './objects.ts'

// The source identity's file at the root (runtime/source-identity.ts), which the cache copies.
const IDENTITY_FILE = 'source.json'
const commitPattern = /^(\d{20})\.sha256$/
const OFFSET_DIGITS = 20
// Objects fetched at once when copying segments to the local cache.
const DOWNLOADS = 8

export class S3SegmentStore implements MasterDataset {
  readonly location: string
  readonly #objects: ObjectStore
  readonly #prefix: string
  readonly #cacheRoot: string | undefined
  // Writes to one partition run one after another (as SegmentStore's).
  #queues = new Map<number, Promise<unknown>>()

  constructor(
    location: ObjectLocation,
    options: { settings?: S3Settings; cacheRoot?: string; objects?: ObjectStore } = {},
  ) {
    this.location = `s3://${location.bucket}${location.prefix ? `/${location.prefix}` : ''}`
    this.#objects = options.objects ?? createObjectStore(location, options.settings)
    this.#prefix = location.prefix ? `${location.prefix}/` : ''
    this.#cacheRoot = options.cacheRoot
  }

  #partitionPrefix(partition: number): string {
    return `${this.#prefix}${partitionDirName(partition)}/`
  }

  #commitKey(partition: number, start: number): string {
    return `${this.#partitionPrefix(partition)}${String(start).padStart(OFFSET_DIGITS, '0')}${CHECKSUM_EXTENSION}`
  }

  async partitions(): Promise<number[]> {
    const prefixes = await this.#objects.list(this.#prefix, '/')
    const partitions: number[] = []
    for (const p of prefixes) {
      const match = /^p(\d{4,})\/$/.exec(p.slice(this.#prefix.length))
      if (match) partitions.push(Number(match[1]))
    }
    return partitions.sort((a, b) => a - b)
  }

  async listPartition(partition: number): Promise<PartitionListing> {
    const base = this.#partitionPrefix(partition)
    const names = (await this.#objects.list(base)).map((key) => key.slice(base.length))
    const dataByStart = new Map<number, SegmentRange[]>()
    const commits: number[] = []
    let recordedStart: number | undefined
    for (const name of names) {
      const range = parseSegmentFileName(name)
      if (range) dataByStart.set(range.start, [...(dataByStart.get(range.start) ?? []), range])
      const commit = commitPattern.exec(name)
      if (commit) commits.push(Number(commit[1]))
      if (name === FIRST_OFFSET_FILE) {
        recordedStart = Number((await this.#objects.get(base + name))?.toString('utf8').trim())
      }
    }
    const segments: SegmentRange[] = []
    for (const start of commits) {
      const candidates = dataByStart.get(start) ?? []
      if (candidates.length === 1) segments.push(candidates[0]!)
      else segments.push((await this.#readCommit(partition, start)).range)
    }
    segments.sort((a, b) => a.start - b.start || a.end - b.end)
    return { segments, recordedStart, activeStart: undefined }
  }

  async segments(partition: number): Promise<SegmentRange[]> {
    const { segments, recordedStart } = await this.listPartition(partition)
    checkContiguity(partition, segments, recordedStart)
    return segments
  }

  async nextOffset(partition: number): Promise<number> {
    return (await this.segments(partition)).at(-1)?.end ?? 0
  }

  /** The checksum object of the segment starting at `start`: its range and hex. */
  async #readCommit(
    partition: number,
    start: number,
  ): Promise<{ range: SegmentRange; hex: string; text: Buffer }> {
    const text = await this.#objects.get(this.#commitKey(partition, start))
    const name = /^[0-9a-f]{64} [ *](\S+)\n?$/.exec(text?.toString('utf8') ?? '')?.[1]
    const range = name ? parseSegmentFileName(name) : undefined
    if (!text || !range || range.start !== start) {
      throw new StrataError(
        ErrorCodes.SEGMENT_CORRUPT,
        `partition ${partition}: the checksum object of the segment starting at ${start} is ${text ? 'damaged' : 'missing'} (${this.location})`,
      )
    }
    return { range, hex: parseChecksumFile(text.toString('utf8'), name!), text }
  }

  writeSegment(partition: number, range: SegmentRange, data: Buffer): Promise<WriteOutcome> {
    return this.#serialize(partition, async () => {
      validateSegmentData(data, range)
      const { segments, recordedStart } = await this.listPartition(partition)
      checkContiguity(partition, segments, recordedStart)
      const same = segments.find((s) => s.start === range.start)
      if (!same) {
        const end = segments.at(-1)?.end ?? recordedStart ?? range.start
        if (range.start !== end) {
          throw new StrataError(
            range.start < end ? ErrorCodes.SEGMENT_CONFLICT : ErrorCodes.SEGMENT_CORRUPT,
            `partition ${partition}: segment [${range.start}, ${range.end}) must start at ${end} (${this.location})`,
          )
        }
        if (segments.length === 0 && recordedStart === undefined)
          await this.#recordStart(partition, range.start)
      }
      const name = segmentFileName(range)
      const hex = sha256Hex(data)
      const dataKey = this.#partitionPrefix(partition) + name
      if (!(await this.#objects.putIfAbsent(dataKey, data))) {
        const existing = await this.#objects.get(dataKey)
        if (!existing || sha256Hex(existing) !== hex) {
          throw new StrataError(
            ErrorCodes.SEGMENT_CONFLICT,
            `partition ${partition}: segment [${range.start}, ${range.end}) exists with different bytes (${this.location})`,
          )
        }
      }
      const commit = formatChecksumFile(hex, name)
      if (await this.#objects.putIfAbsent(this.#commitKey(partition, range.start), commit)) return 'written'
      const current = await this.#readCommit(partition, range.start)
      if (current.text.equals(commit)) return 'identical'
      throw new StrataError(
        ErrorCodes.SEGMENT_CONFLICT,
        `partition ${partition}: another writer committed [${current.range.start}, ${current.range.end}) at offset ${range.start}, not [${range.start}, ${range.end}) with these bytes (${this.location}); resume from the dataset's end`,
      )
    })
  }

  /** Records where the partition's first segment starts; another writer's record must agree. */
  async #recordStart(partition: number, start: number): Promise<void> {
    const key = this.#partitionPrefix(partition) + FIRST_OFFSET_FILE
    if (await this.#objects.putIfAbsent(key, Buffer.from(`${start}\n`))) return
    const recorded = Number((await this.#objects.get(key))?.toString('utf8').trim())
    if (recorded !== start) {
      throw new StrataError(
        ErrorCodes.SEGMENT_CONFLICT,
        `partition ${partition}: another writer recorded the first offset ${recorded}, not ${start} (${this.location})`,
      )
    }
  }

  async readSegment(partition: number, range: SegmentRange): Promise<Buffer> {
    const commit = await this.#readCommit(partition, range.start)
    if (commit.range.end !== range.end) {
      throw new StrataError(
        ErrorCodes.SEGMENT_CORRUPT,
        `partition ${partition}: the segment starting at ${range.start} is [${commit.range.start}, ${commit.range.end}), not [${range.start}, ${range.end})`,
      )
    }
    const data = await this.#objects.get(this.#partitionPrefix(partition) + segmentFileName(range))
    if (!data || sha256Hex(data) !== commit.hex) {
      throw new StrataError(
        ErrorCodes.SEGMENT_CORRUPT,
        `partition ${partition}: segment [${range.start}, ${range.end}) ${data ? 'does not match its checksum' : 'has no data object'} (${this.location}); restore the object from a backup or copy`,
      )
    }
    return data
  }

  /**
   * Copies every sealed segment below the horizon into the local cache folder, verified, in the
   * folder layout (data, then its sidecar: a cached segment counts once its sidecar exists). A
   * segment already there is not fetched again: objects are immutable (created once, never
   * replaced), and the cache is tied to this dataset's identity by its caller.
   */
  async localCopy(horizon: readonly number[]): Promise<string> {
    const root = this.#cacheRoot
    if (root === undefined)
      throw new StrataError(ErrorCodes.INTERNAL, `no local cache folder for ${this.location}`)
    await this.#claimCache(root)
    const fetches: Array<() => Promise<void>> = []
    for (const [partition, to] of horizon.entries()) {
      if (to <= 0) continue
      const { segments, recordedStart } = await this.listPartition(partition)
      checkContiguity(partition, segments, recordedStart)
      const reaches = segments.at(-1)?.end ?? recordedStart ?? 0
      if (reaches < to) {
        throw new StrataError(
          ErrorCodes.SEGMENT_CORRUPT,
          `partition ${partition}: the horizon ${to} is past the end of the master dataset (${reaches}) in ${this.location}`,
        )
      }
      const dir = partitionDir(root, partition)
      const cached = await listPartition(root, partition)
      const have = new Set((await cachedSidecars(dir)).values())
      if (recordedStart !== undefined && cached.recordedStart !== recordedStart) {
        await mkdir(dir, { recursive: true })
        await writeFileDurable(dir, FIRST_OFFSET_FILE, Buffer.from(`${recordedStart}\n`))
      }
      for (const range of segments) {
        if (range.start >= to) break
        const name = segmentFileName(range)
        if (have.has(name + CHECKSUM_EXTENSION)) continue
        fetches.push(async () => {
          const data = await this.readSegment(partition, range)
          await writeFileDurable(dir, name, data)
          await writeChecksumSidecar(dir, name, sha256Hex(data))
        })
      }
    }
    await runLimited(fetches, DOWNLOADS)
    return root
  }

  /**
   * The cache holds copies of one dataset: its source.json is the dataset's. A cache of another
   * dataset (the prefix emptied and written again, another --master) is emptied first.
   */
  async #claimCache(root: string): Promise<void> {
    const identity = (await this.readRootFile(IDENTITY_FILE)) ?? Buffer.alloc(0)
    const cached = await readFile(join(root, IDENTITY_FILE)).catch(() => undefined)
    if (cached?.equals(identity)) return
    await rm(root, { recursive: true, force: true })
    await mkdir(root, { recursive: true })
    await writeFileDurable(root, IDENTITY_FILE, identity)
  }

  async readRootFile(name: string): Promise<Buffer | undefined> {
    return this.#objects.get(this.#prefix + name)
  }

  createRootFile(name: string, data: Buffer): Promise<boolean> {
    return this.#objects.putIfAbsent(this.#prefix + name, data)
  }

  async close(): Promise<void> {
    this.#objects.close()
  }

  #serialize<T>(partition: number, task: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(partition) ?? Promise.resolve()
    const run = previous.then(task, task)
    this.#queues.set(
      partition,
      run.catch(() => {}),
    )
    return run
  }
}

async function cachedSidecars(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[])
  return names.filter((n) => n.endsWith(CHECKSUM_EXTENSION))
}

async function runLimited(tasks: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0
  const lanes = Array.from({ length: Math.min(limit, tasks.length) }, async () => {
    while (next < tasks.length) await tasks[next++]!()
  })
  await Promise.all(lanes)
}
