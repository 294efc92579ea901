// The packed encoding: a derived, regenerable, columnar copy of one NDJSON segment, which the
// batch layer reads instead of parsing JSON (figures in docs/decisions/0002-master-dataset-format.md
// and 0012-columnar-packed-cache.md). The NDJSON file stays the master dataset; a packed file that
// is missing, corrupt, of another format version or derived from other bytes is rebuilt from it.
//
// Layout (little-endian), format version 4:
//   "STRATAPK" | u32 version=4 | u32 crc32 of the header JSON | u32 header length | header JSON
//   | sections, each at an 8-byte aligned position
// header: { source: sha256 hex of the NDJSON segment, records, firstOffset,
//           sections: [[at, bytes, crc32], …], offsets?, timestamps, keys?, shapes?, raw?,
//           layouts: [...], columns: [{ name, ids?, nums?, text?, ends? }] }
// where each named part is the index of its section. Every section carries its own CRC32, so a
// reader checks exactly the sections it reads: the batch layer, reading the three fields a view
// needs, neither reads nor checksums the others.
//
// One column per field name, indexed by record (row r of every column is record r):
// - `ids`: u32 per record, the id of the field's string (kind s) or JSON text (kind j) in the
//   column's own dictionary (`text`: UTF-8 of all its strings concatenated, `ends`: u32 end of
//   each in UTF-16 units); `nums`: f64 per record, the field's number (kind n).
// - Which fields a record has, in which order and of which kind, is its layout: `layouts[id]` is
//   { keys, kinds } (kind per field: s string, n number, j nested JSON text, t true, f false,
//   z null) or { raw: true }. `shapes` holds the layout id per record (u32), absent when every
//   record has layout 0. A raw record (not an object; an object with a "__proto__" key, which an
//   object literal would take as its prototype; an object whose nested parts hold -0, which
//   JSON.stringify writes as 0) is kept as its JSON text: `raw` is a u32 id per record into the
//   raw dictionary (`rawText`, `rawEnds`).
// - `offsets`: f64 per record, absent when the offsets are firstOffset, firstOffset + 1, …;
//   `timestamps`: f64 per record; `keys`: u32 per record, 0 = null, else id + 1 in the key
//   dictionary (`keyText`, `keyEnds`), with KEY_JSON set when the key is kept as its JSON text.
// Every string in a dictionary is well-formed UTF-16, so that UTF-8 keeps it exactly: a string
// with a lone surrogate (JSON allows "\ud800") is stored as its JSON text instead (kind j,
// KEY_JSON). Versions 2 and 3 (row-oriented) are rebuilt, not read.
import { crc32 } from 'node:zlib'

export const MAGIC = Buffer.from('STRATAPK')
export const VERSION = 4
export const KEY_JSON = 0x8000_0000

/** A record layout: its fields in order with their kinds, or a raw record. */
export type Layout = { keys: string[]; kinds: string } | { raw: true }

export interface ColumnHeader {
  name: string
  ids?: number
  nums?: number
  text?: number
  ends?: number
}

export interface PackedHeader {
  source: string
  records: number
  firstOffset: number
  sections: Array<[at: number, bytes: number, crc: number]>
  offsets?: number
  timestamps: number
  keys?: number
  keyText?: number
  keyEnds?: number
  shapes?: number
  raw?: number
  rawText?: number
  rawEnds?: number
  layouts: Layout[]
  columns: ColumnHeader[]
}

const KIND_S = 0x73
const KIND_N = 0x6e
const KIND_J = 0x6a
const KIND_T = 0x74
const KIND_F = 0x66
const KIND_Z = 0x7a

/** JSON text with each lone surrogate written as its \u escape: the same JSON value. */
function wellFormedJson(text: string): string {
  return text.isWellFormed()
    ? text
    : text.replace(/\p{Surrogate}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/**
 * Strings, each stored once, numbered in order of first use. An open-addressing table of ids
 * keyed on a hash of the string's code units, not a Map: the archiver looks up each string field
 * of every event here (a user, a url, the record key), and with tens of thousands of distinct
 * strings a segment, Map.get/set of a freshly sliced string cost about 40 % of the archiver's CPU
 * (bench/archive-micro.ts; figures in docs/decisions/0012-columnar-packed-cache.md).
 */
class Dictionary {
  readonly strings: string[] = []
  // Slot → id + 1 (0: empty), at most half full; the hash of each id's string, to grow by.
  #slots = new Int32Array(64)
  #hashes = new Int32Array(32)
  // The section bytes as strings come: the UTF-8 of each string one after another (what
  // Buffer.from(strings.join('')) gives, every string being well-formed) and the end of each in
  // UTF-16 units. Written once per new string: a join and encode of them all at the segment's
  // end cost more than the lookups did.
  #text = Buffer.allocUnsafe(1024)
  #textBytes = 0
  #ends = new Growable(u32)
  #units = 0

  id(value: string): number {
    const hash = hashOf(value)
    const slots = this.#slots
    const mask = slots.length - 1
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = slots[i]!
      if (slot === 0) {
        const id = this.strings.push(value) - 1
        slots[i] = id + 1
        if (id >= this.#hashes.length) {
          const grown = new Int32Array(this.#hashes.length * 2)
          grown.set(this.#hashes)
          this.#hashes = grown
        }
        this.#hashes[id] = hash
        this.#append(id, value)
        if (this.strings.length * 2 > slots.length) this.#grow()
        return id
      }
      if (this.#hashes[slot - 1] === hash && this.strings[slot - 1] === value) return slot - 1
    }
  }

  /** The UTF-8 of every string, in id order. */
  text(): Buffer {
    return this.#text.subarray(0, this.#textBytes)
  }

  /** The end of each string in `text()`'s string, in UTF-16 units. */
  ends(): Uint32Array {
    return this.#ends.array.subarray(0, this.strings.length)
  }

  #append(id: number, value: string): void {
    // At most 3 UTF-8 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
    const room = this.#textBytes + 3 * value.length
    if (room > this.#text.length) {
      const grown = Buffer.allocUnsafe(Math.max(room, this.#text.length * 2))
      this.#text.copy(grown, 0, 0, this.#textBytes)
      this.#text = grown
    }
    this.#textBytes += this.#text.write(value, this.#textBytes, 'utf8')
    this.#units += value.length
    this.#ends.set(id, this.#units)
  }

  #grow(): void {
    const slots = new Int32Array(this.#slots.length * 2)
    const mask = slots.length - 1
    const hashes = this.#hashes
    for (let id = 0; id < this.strings.length; id++) {
      let i = hashes[id]! & mask
      while (slots[i] !== 0) i = (i + 1) & mask
      slots[i] = id + 1
    }
    this.#slots = slots
  }
}

// The hash's starting state, drawn once per process: the strings come from producers we do not
// control, and with a fixed hash a producer could send values that all land in one run of slots,
// making every lookup a walk of the whole run (a segment's archive quadratic in its strings). A
// Map's hash is seeded by V8 for the same reason. Ids, and so the bytes written, do not depend on it.
const HASH_SEED = crypto.getRandomValues(new Int32Array(1))[0]!

/** FNV-1a over the UTF-16 code units from a per-process seed, mixed so that the low bits index well. */
function hashOf(value: string): number {
  let h = 0x811c9dc5 ^ HASH_SEED
  for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value.charCodeAt(i), 0x01000193)
  h ^= h >>> 15
  h = Math.imul(h, 0x2c1b3c6d)
  return h ^ (h >>> 12)
}

/** A growable typed array whose unwritten elements read 0. */
class Growable<T extends Float64Array | Uint32Array> {
  array: T
  readonly #make: (length: number) => T

  constructor(make: (length: number) => T) {
    this.#make = make
    this.array = make(1024)
  }

  set(index: number, value: number): void {
    if (index >= this.array.length) {
      const grown = this.#make(Math.max(this.array.length * 2, index + 1))
      grown.set(this.array)
      this.array = grown
    }
    this.array[index] = value
  }
}

const f64 = (n: number) => new Float64Array(n)
const u32 = (n: number) => new Uint32Array(n)

class ColumnBuilder {
  readonly name: string
  readonly dictionary = new Dictionary()
  ids: Growable<Uint32Array> | undefined
  nums: Growable<Float64Array> | undefined
  // Consecutive events often repeat a field's value: compare with the last before hashing.
  #lastValue: string | undefined
  #lastId = 0

  constructor(name: string) {
    this.name = name
  }

  string(record: number, value: string): void {
    let id = this.#lastId
    if (value !== this.#lastValue) {
      id = this.dictionary.id(value)
      this.#lastValue = value
      this.#lastId = id
    }
    this.ids ??= new Growable(u32)
    this.ids.set(record, id)
  }

  json(record: number, text: string): void {
    this.ids ??= new Growable(u32)
    this.ids.set(record, this.dictionary.id(text))
  }

  number(record: number, value: number): void {
    this.nums ??= new Growable(f64)
    this.nums.set(record, value)
  }
}

export class PackedSegmentEncoder {
  #records = 0
  #firstOffset = -1
  #contiguous = true
  #offsets = new Growable(f64)
  #timestamps = new Growable(f64)
  #keys = new Growable(u32)
  #anyKey = false
  #keyDictionary = new Dictionary()
  #shapes = new Growable(u32)
  #raw = new Growable(u32)
  #anyRaw = false
  #rawDictionary = new Dictionary()
  #layouts: Layout[] = []
  #layoutIds = new Map<string, number>()
  #columns = new Map<string, ColumnBuilder>()
  // The last record's layout and its columns: consecutive events mostly share one.
  #lastKeys: string[] = []
  #lastKinds = ''
  #lastLayout = -1
  #lastColumns: ColumnBuilder[] = []
  #kinds = new Uint8Array(16)
  // The parsed event's values, in the order of its keys (add), reused.
  #values: unknown[] = []

  #layout(signature: string, layout: Layout): number {
    let id = this.#layoutIds.get(signature)
    if (id === undefined) {
      id = this.#layouts.push(layout) - 1
      this.#layoutIds.set(signature, id)
    }
    return id
  }

  #column(name: string): ColumnBuilder {
    let column = this.#columns.get(name)
    if (column === undefined) {
      column = new ColumnBuilder(name)
      this.#columns.set(name, column)
    }
    return column
  }

  #record(offset: number, timestamp: number, key: string | null): number {
    const r = this.#records++
    if (r === 0) this.#firstOffset = offset
    else if (offset !== this.#firstOffset + r) this.#contiguous = false
    this.#offsets.set(r, offset)
    this.#timestamps.set(r, timestamp)
    if (key !== null) {
      this.#anyKey = true
      if (key.isWellFormed()) this.#keys.set(r, this.#keyDictionary.id(key) + 1)
      else this.#keys.set(r, (KEY_JSON | (this.#keyDictionary.id(JSON.stringify(key)) + 1)) >>> 0)
    }
    return r
  }

  /** Adds one record; `event` is the parsed event JSON, `text` its raw JSON text. */
  add(offset: number, timestamp: number, key: string | null, event: unknown, text: string): void {
    const r = this.#record(offset, timestamp, key)
    if (
      event === null ||
      typeof event !== 'object' ||
      Array.isArray(event) ||
      Object.hasOwn(event, '__proto__') ||
      // JSON.stringify writes a nested -0 as 0: keep such an event whole (checked cheaply first:
      // a -0 is spelled `-0…` or is a negative number that underflows, `-1e-400`, which has `e-`).
      (mayHoldNegativeZero(text) && hasNestedNegativeZero(event))
    ) {
      this.#addRaw(r, text)
      return
    }
    const keys = Object.keys(event)
    const values = this.#values
    for (let f = 0; f < keys.length; f++) values[f] = (event as Record<string, unknown>)[keys[f]!]
    this.#fields(r, keys, values, keys.length)
  }

  /**
   * Adds one record given its fields: `keys[0, count)` are `Object.keys` of the parsed event and
   * `values` their values, as the archiver's event scanner (core/event-scan.ts) finds them without
   * parsing. The same bytes as `add` with that event, which must not be one `add` keeps whole (an
   * object with a "__proto__" key or a nested -0: the scanner leaves those to `add`). The arrays
   * are the caller's to reuse.
   */
  addFields(
    offset: number,
    timestamp: number,
    key: string | null,
    keys: readonly string[],
    values: readonly unknown[],
    count: number,
  ): void {
    this.#fields(this.#record(offset, timestamp, key), keys, values, count)
  }

  #fields(r: number, keys: readonly string[], values: readonly unknown[], count: number): void {
    if (this.#kinds.length < count) this.#kinds = new Uint8Array(count * 2)
    const kinds = this.#kinds
    const lastKeys = this.#lastKeys
    const lastKinds = this.#lastKinds
    const same = this.#lastLayout !== -1 && count === lastKeys.length
    let sameKeys = same
    if (same) for (let f = 0; f < count && sameKeys; f++) if (keys[f] !== lastKeys[f]) sameKeys = false
    let columns = this.#lastColumns
    if (!sameKeys) {
      columns = []
      for (let f = 0; f < count; f++) columns.push(this.#column(keys[f]!))
    }
    let sameKinds = sameKeys
    for (let f = 0; f < count; f++) {
      const value = values[f]
      const column = columns[f]!
      let kind: number
      if (typeof value === 'string') {
        if (value.isWellFormed()) {
          kind = KIND_S
          column.string(r, value)
        } else {
          kind = KIND_J
          column.json(r, JSON.stringify(value))
        }
      } else if (typeof value === 'number') {
        kind = KIND_N
        column.number(r, value)
      } else if (value === true) kind = KIND_T
      else if (value === false) kind = KIND_F
      else if (value === null) kind = KIND_Z
      else {
        kind = KIND_J
        column.json(r, wellFormedJson(JSON.stringify(value)))
      }
      kinds[f] = kind
      if (sameKinds && kind !== lastKinds.charCodeAt(f)) sameKinds = false
    }
    if (sameKinds) {
      this.#shapes.set(r, this.#lastLayout)
      return
    }
    // The names kept are a copy: the caller's arrays are reused.
    const kept = keys.slice(0, count)
    const kindText = Buffer.from(kinds.buffer, 0, count).toString('latin1')
    const id = this.#layout(kindText + JSON.stringify(kept), { keys: kept, kinds: kindText })
    this.#lastKeys = kept
    this.#lastKinds = kindText
    this.#lastLayout = id
    this.#lastColumns = columns
    this.#shapes.set(r, id)
  }

  #addRaw(r: number, text: string): void {
    this.#anyRaw = true
    this.#shapes.set(r, this.#layout('raw', { raw: true }))
    this.#raw.set(r, this.#rawDictionary.id(wellFormedJson(text)))
  }

  /** The packed file bytes; `source` is the sha256 hex of the NDJSON segment. */
  finish(source: string): Buffer {
    const records = this.#records
    const parts: Buffer[] = []
    const section = (bytes: Buffer): number => parts.push(bytes) - 1
    const typed = (array: Float64Array | Uint32Array) =>
      section(Buffer.from(array.buffer, array.byteOffset, records * array.BYTES_PER_ELEMENT))
    const dictionary = (d: Dictionary) => {
      const ends = d.ends()
      return {
        text: section(d.text()),
        ends: section(Buffer.from(ends.buffer, ends.byteOffset, ends.byteLength)),
      }
    }
    const header: Omit<PackedHeader, 'sections'> = {
      source,
      records,
      firstOffset: this.#firstOffset,
      timestamps: typed(this.#timestamps.array),
      layouts: this.#layouts,
      columns: [],
    }
    if (!this.#contiguous) header.offsets = typed(this.#offsets.array)
    if (this.#anyKey) {
      header.keys = typed(this.#keys.array)
      const { text, ends } = dictionary(this.#keyDictionary)
      header.keyText = text
      header.keyEnds = ends
    }
    if (this.#layouts.length > 1) header.shapes = typed(this.#shapes.array)
    if (this.#anyRaw) {
      header.raw = typed(this.#raw.array)
      const { text, ends } = dictionary(this.#rawDictionary)
      header.rawText = text
      header.rawEnds = ends
    }
    for (const column of this.#columns.values()) {
      const entry: ColumnHeader = { name: column.name }
      if (column.ids) {
        entry.ids = typed(column.ids.array)
        const { text, ends } = dictionary(column.dictionary)
        entry.text = text
        entry.ends = ends
      }
      if (column.nums) entry.nums = typed(column.nums.array)
      header.columns.push(entry)
    }
    return assemble(header, parts)
  }
}

/** Lays out the header and the sections, each 8-aligned, with their CRCs. */
function assemble(header: Omit<PackedHeader, 'sections'>, parts: Buffer[]): Buffer {
  // Positions depend on the header's length, which depends on the positions: lay the sections
  // out after a header of an upper bound on that length, padded with spaces.
  const sections: Array<[number, number, number]> = parts.map((p) => [0, p.length, crc32(p)])
  const draft = JSON.stringify({ ...header, sections: sections.map(([, b, c]) => [2 ** 53, b, c]) })
  const headerBytes = Buffer.byteLength(draft)
  let at = Math.ceil((20 + headerBytes) / 8) * 8
  for (const s of sections) {
    s[0] = at
    at = Math.ceil((at + s[1]) / 8) * 8
  }
  const out = Buffer.alloc(at)
  const json = Buffer.alloc(headerBytes, ' ')
  json.write(JSON.stringify({ ...header, sections }))
  MAGIC.copy(out, 0)
  out.writeUInt32LE(VERSION, 8)
  out.writeUInt32LE(crc32(json), 12)
  out.writeUInt32LE(json.length, 16)
  json.copy(out, 20)
  for (const [i, part] of parts.entries()) part.copy(out, sections[i]![0])
  return out
}

/**
 * False when JSON `text` cannot hold -0: it has neither `-0` nor an exponent's `e-`/`E-` (a
 * negative number too small for a double, such as -1e-400 or -5e-325, parses to -0).
 */
function mayHoldNegativeZero(text: string): boolean {
  return text.includes('-0') || text.includes('e-') || text.includes('E-')
}

/** True when a nested part of `value` (not a top-level field) holds -0. */
function hasNestedNegativeZero(event: object): boolean {
  const walk = (v: unknown): boolean => {
    if (typeof v === 'number') return Object.is(v, -0)
    if (v === null || typeof v !== 'object') return false
    for (const child of Object.values(v)) if (walk(child)) return true
    return false
  }
  for (const child of Object.values(event))
    if (child !== null && typeof child === 'object' && walk(child)) return true
  return false
}
