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

  /** A filter sized for `deltas` entries (a power of two of bits, at least 64), or the bits given. */
  constructor(deltas: number, bits?: Uint32Array) {
    let size = 64
    while (size < deltas * BITS_PER_DELTA) size *= 2
    this.#bits = bits ?? new Uint32Array(size / 32)
    this.#mask = this.#bits.length * 32 - 1
  }

  /** Bytes held (for tests: bounded by the deltas, not by the queries). */
  get bytes(): number {
    return this.#bits.byteLength
  }

  /** The bits as bytes (a view, not a copy), to store. */
  bytesView(): Uint8Array {
    return new Uint8Array(this.#bits.buffer, this.#bits.byteOffset, this.#bits.byteLength)
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

/**
 * Bumped whenever what a stored filter's bits mean changes (bits a delta, probes, either hash): a
 * stored filter of another format is not read (the row's filter is built from its deltas), since
 * bits read under other probes could say a false "no".
 */
export const FILTER_FORMAT = 1

/** A filter as a speed log row's stored filter (lmdb-speed-log.ts, `['rf', seq, nonce]`). */
export interface StoredFilter {
  f: number
  b: Uint8Array
}

/** The stored form of `filter`: its format and its bits' bytes. */
export function storedFilter(filter: KeyFilter): StoredFilter {
  return { f: FILTER_FORMAT, b: filter.bytesView() }
}

/**
 * The filter a stored one holds; undefined when it is of another format or not a filter's shape
 * (the caller then builds the row's filter from its deltas: never a guess).
 */
export function filterOf(value: unknown): KeyFilter | undefined {
  const stored = value as Partial<StoredFilter> | undefined
  if (stored?.f !== FILTER_FORMAT || !(stored.b instanceof Uint8Array)) return undefined
  const n = stored.b.byteLength
  // A power of two of bits, at least 64, as the constructor makes them.
  if (n < 8 || (n & (n - 1)) !== 0) return undefined
  // Copied into memory of its own: the decoder's bytes need not be 4-byte aligned.
  const bits = new Uint32Array(n / 4)
  new Uint8Array(bits.buffer).set(stored.b)
  return new KeyFilter(0, bits)
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
