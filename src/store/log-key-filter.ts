// A Bloom filter of the (view, stored key)s one speed log row holds (lmdb-speed-log.ts), so that
// a query skips, without decoding them, the rows that cannot hold its key. After a catch-up of
// distinct keys the log holds a million deltas or more in a few hundred rows, and almost none of
// them holds the key a query asks; decoding and indexing every row at each snapshot version held
// the serving thread ~0.5 s per million deltas (decision 0011, "The drain after a catch-up").
//
// 16 bits a delta and 3 probes: about 0.5% of the rows that do not hold a key answer "maybe"
// (then the row is decoded and its index says no). Never a false "no": a row that holds a key
// always answers "maybe" for it, which is what keeps a query exact. The probes come from one
// FNV-1a hash (keyHash, the one the snapshot memo names keys by) and a second one derived from it.

import type { LogRow } from './lmdb-log-row.ts'
import { keyHash } from './lmdb-snapshot-version.ts'

const BITS_PER_DELTA = 16
const PROBES = 3

export class KeyFilter {
  readonly #bits: Uint32Array
  readonly #mask: number

  /** A filter sized for `deltas` entries (a power of two of bits, at least 64). */
  constructor(deltas: number) {
    let bits = 64
    while (bits < deltas * BITS_PER_DELTA) bits *= 2
    this.#bits = new Uint32Array(bits / 32)
    this.#mask = bits - 1
  }

  /** Bytes held (for tests: bounded by the deltas, not by the queries). */
  get bytes(): number {
    return this.#bits.byteLength
  }

  /** Adds the key whose keyHash is `hash`. */
  add(hash: number): void {
    const step = second(hash)
    for (let i = 0, h = hash; i < PROBES; i++, h = (h + step) >>> 0) {
      const bit = h & this.#mask
      this.#bits[bit >>> 5]! |= 1 << (bit & 31)
    }
  }

  /** False only when no key of this hash was added. */
  mayHold(hash: number): boolean {
    const step = second(hash)
    for (let i = 0, h = hash; i < PROBES; i++, h = (h + step) >>> 0) {
      const bit = h & this.#mask
      if ((this.#bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false
    }
    return true
  }
}

/** The probe step: odd (so the probes differ whatever the mask), from the hash's high bits mixed. */
function second(hash: number): number {
  return (Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d) >>> 0) | 1
}

/** The filter of every (view, key) of a log row. */
export function keyFilterOf(row: LogRow): KeyFilter {
  const filter = new KeyFilter(row.keys.length)
  // Rows have one view or a few: each view's name hashed into a key's hash as keyHash does.
  for (let i = 0; i < row.keys.length; i++) filter.add(keyHash(row.v[row.view[i]!]!, row.keys[i]!))
  return filter
}
