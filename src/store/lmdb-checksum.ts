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
    // A batch version's rows are almost all [windows, numbers]: written without msgpackr, the
    // main thread's commit of 10,000 keys took 7-17% less CPU (BENCHMARKS.md, Batch, session 17).
    const row = packNumberRow(value)
    if (row !== undefined) return row
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

/**
 * A batch row of numbers ([windows, states], lmdb-batch.ts), checksummed as encode() would: the
 * bytes msgpackr writes for it (its rules copied below, fixint up to 0x3f included), without
 * msgpackr's per-value dispatch. undefined for anything else (msgpackr packs it). A msgpackr
 * that changed its rules would fail test/store/lmdb-number-row.property.test.ts, not the store:
 * either form decodes to the same numbers.
 */
export function packNumberRow(value: unknown): Buffer | undefined {
  if (!Array.isArray(value) || value.length !== 2) return undefined
  const [a, b] = value as unknown[]
  if (!Array.isArray(a) || !Array.isArray(b)) return undefined
  let size = HEAD + 11 // the pair's mark, and each list's header of at most 5 bytes
  for (const list of [a, b]) {
    for (let i = 0; i < list.length; i++) {
      if (typeof list[i] !== 'number') return undefined
    }
    size += list.length * 9
  }
  const out = Buffer.allocUnsafe(size)
  out[0] = CHECKED
  let at = HEAD
  out[at++] = 0x92
  for (const list of [a, b] as number[][]) {
    const n = list.length
    if (n < 0x10) out[at++] = 0x90 | n
    else if (n < 0x10000) {
      out[at++] = 0xdc
      out[at++] = n >> 8
      out[at++] = n & 0xff
    } else {
      out[at++] = 0xdd
      out.writeUInt32BE(n, at)
      at += 4
    }
    for (let i = 0; i < n; i++) at = packNumber(out, at, list[i]!)
  }
  out.writeUInt32LE(valueCrc32(out, HEAD, at), 1)
  return out.subarray(0, at)
}

/** One number as msgpackr packs it (pack.js, type 'number', default options). */
function packNumber(out: Buffer, at: number, value: number): number {
  if (value >>> 0 === value) {
    if (value < 0x40) out[at++] = value
    else if (value < 0x100) {
      out[at++] = 0xcc
      out[at++] = value
    } else if (value < 0x10000) {
      out[at++] = 0xcd
      out[at++] = value >> 8
      out[at++] = value & 0xff
    } else {
      out[at++] = 0xce
      out.writeUInt32BE(value, at)
      at += 4
    }
  } else if (value >> 0 === value) {
    if (value >= -0x20) out[at++] = 0x100 + value
    else if (value >= -0x80) {
      out[at++] = 0xd0
      out[at++] = value + 0x100
    } else if (value >= -0x8000) {
      out[at++] = 0xd1
      out.writeInt16BE(value, at)
      at += 2
    } else {
      out[at++] = 0xd2
      out.writeInt32BE(value, at)
      at += 4
    }
  } else {
    out[at++] = 0xcb
    out.writeDoubleBE(value, at)
    at += 8
  }
  return at
}
