// The projected check's short read strings (projected-check.ts), one string object per distinct
// bytes: a record's `url` of `/p/1234` is found by its bytes among those read before and the
// string built then is given again, instead of a new string per record.
//
// Why: the speed layer's views key their groups by such strings (a Map per window: view-table.ts).
// A new string per record is an allocation, and its hash is computed again at every Map lookup,
// and the lookup compares its characters with the key's; the same string object carries its hash
// and is found by identity. Keyed by user, most of a window's records meet their url for the first
// time in that window, but not in the thread: the urls recur window after window.
//
// Exactness: a string is given again only for the very same bytes (length, then every byte
// compared), and only ASCII strings of at most SHORT_STRING bytes are held, whose text is their
// bytes (the caller checked every byte is below 0x80). The table holds at most `entries` strings;
// when full it forgets them all and starts again (strings of keys that never recur cost one
// insert each, and the table's memory stays bounded). Nothing depends on a string having been
// interned: equal strings are equal in JavaScript, interned or not.
// test/core/ascii-intern.property.test.ts checks it against the strings built anew.
import { SHORT_STRING } from './short-ascii.ts'

export class AsciiIntern {
  readonly #slots: Int32Array
  readonly #mask: number
  readonly #hashes: Int32Array
  readonly #lengths: Uint8Array
  readonly #bytes: Uint8Array
  readonly #strings: string[]
  readonly #entries: number
  #count = 0
  // The slot and hash the last find() missed at, for keep().
  #slot = -1
  #hash = 0
  /** Times the table was full and forgotten (for tests). */
  resets = 0

  /** `entries`: strings held at most (the slots are twice as many, a power of two). */
  constructor(entries = 1 << 14) {
    let slots = 2
    while (slots < 2 * entries) slots *= 2
    this.#slots = new Int32Array(slots)
    this.#mask = slots - 1
    this.#entries = entries
    this.#hashes = new Int32Array(entries)
    this.#lengths = new Uint8Array(entries)
    this.#bytes = new Uint8Array(entries * SHORT_STRING)
    this.#strings = new Array<string>(entries).fill('')
  }

  /**
   * The string held for bytes b[i, i + length) (length <= SHORT_STRING), or undefined: then the
   * caller builds it and gives it to keep() before the next find().
   */
  find(b: Uint8Array, i: number, length: number): string | undefined {
    let h = length
    for (let j = 0; j < length; j++) h = Math.imul(h ^ b[i + j]!, 0x01000193)
    h ^= h >>> 15
    const slots = this.#slots
    const mask = this.#mask
    let s = h & mask
    for (;;) {
      const e = slots[s]! - 1
      if (e < 0) break
      if (this.#hashes[e] === h && this.#lengths[e] === length) {
        const bytes = this.#bytes
        const at = e * SHORT_STRING
        let j = 0
        while (j < length && bytes[at + j] === b[i + j]) j++
        if (j === length) return this.#strings[e]
      }
      s = (s + 1) & mask
    }
    if (this.#count === this.#entries) {
      // Full: every string forgotten, this one to be the first of a new table.
      this.#slots.fill(0)
      this.#count = 0
      this.resets++
      s = h & mask
    }
    this.#slot = s
    this.#hash = h
    this.#bytes.set(b.subarray(i, i + length), this.#count * SHORT_STRING)
    this.#lengths[this.#count] = length
    return undefined
  }

  /** Holds `text`, the string of the bytes the last find() missed. */
  keep(text: string): void {
    const e = this.#count++
    this.#hashes[e] = this.#hash
    this.#strings[e] = text
    this.#slots[this.#slot] = e + 1
  }
}
