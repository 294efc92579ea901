// The packed encoding: a derived, regenerable copy of one NDJSON segment that the batch layer
// decodes about 10× faster than it could JSON.parse the lines (figures in
// docs/decisions/0002-master-dataset-format.md). The NDJSON file stays the master dataset; a
// packed file that is missing, corrupt or derived from other bytes is rebuilt from it.
//
// Layout (little-endian):
//   "STRATAPK" | u32 version=3 | u32 crc32 of everything after this field | u32 header length
//   | header JSON | pad to 8 | Float64Array nums | Uint32Array ints
//   | Uint32Array string ends (UTF-16 units) | UTF-8 of all strings concatenated
// header: { source: sha256 hex of the NDJSON segment, records, shapes: [...], nums: length,
//           ints: length, strings: count, stringBytes }
// The string table is one UTF-8 run decoded with a single toString and cut with slice(): about
// 10× faster than JSON.parse of an array of ~100k short strings, which dominated opening. A
// reader slices a string on its first use only (StringTable), so opening costs one toString.
// Each record puts offset and timestamp in `nums`, its key slot and shape id in `ints`, then one
// slot per field: a string id in `ints`, a number in `nums`, or nothing for true/false/null,
// which the shape holds. Key slot: 0 = null, else strings[slot - 1]; with KEY_JSON set, the key
// is the JSON text strings[(slot & ~KEY_JSON) - 1] (see below). Nested objects and arrays are
// stored as their JSON text and parsed again on decode (events must not share mutable parts).
// An object with a "__proto__" key is stored whole as JSON text, since an object literal would
// set the prototype instead; so is an object whose nested parts hold -0 (JSON.stringify would
// write 0). Decoders are generated per shape: an object literal per event.
// Every string in the table is well-formed UTF-16, so that UTF-8 keeps it exactly: a string with
// a lone surrogate (JSON allows "\ud800") is stored as its JSON text instead (kind j, KEY_JSON).
// v2 wrote such strings as U+FFFD, so v2 caches are rebuilt, not read.
import { crc32 } from 'node:zlib'
import { ErrorCodes, StrataError } from '../core/errors.ts'

const MAGIC = Buffer.from('STRATAPK')
const VERSION = 3
const KEY_JSON = 0x8000_0000

/** kind per field: s string, n number, j nested JSON text, t true, f false, z null; or 'raw'. */
type Shape = { keys: string[]; kinds: string } | { raw: true }

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

export class PackedSegmentEncoder {
  #strings: string[] = []
  #stringIds = new Map<string, number>()
  #shapes: Shape[] = []
  #shapeIds = new Map<string, number>()
  #nums = new Float64Array(1024)
  #numsLength = 0
  #ints = new Uint32Array(1024)
  #intsLength = 0
  #records = 0
  // Consecutive events mostly share a shape, and often a value per field: compare with the last
  // record before hashing.
  #lastKeys: string[] = []
  #lastKinds = ''
  #lastShape = -1
  #kinds = new Uint8Array(16)
  #lastValues: string[] = []
  #lastValueIds: number[] = []

  #string(value: string): number {
    let id = this.#stringIds.get(value)
    if (id === undefined) {
      id = this.#strings.push(value) - 1
      this.#stringIds.set(value, id)
    }
    return id
  }

  /** The id of a string field value, remembering it per field position. */
  #fieldString(field: number, value: string): number {
    if (this.#lastValues[field] === value) return this.#lastValueIds[field]!
    const id = this.#string(value)
    this.#lastValues[field] = value
    this.#lastValueIds[field] = id
    return id
  }

  #shape(signature: string, shape: Shape): number {
    let id = this.#shapeIds.get(signature)
    if (id === undefined) {
      id = this.#shapes.push(shape) - 1
      this.#shapeIds.set(signature, id)
    }
    return id
  }

  #int(value: number): void {
    if (this.#intsLength === this.#ints.length) {
      const grown = new Uint32Array(this.#ints.length * 2)
      grown.set(this.#ints)
      this.#ints = grown
    }
    this.#ints[this.#intsLength++] = value
  }

  #num(value: number): void {
    if (this.#numsLength === this.#nums.length) {
      const grown = new Float64Array(this.#nums.length * 2)
      grown.set(this.#nums)
      this.#nums = grown
    }
    this.#nums[this.#numsLength++] = value
  }

  /** Adds one record; `event` is the parsed event JSON, `text` its raw JSON text. */
  add(offset: number, timestamp: number, key: string | null, event: unknown, text: string): void {
    this.#records++
    this.#num(offset)
    this.#num(timestamp)
    if (key === null) this.#int(0)
    else if (key.isWellFormed()) this.#int(this.#string(key) + 1)
    else this.#int((KEY_JSON | (this.#string(JSON.stringify(key)) + 1)) >>> 0)
    if (
      event === null ||
      typeof event !== 'object' ||
      Array.isArray(event) ||
      Object.hasOwn(event, '__proto__')
    ) {
      this.#addRaw(text)
      return
    }
    const keys = Object.keys(event)
    const count = keys.length
    if (this.#kinds.length < count) this.#kinds = new Uint8Array(count * 2)
    const kinds = this.#kinds
    const lastKeys = this.#lastKeys
    const lastKinds = this.#lastKinds
    let same = this.#lastShape !== -1 && count === lastKeys.length
    const intsAt = this.#intsLength
    const numsAt = this.#numsLength
    this.#int(0) // the shape id, set below
    for (let f = 0; f < count; f++) {
      const k = keys[f]!
      const value = (event as Record<string, unknown>)[k]
      let kind: number
      if (typeof value === 'string') {
        if (value.isWellFormed()) {
          kind = KIND_S
          this.#int(this.#fieldString(f, value))
        } else {
          kind = KIND_J
          this.#int(this.#string(JSON.stringify(value)))
        }
      } else if (typeof value === 'number') {
        kind = KIND_N
        this.#num(value)
      } else if (value === true) kind = KIND_T
      else if (value === false) kind = KIND_F
      else if (value === null) kind = KIND_Z
      else {
        // JSON.stringify writes -0 as 0: keep such an event whole instead.
        if (text.includes('-0')) {
          this.#intsLength = intsAt
          this.#numsLength = numsAt
          this.#addRaw(text)
          return
        }
        kind = KIND_J
        this.#int(this.#string(JSON.stringify(value)))
      }
      kinds[f] = kind
      if (same && (k !== lastKeys[f] || kind !== lastKinds.charCodeAt(f))) same = false
    }
    if (same) {
      this.#ints[intsAt] = this.#lastShape
      return
    }
    const kindText = Buffer.from(kinds.buffer, 0, count).toString('latin1')
    const id = this.#shape(kindText + JSON.stringify(keys), { keys, kinds: kindText })
    this.#lastKeys = keys
    this.#lastKinds = kindText
    this.#lastShape = id
    this.#ints[intsAt] = id
  }

  #addRaw(text: string): void {
    this.#int(this.#shape('raw', { raw: true }))
    this.#int(this.#string(wellFormedJson(text)))
  }

  /** The packed file bytes; `source` is the sha256 hex of the NDJSON segment. */
  finish(source: string): Buffer {
    const text = Buffer.from(this.#strings.join(''))
    const ends = new Uint32Array(this.#strings.length)
    let end = 0
    for (let i = 0; i < this.#strings.length; i++) {
      end += this.#strings[i]!.length
      ends[i] = end
    }
    const header = Buffer.from(
      JSON.stringify({
        source,
        records: this.#records,
        shapes: this.#shapes,
        nums: this.#numsLength,
        ints: this.#intsLength,
        strings: this.#strings.length,
        stringBytes: text.length,
      }),
    )
    const headerEnd = 20 + header.length
    const numsAt = Math.ceil(headerEnd / 8) * 8
    const intsAt = numsAt + this.#numsLength * 8
    const endsAt = intsAt + this.#intsLength * 4
    const textAt = endsAt + ends.length * 4
    const out = Buffer.alloc(textAt + text.length)
    MAGIC.copy(out, 0)
    out.writeUInt32LE(VERSION, 8)
    out.writeUInt32LE(header.length, 16)
    header.copy(out, 20)
    new Float64Array(out.buffer, out.byteOffset + numsAt, this.#numsLength).set(
      this.#nums.subarray(0, this.#numsLength),
    )
    new Uint32Array(out.buffer, out.byteOffset + intsAt, this.#intsLength).set(
      this.#ints.subarray(0, this.#intsLength),
    )
    new Uint32Array(out.buffer, out.byteOffset + endsAt, ends.length).set(ends)
    text.copy(out, textAt)
    out.writeUInt32LE(crc32(out.subarray(16)), 12)
    return out
  }
}

type Decoder = (
  s: Array<string | undefined>,
  L: StringTable,
  I: Uint32Array,
  i: number,
  N: Float64Array,
  n: number,
) => unknown

interface CompiledShape {
  decode: Decoder
  ints: number
  nums: number
}

const RAW_SHAPE: CompiledShape = {
  decode: (s, L, I, i) => JSON.parse(s[I[i]!] ?? L.load(I[i]!)),
  ints: 1,
  nums: 0,
}

// Decoders are compiled once per process per shape, not once per segment: a segment's shapes
// are nearly always the previous segment's, and one function object per shape stays optimized
// and lets the fold's call site stay monomorphic (a fresh `new Function` per segment starts
// again in the interpreter). Bounded, since shapes come from data.
const compiledShapes = new Map<string, CompiledShape>()
const MAX_COMPILED_SHAPES = 4096

function compiledShape(shape: Shape): CompiledShape {
  if ('raw' in shape) return RAW_SHAPE
  const signature = shape.kinds + JSON.stringify(shape.keys)
  let compiled = compiledShapes.get(signature)
  if (compiled === undefined) {
    if (compiledShapes.size >= MAX_COMPILED_SHAPES) compiledShapes.clear()
    compiled = compileShape(shape)
    compiledShapes.set(signature, compiled)
  }
  return compiled
}

function compileShape(shape: { keys: string[]; kinds: string }): CompiledShape {
  if (
    !Array.isArray(shape.keys) ||
    shape.keys.length !== shape.kinds.length ||
    /[^snjtfz]/.test(shape.kinds) ||
    !shape.keys.every((key) => typeof key === 'string')
  ) {
    throw new StrataError(ErrorCodes.SEGMENT_CORRUPT, 'packed segment has a malformed shape')
  }
  let ints = 0
  let nums = 0
  const lets: string[] = []
  const parts = shape.keys.map((key, index) => {
    const kind = shape.kinds[index]
    let value: string
    if (kind === 's' || kind === 'j') {
      // A string is decoded on first use (L) and then taken from the segment's table (s).
      const v = `v${ints}`
      lets.push(`let ${v}=s[I[i+${ints}]];if(${v}===undefined)${v}=L.load(I[i+${ints}]);`)
      ints++
      value = kind === 's' ? v : `JSON.parse(${v})`
    } else if (kind === 'n') value = `N[n+${nums++}]`
    else value = kind === 't' ? 'true' : kind === 'f' ? 'false' : 'null'
    return `${JSON.stringify(key)}:${value}`
  })
  // Keys go through JSON.stringify, so no event can inject code here.
  const decode = new Function('s', 'L', 'I', 'i', 'N', 'n', `${lets.join('')}return {${parts.join(',')}}`)
  return { decode: decode as Decoder, ints, nums }
}

/**
 * A segment's strings: one UTF-8 run cut by end offsets, decoded as one string and sliced on
 * first use. A class (not a closure per segment) so that the decoders, which are shared across
 * segments, keep seeing the same call target.
 */
class StringTable {
  readonly strings: Array<string | undefined>
  readonly #text: string
  readonly #ends: Uint32Array

  constructor(text: string, ends: Uint32Array) {
    this.#text = text
    this.#ends = ends
    this.strings = new Array<string | undefined>(ends.length)
  }

  load(id: number): string {
    if (!(id < this.#ends.length)) {
      throw new StrataError(ErrorCodes.SEGMENT_CORRUPT, `packed segment has no string ${id}`)
    }
    const value = this.#text.slice(id === 0 ? 0 : this.#ends[id - 1], this.#ends[id])
    this.strings[id] = value
    return value
  }
}

/**
 * Walks the records of a packed segment in offset order. `next()` advances; `event()` decodes
 * the current record's event into a fresh object (skip it for records you filter by offset).
 * Strings are decoded from the segment's UTF-8 run on first use and kept for the segment, so a
 * record that is never decoded, or a key nobody reads, costs nothing.
 */
export class PackedCursor {
  readonly records: number
  readonly source: string
  offset = -1
  #strings: Array<string | undefined>
  #table: StringTable
  #shapes: CompiledShape[]
  #nums: Float64Array
  #ints: Uint32Array
  #n = 0
  #i = 0
  #next = 0
  #nextN = 0
  #shape: CompiledShape = RAW_SHAPE

  constructor(packed: Buffer) {
    if (packed.length < 20 || !packed.subarray(0, 8).equals(MAGIC) || packed.readUInt32LE(8) !== VERSION) {
      throw new StrataError(ErrorCodes.SEGMENT_CORRUPT, 'not a packed segment (bad magic or version)')
    }
    if (crc32(packed.subarray(16)) !== packed.readUInt32LE(12)) {
      throw new StrataError(ErrorCodes.SEGMENT_CORRUPT, 'packed segment checksum mismatch')
    }
    const headerLength = packed.readUInt32LE(16)
    const header = JSON.parse(packed.toString('utf8', 20, 20 + headerLength))
    this.records = header.records
    this.source = header.source
    this.#shapes = (header.shapes as Shape[]).map(compiledShape)
    const numsAt = Math.ceil((20 + headerLength) / 8) * 8
    const intsAt = numsAt + header.nums * 8
    const endsAt = intsAt + header.ints * 4
    const textAt = endsAt + header.strings * 4
    if (textAt + header.stringBytes !== packed.length) {
      throw new StrataError(ErrorCodes.SEGMENT_CORRUPT, 'packed segment has the wrong length')
    }
    // Copy when the Buffer is not 8-byte aligned inside its ArrayBuffer (pooled buffers).
    const aligned = (packed.byteOffset + numsAt) % 8 === 0 ? packed : Buffer.from(packed)
    this.#nums = new Float64Array(aligned.buffer, aligned.byteOffset + numsAt, header.nums)
    this.#ints = new Uint32Array(aligned.buffer, aligned.byteOffset + intsAt, header.ints)
    const count: number = header.strings
    const ends = new Uint32Array(aligned.buffer, aligned.byteOffset + endsAt, count)
    // One toString of the whole run is far cheaper than one per string; the slices are lazy.
    const text = aligned.toString('utf8', textAt, textAt + header.stringBytes)
    if (count > 0 && ends[count - 1] !== text.length) {
      throw new StrataError(ErrorCodes.SEGMENT_CORRUPT, 'packed segment string table is inconsistent')
    }
    this.#table = new StringTable(text, ends)
    this.#strings = this.#table.strings
  }

  next(): boolean {
    const i = this.#next
    if (i >= this.#ints.length) return false
    const n = this.#nextN
    const shape = this.#shapes[this.#ints[i + 1]!]
    if (shape === undefined) throw new StrataError(ErrorCodes.SEGMENT_CORRUPT, 'packed record has no shape')
    this.#i = i
    this.#n = n
    this.#shape = shape
    this.#next = i + 2 + shape.ints
    this.#nextN = n + 2 + shape.nums
    this.offset = this.#nums[n]!
    return true
  }

  /** The Kafka record timestamp of the current record (epoch ms). */
  get timestamp(): number {
    return this.#nums[this.#n + 1]!
  }

  /** The record key of the current record. */
  get key(): string | null {
    const slot = this.#ints[this.#i]!
    if (slot === 0) return null
    if (slot < KEY_JSON) return this.#strings[slot - 1] ?? this.#table.load(slot - 1)
    const id = (slot & ~KEY_JSON) - 1
    return JSON.parse(this.#strings[id] ?? this.#table.load(id))
  }

  event(): unknown {
    return this.#shape.decode(this.#strings, this.#table, this.#ints, this.#i + 2, this.#nums, this.#n + 2)
  }
}
