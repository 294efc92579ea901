// The buffers a batch's records travel in to a fold thread (remote-window.ts), kept for reuse
// (decision 0011, addendum of session 11). A fresh buffer per batch (~700 KiB while catching up)
// cost both threads: the main thread's allocation counted as external memory (more garbage
// collections), and the kernel cleared its pages again at first touch in the thread. Here a
// buffer goes to the thread transferred (detached on this side), stays there while the window
// that folded it may be rebuilt from it, and comes back transferred (detached there) in the
// answer to the window's `drop`: at any moment one thread alone can read it, so a buffer reused
// for a later batch is never read for an earlier one.
import { ErrorCodes, StrataError } from '../core/errors.ts'
import type { RecordSpans } from '../log/partition-source.ts'

/**
 * The smallest buffer pooled. A batch that needs less (a live stream's fetch: often a record or a
 * few) gets a buffer of its own size, never pooled: its window keeps each batch's buffer until the
 * window is dropped, and a window that cannot commit (a store error, retried after a backoff) goes
 * on taking batches, so rounding every small batch up to one pooled size held 64 KiB per batch of
 * a few hundred bytes (the thread's memory grew ~300 times faster than the records it held).
 * Buffers from MIN_BYTES up are rounded to a power of two: at most twice what a batch needs.
 */
export const MIN_BYTES = 64 * 1024

/** Free buffers kept, at most this many bytes in all (more are left to the garbage collector). */
export const POOLED_BYTES = 32 * 1024 * 1024

export class BatchBuffers {
  /** Free buffers by size class (log2 of their byteLength). */
  readonly #free = new Map<number, ArrayBuffer[]>()
  #pooled = 0
  /** Buffers handed out that were new (tests, and the pool's own accounting). */
  created = 0
  /**
   * The smallest buffer pooled: MIN_BYTES. Tests lower it (at least 1) so that the small batches
   * of their schedules go in reused buffers too (test/speed/exactness.property.test.ts).
   */
  smallest = MIN_BYTES

  /**
   * A buffer of at least `bytes`: below `smallest` a new one of that size (not pooled), else a
   * power of two, a free one or new.
   */
  take(bytes: number): ArrayBuffer {
    if (bytes < this.smallest) {
      this.created++
      return new ArrayBuffer(bytes)
    }
    const size = 2 ** Math.ceil(Math.log2(bytes))
    const free = this.#free.get(size)?.pop()
    if (free !== undefined) {
      this.#pooled -= size
      return free
    }
    this.created++
    return new ArrayBuffer(size)
  }

  /** A buffer handed back (by the thread that last had it). Detached or odd-sized ones are dropped. */
  give(buffer: ArrayBuffer): void {
    const size = buffer.byteLength
    if (size < Math.max(1, this.smallest) || (size & (size - 1)) !== 0) return
    if (this.#pooled + size > POOLED_BYTES) return
    let list = this.#free.get(size)
    if (list === undefined) {
      list = []
      this.#free.set(size, list)
    }
    list.push(buffer)
    this.#pooled += size
  }

  /** Bytes of free buffers kept. */
  get pooled(): number {
    return this.#pooled
  }
}

/** The part of a record packRecords reads (SpeedRecord). */
interface RecordBytes {
  offset: number
  value: Uint8Array
}

/**
 * A batch's records as a fold thread reads them: record i is values[starts[i] .. ends[i]) at
 * offsets[i]. Packed (packRecords, packSpans), one buffer of the pool holds the offsets, the
 * starts, the ends, then the bytes (the offsets first: 8-byte aligned). Taken whole (takeSpans),
 * the values are a view of the fetch's own record set and the offsets, starts and ends lie in
 * buffers of their own. Every buffer the views lie in goes to the thread transferred (remote-window.ts).
 */
export interface PackedRecords {
  /** The buffer the values lie in (its byteLength is 0 once transferred). */
  buffer: ArrayBuffer
  offsets: Float64Array
  starts: Uint32Array
  ends: Uint32Array
  values: Uint8Array
}

const NO_RECORDS: PackedRecords = {
  buffer: new ArrayBuffer(0),
  offsets: new Float64Array(0),
  starts: new Uint32Array(0),
  ends: new Uint32Array(0),
  values: new Uint8Array(0),
}

/**
 * Bytes between two records' values (the second record's header and key, in a fetch answer)
 * copied with them rather than starting another copy: one copy per run of records that lie in
 * order in one buffer (a Kafka record set), not one per record, which cost the main thread
 * ~0.25 µs per record (a TypedArray set per value, measured).
 */
const GAP = 512

/** Whether `next` continues the run that ends at `end` in `source`. */
function continues(next: Uint8Array, source: ArrayBufferLike, end: number): boolean {
  return next.buffer === source && next.byteOffset >= end && next.byteOffset - end <= GAP
}

/**
 * Copies the records into a buffer of the pool, once, as the source hands them over: the decoded
 * record objects (and their views of the fetch answer) are then free while the batch waits behind
 * a commit, and die young instead of being promoted by the scavenges meanwhile. Records whose
 * values lie in order in one buffer, near each other, are copied as one run.
 */
export function packRecords(records: readonly RecordBytes[], buffers: BatchBuffers): PackedRecords {
  const n = records.length
  if (n === 0) return NO_RECORDS
  // First pass: the runs' bytes, so that the buffer is taken once.
  let bytes = records[0]!.value.length
  for (let i = 1; i < n; i++) {
    const previous = records[i - 1]!.value
    const value = records[i]!.value
    const end = previous.byteOffset + previous.length
    if (continues(value, previous.buffer, end)) bytes += value.byteOffset - end
    bytes += value.length
  }
  const buffer = buffers.take(n * 16 + bytes)
  const offsets = new Float64Array(buffer, 0, n)
  const starts = new Uint32Array(buffer, n * 8, n)
  const ends = new Uint32Array(buffer, n * 12, n)
  const values = new Uint8Array(buffer, n * 16, bytes)
  // Second pass: each run copied once, from its first value's start to its last value's end.
  let out = 0
  let i = 0
  while (i < n) {
    const source = records[i]!.value.buffer
    const from = records[i]!.value.byteOffset
    let end = from
    for (;;) {
      const { offset, value } = records[i]!
      offsets[i] = offset
      starts[i] = out + value.byteOffset - from
      ends[i] = out + value.byteOffset - from + value.length
      end = value.byteOffset + value.length
      i++
      if (i === n || !continues(records[i]!.value, source, end)) break
    }
    values.set(new Uint8Array(source, from, end - from), out)
    out += end - from
  }
  return { buffer, offsets, starts, ends, values }
}

/**
 * A batch's records copied from their spans (a Kafka fetch decoded without an object per record:
 * log/kafka/record-spans.ts decodeRecordSpans) into a buffer of the pool, in the layout packRecords
 * gives: the offsets, starts and ends copied whole, the values one copy per part. The starts and
 * ends already count from the first part's first byte, as the values are laid out here.
 */
export function packSpans(spans: RecordSpans, buffers: BatchBuffers): PackedRecords {
  const n = spans.count
  if (n === 0) return NO_RECORDS
  const bytes = spans.bytes
  const buffer = buffers.take(n * 16 + bytes)
  const offsets = new Float64Array(buffer, 0, n)
  const starts = new Uint32Array(buffer, n * 8, n)
  const ends = new Uint32Array(buffer, n * 12, n)
  const values = new Uint8Array(buffer, n * 16, bytes)
  offsets.set(spans.offsets.subarray(0, n))
  starts.set(spans.starts.subarray(0, n))
  ends.set(spans.ends.subarray(0, n))
  let at = 0
  for (const part of spans.parts) {
    values.set(part, at)
    at += part.length
  }
  if (at !== bytes) throw new StrataError(ErrorCodes.INTERNAL, `record spans of ${at} bytes, said ${bytes}`)
  return { buffer, offsets, starts, ends, values }
}

/**
 * A batch's spans taken as they are, no copy, when the source handed over a buffer that the batch
 * alone holds with the values in one part (RecordSpans.owned: a Kafka record set copied out of the
 * connection for this fetch). Sending the batch transfers that buffer (and the spans' arrays) to
 * the fold thread: the main thread no longer copies every value a second time (packSpans was
 * ~11 % of the main thread in the catch-up, session 17). Spans without an owned buffer are packed.
 */
export function takeSpans(spans: RecordSpans, buffers: BatchBuffers): PackedRecords {
  const owned = spans.owned
  const part = spans.parts[0]
  if (owned === undefined || spans.parts.length !== 1 || part!.buffer !== owned)
    return packSpans(spans, buffers)
  const n = spans.count
  if (n === 0) return NO_RECORDS
  // The part may end before the buffer does (a reused buffer, rounded up to a power of two).
  if (part!.length !== spans.bytes)
    throw new StrataError(ErrorCodes.INTERNAL, `record spans of ${part!.length} bytes, said ${spans.bytes}`)
  return {
    buffer: owned,
    offsets: spans.offsets.subarray(0, n),
    starts: spans.starts.subarray(0, n),
    ends: spans.ends.subarray(0, n),
    values: part!,
  }
}
