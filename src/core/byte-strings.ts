// Short strings decoded from bytes, one string object per distinct byte sequence while it is
// remembered. The archiver decodes every string field of every event, and most repeat (a url, an
// event type, the record key that is also the user field): a fresh string a field cost a decode,
// its garbage, and in the packed encoder's dictionaries (a `Map` per column) a hash and a content
// comparison each time. A string found here again is the same object, its hash already computed,
// matched in the dictionary by identity (BENCHMARKS.md, Ingest, session 13).
//
// Exactness: equal bytes decode to equal strings, and the decode is `Buffer#toString`'s (UTF-8,
// invalid sequences as U+FFFD): latin1 only when every byte is below 0x80, where the two agree.
// Bounded: up to MAX_ENTRIES strings of up to MAX_BYTES bytes, forgotten all at once when full.
import type { Slicers } from './json-bytes.ts'

/** How many strings are remembered at most: an entry index is below it. */
export const MAX_ENTRIES = 1 << 16
const SLOTS = MAX_ENTRIES * 2
const MAX_BYTES = 64
const ARENA_BYTES = MAX_ENTRIES * 32

export class ByteStrings {
  // Open addressing: an entry's index + 1, 0 for an empty slot.
  #slots = new Int32Array(SLOTS)
  #hashes = new Int32Array(MAX_ENTRIES)
  #starts = new Int32Array(MAX_ENTRIES)
  #lengths = new Int32Array(MAX_ENTRIES)
  #strings: string[] = []
  // The remembered strings' bytes, one after another.
  #arena = Buffer.alloc(ARENA_BYTES)
  #used = 0
  /** The last string's entry (the same entry, the same string, within a generation), or -1. */
  entry = -1
  /** Incremented each time everything is forgotten (entries are then reused for other bytes). */
  generation = 0

  /** b[start, end) decoded as `b.toString('utf8', start, end)` would. */
  string(b: Buffer, start: number, end: number): string {
    const length = end - start
    const s = b as Buffer & Slicers
    if (length > MAX_BYTES) {
      this.entry = -1
      return s.utf8Slice(start, end)
    }
    let hash = 0x811c9dc5 ^ length
    let high = 0
    for (let i = start; i < end; i++) {
      const c = b[i]!
      high |= c
      hash = Math.imul(hash ^ c, 0x01000193)
    }
    const mask = SLOTS - 1
    let slot = hash & mask
    const arena = this.#arena
    for (let e = this.#slots[slot]!; e !== 0; e = this.#slots[slot]!) {
      const entry = e - 1
      if (this.#hashes[entry] === hash && this.#lengths[entry] === length) {
        const at = this.#starts[entry]! - start
        let i = start
        while (i < end && arena[at + i] === b[i]) i++
        if (i === end) {
          this.entry = entry
          return this.#strings[entry]!
        }
      }
      slot = (slot + 1) & mask
    }
    const text = high >= 0x80 ? s.utf8Slice(start, end) : s.latin1Slice(start, end)
    if (this.#strings.length === MAX_ENTRIES || this.#used + length > ARENA_BYTES) {
      this.#slots.fill(0)
      this.#strings.length = 0
      this.#used = 0
      this.generation++
      slot = hash & mask
    }
    const entry = this.#strings.push(text) - 1
    this.#hashes[entry] = hash
    this.#lengths[entry] = length
    this.#starts[entry] = this.#used
    b.copy(arena, this.#used, start, end)
    this.#used += length
    this.#slots[slot] = entry + 1
    this.entry = entry
    return text
  }
}
