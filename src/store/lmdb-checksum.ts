// Every value the embedded store writes carries a CRC-32 of its bytes, checked at every read.
// LMDB pages carry no checksum: a byte changed inside a value (a bad sector, a stray write) read
// as a different number, and a query answered it as exact. lmdb-js reads and writes every value
// through one encoder (lmdb-store.ts opens the store with this one), so this is the one place:
// queries, the compactor, speed commits, batch reads and migrations all decode here, and the
// integrity walk at start (lmdb-walk.ts) checks the same bytes with checkValue.
//
// A value: 0xc1 (a byte MessagePack never uses, so a value of an older layout, plain MessagePack,
// never starts with it), the CRC-32 of the rest (little-endian), then the MessagePack bytes lmdb-js
// wrote before (the same encoder options lmdb-js uses by default). zlib.crc32 is native (Node 24).
import { crc32 } from 'node:zlib'
import { Packr } from 'msgpackr'

export const CHECKED = 0xc1
const HEAD = 5

/**
 * Values up to this many bytes get their CRC-32 from the table loop below, longer ones from
 * zlib.crc32: the call into native code costs more than the loop over a short value, and most
 * values are short (a speed state row is a few bytes). Measured with bench/value-checksum-micro.ts.
 */
const SHORT = 64
const TABLE = new Int32Array(256)
for (let n = 0; n < 256; n++) {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  TABLE[n] = c
}

/** The CRC-32 zlib computes (IEEE 802.3), of bytes[start, end). */
export function valueCrc32(bytes: Uint8Array, start: number, end: number): number {
  if (end - start > SHORT)
    return crc32(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end))
  let c = -1
  for (let i = start; i < end; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ -1) >>> 0
}

/** A value whose bytes are not what was written: lmdb-guard.ts treats it as LMDB's own damage. */
export class ValueChecksumError extends Error {
  constructor(why: string) {
    super(`a value ${why} (VALUE_CHECKSUM)`)
    this.name = 'ValueChecksumError'
  }
}

/**
 * Throws ValueChecksumError unless `bytes` is a checksummed value whose checksum matches. With
 * `legacy`, a value without the mark (written before layout 5) passes unchecked.
 */
export function checkValue(bytes: Uint8Array, end: number, legacy: boolean): boolean {
  if (end >= HEAD && bytes[0] === CHECKED) {
    const recorded = (bytes[1]! | (bytes[2]! << 8) | (bytes[3]! << 16) | (bytes[4]! << 24)) >>> 0
    if (valueCrc32(bytes, HEAD, end) !== recorded) throw new ValueChecksumError('does not match its checksum')
    return true
  }
  if (!legacy) throw new ValueChecksumError('lacks its checksum')
  return false
}

/** The value encoder of the embedded store (lmdb-js's `encoder` option). */
export class ChecksummedValues {
  readonly #packr = new Packr({ copyBuffers: true })
  /**
   * Values without a checksum are read (unchecked) only until the store's layout is known, and
   * while a store of an older layout is moved to this one (lmdb-store.ts's stampFormat): false
   * from then on.
   */
  legacy = true
  // lmdb-js reads a value from a buffer it reuses; the MessagePack decoder copies what it keeps.
  readonly needsStableBuffer = false

  encode(value: unknown): Buffer {
    const packed = this.#packr.pack(value)
    const out = Buffer.allocUnsafe(packed.length + HEAD)
    out[0] = CHECKED
    out.writeUInt32LE(valueCrc32(packed, 0, packed.length), 1)
    out.set(packed, HEAD)
    return out
  }

  // lmdb-js reads into a buffer it reuses: a range read passes the value's size, a get sets
  // `length` on the buffer to it (and passes its own options).
  decode(bytes: Uint8Array, size?: unknown): unknown {
    const end = typeof size === 'number' ? size : bytes.length
    if (checkValue(bytes, end, this.legacy))
      return this.#packr.unpack(bytes as Buffer, { start: HEAD, end } as never)
    return this.#packr.unpack(bytes as Buffer, end as never)
  }
}
