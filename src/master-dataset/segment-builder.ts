// Collects the records of one segment: the NDJSON bytes (segment-format.ts) and, beside them,
// the packed encoding the batch layer reads. Offsets must strictly increase; the range a segment
// is written under may be wider than its first and last offsets (gaps are allowed).
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { PackedSegmentEncoder } from './packed-segment.ts'
import {
  maxRecordLineBytes,
  type SegmentRecord,
  storedEventBytes,
  writeRecordLine,
} from './segment-format.ts'

export class SegmentBuilder {
  // The lines, one after another, in a buffer that doubles when full (a Buffer a line, then one
  // concat of them all, cost more than the archiver's JSON.parse of the events did).
  #data = Buffer.allocUnsafe(64 * 1024)
  #records = 0
  #bytes = 0
  #firstOffset = -1
  #lastOffset = -1
  #packer = new PackedSegmentEncoder()

  get records(): number {
    return this.#records
  }

  get bytes(): number {
    return this.#bytes
  }

  /** Offset of the first record added, or -1. */
  get firstOffset(): number {
    return this.#firstOffset
  }

  /** Offset of the last record added, or -1. */
  get lastOffset(): number {
    return this.#lastOffset
  }

  /**
   * Adds a record whose value is valid JSON text. `event` is the parsed value when the caller
   * already has it (it validated the record); otherwise the value is parsed here. `text` is
   * `record.value` decoded, when the caller has it: used only when the stored bytes are the
   * value's own (no CR/LF to replace), else the stored bytes are decoded here.
   */
  add(record: SegmentRecord, event?: unknown, text?: string): void {
    const value = this.#line(record)
    const stored = text !== undefined && value === record.value ? text : value.toString()
    const parsed = event === undefined ? JSON.parse(stored) : event
    this.#packer.add(record.offset, record.timestamp, record.key, parsed, stored)
  }

  /**
   * Adds a record whose event the archiver's scanner (core/event-scan.ts) has split into its
   * fields, `keys` and `values` in [0, count): what `add` does with the parsed event, without it.
   */
  addFields(record: SegmentRecord, keys: readonly string[], values: readonly unknown[], count: number): void {
    this.#line(record)
    this.#packer.addFields(record.offset, record.timestamp, record.key, keys, values, count)
  }

  // The record's NDJSON line; returns the event bytes stored (CR and LF made spaces).
  #line(record: SegmentRecord): Buffer {
    if (record.offset <= this.#lastOffset) {
      throw new StrataError(
        ErrorCodes.INTERNAL,
        `segment offsets must increase: ${record.offset} after ${this.#lastOffset}`,
      )
    }
    const value = storedEventBytes(record.value)
    const room = this.#bytes + maxRecordLineBytes(record)
    if (room > this.#data.length) {
      const grown = Buffer.allocUnsafe(Math.max(room, this.#data.length * 2))
      this.#data.copy(grown, 0, 0, this.#bytes)
      this.#data = grown
    }
    this.#bytes = writeRecordLine(this.#data, this.#bytes, record, value)
    this.#records++
    if (this.#firstOffset === -1) this.#firstOffset = record.offset
    this.#lastOffset = record.offset
    return value
  }

  /** The segment's NDJSON bytes (a view of the builder's buffer: add nothing after). */
  data(): Buffer {
    return this.#data.subarray(0, this.#bytes)
  }

  packer(): PackedSegmentEncoder {
    return this.#packer
  }
}
