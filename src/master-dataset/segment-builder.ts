// Collects the records of one segment: the NDJSON bytes (segment-format.ts) and, beside them,
// the packed encoding the batch layer reads. Offsets must strictly increase; the range a segment
// is written under may be wider than its first and last offsets (gaps are allowed).
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { PackedSegmentEncoder } from './packed-segment.ts'
import { encodeRecordLine, type SegmentRecord, storedEventBytes } from './segment-format.ts'

export class SegmentBuilder {
  #lines: Buffer[] = []
  #bytes = 0
  #firstOffset = -1
  #lastOffset = -1
  #packer = new PackedSegmentEncoder()

  get records(): number {
    return this.#lines.length
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
    const line = encodeRecordLine({ ...record, value })
    this.#lines.push(line)
    this.#bytes += line.length
    if (this.#firstOffset === -1) this.#firstOffset = record.offset
    this.#lastOffset = record.offset
    return value
  }

  data(): Buffer {
    return Buffer.concat(this.#lines, this.#bytes)
  }

  packer(): PackedSegmentEncoder {
    return this.#packer
  }
}
