// Reading the packed encoding (layout: packed-segment.ts). A cursor walks the records in offset
// order and decodes each event into a fresh object: the whole event, or, given a projection, only
// the fields named in it (those the record has), which is what the batch layer asks for when it
// knows the fields its views read (core/view-fields.ts). A projected cursor reads and checksums
// only the sections those fields live in.
import { crc32 } from 'node:zlib'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { KEY_JSON, type Layout, MAGIC, type PackedHeader, VERSION } from './packed-segment.ts'

const corrupt = (message: string) => new StrataError(ErrorCodes.SEGMENT_CORRUPT, `packed segment: ${message}`)

/** The header of a packed file, checked (magic, version, header CRC); throws SEGMENT_CORRUPT. */
export function readPackedHeader(packed: Buffer): { header: PackedHeader; end: number } {
  if (packed.length < 20 || !packed.subarray(0, 8).equals(MAGIC) || packed.readUInt32LE(8) !== VERSION) {
    throw corrupt('not a packed segment of this format version (bad magic or version)')
  }
  const length = packed.readUInt32LE(16)
  if (20 + length > packed.length) throw corrupt('header runs past the end of the file')
  const json = packed.subarray(20, 20 + length)
  if (crc32(json) !== packed.readUInt32LE(12)) throw corrupt('header checksum mismatch')
  return { header: JSON.parse(json.toString('utf8')) as PackedHeader, end: 20 + length }
}

/**
 * The sections a cursor with this projection reads: every section for whole events; for a
 * projection, the offsets, layouts and raw records, and the columns of the projected fields.
 */
export function sectionsFor(header: PackedHeader, fields: readonly string[] | null): number[] {
  const wanted = new Set<string>(fields ?? [])
  const out: Array<number | undefined> = [
    header.offsets,
    header.shapes,
    header.raw,
    header.rawText,
    header.rawEnds,
  ]
  if (fields === null) out.push(header.timestamps, header.keys, header.keyText, header.keyEnds)
  for (const c of header.columns) {
    if (fields === null || wanted.has(c.name)) out.push(c.ids, c.nums, c.text, c.ends)
  }
  return out.filter((s): s is number => s !== undefined)
}

/** Decodes record r into a fresh object, or, given one it returned before (`o`), refills that. */
type Decoder = (
  I: Uint32Array[],
  D: StringTable[],
  N: Float64Array[],
  r: number,
  o: object | undefined,
) => object

/** What decodes the records of one layout under one projection, with the columns it reads. */
interface LayoutReader {
  decode: Decoder
  I: Uint32Array[]
  D: StringTable[]
  N: Float64Array[]
  /** The object this layout's records are refilled into (reusing cursors only). */
  o: object | undefined
  /** Points `o` at record r, when `o` reads its fields from the columns (see lazyViewFor). */
  at: ((o: object, r: number) => object) | undefined
  /** Per field given to useStringIds: its column's ids when this layout holds it as a string. */
  ids: Array<Uint32Array | undefined>
}

// Decoders are compiled once per process per (layout, projection), not once per segment: a
// segment's layouts are nearly always the previous segment's, and one function object per layout
// stays optimized and keeps the fold's call site monomorphic (a fresh `new Function` per segment
// starts again in the interpreter). Bounded, since layouts come from data.
const compiled = new Map<string, Decoder>()
const MAX_COMPILED = 4096

function decoderFor(layout: { keys: string[]; kinds: string }, fields: readonly string[] | null): Decoder {
  return compiledOnce(compiled, layout, fields, compileDecoder)
}

/** What `compile` makes of (layout, projection), kept in `cache` (bounded: layouts come from data). */
function compiledOnce<F extends readonly string[] | null, T>(
  cache: Map<string, T>,
  layout: { keys: string[]; kinds: string },
  fields: F,
  compile: (layout: { keys: string[]; kinds: string }, fields: F) => T,
): T {
  const signature = `${layout.kinds}${JSON.stringify(layout.keys)}${JSON.stringify(fields)}`
  let made = cache.get(signature)
  if (made === undefined) {
    if (cache.size >= MAX_COMPILED) cache.clear()
    made = compile(layout, fields)
    cache.set(signature, made)
  }
  return made
}

/** Slot j of I/D/N is the j-th field of the layout that the projection keeps. */
function compileDecoder(
  layout: { keys: string[]; kinds: string },
  fields: readonly string[] | null,
): Decoder {
  const lets: string[] = []
  const parts: string[] = []
  const refills: string[] = []
  let slot = 0
  for (const [index, key] of layout.keys.entries()) {
    if (fields !== null && !fields.includes(key)) continue
    const kind = layout.kinds[index]
    const j = slot++
    let value: string
    if (kind === 's' || kind === 'j') {
      // A string is sliced from its column's dictionary on first use, then kept for the segment.
      lets.push(
        `const i${j}=I[${j}][r];let v${j}=D[${j}].s[i${j}];if(v${j}===undefined)v${j}=D[${j}].load(i${j});`,
      )
      value = kind === 's' ? `v${j}` : `JSON.parse(v${j})`
    } else if (kind === 'n') value = `N[${j}][r]`
    else value = kind === 't' ? 'true' : kind === 'f' ? 'false' : 'null'
    // Keys go through JSON.stringify, so no event can inject code here.
    parts.push(`${JSON.stringify(key)}:${value}`)
    refills.push(`o[${JSON.stringify(key)}]=${value};`)
  }
  // A layout's fields are the same for each of its records, so a refill sets every field the
  // object has, and nothing of the previous record stays.
  const body = `${lets.join('')}if(o===undefined)return {${parts.join(',')}};${refills.join('')}return o`
  return new Function('I', 'D', 'N', 'r', 'o', body) as Decoder
}

/** The class of a layout's lazy object (lazyViewFor): made over the columns, pointed by `at`. */
interface LazyView {
  new (I: Uint32Array[], D: StringTable[], N: Float64Array[]): object
  at(o: object, r: number): object
}

const lazyViews = new Map<string, LazyView | null>()

/**
 * For a reusing cursor, one object per layout whose fields are getters that read the current
 * record's columns when read, instead of an object refilled with every projected field of each
 * record: a field a view does not reach for a record (the key and time of an event its filter
 * drops) is never decoded, and a number is read from its Float64Array where it is used, with no
 * box written. A view with known fields reads the event only as `e.field` (core/view-fields.ts),
 * which sees the same value from a getter as from a data property, and undefined for a field the
 * layout lacks in both (the prototype has no other string-named property: the record position is
 * a private field, set through a static method, and the class's `constructor` is deleted). null for a layout with a
 * JSON field (kind j): a getter would parse it at each read, a new object each time, where the
 * refilled object holds one per record.
 */
function lazyViewFor(layout: { keys: string[]; kinds: string }, fields: readonly string[]): LazyView | null {
  return compiledOnce(lazyViews, layout, fields, compileLazyView)
}

function compileLazyView(
  layout: { keys: string[]; kinds: string },
  fields: readonly string[],
): LazyView | null {
  const members: string[] = ['#r = 0']
  const init: string[] = []
  const getters: string[] = []
  const names: string[] = []
  let slot = 0
  for (const [index, key] of layout.keys.entries()) {
    if (!fields.includes(key)) continue
    const kind = layout.kinds[index]
    const j = slot++
    if (kind === 'j') return null
    let body: string
    if (kind === 's') {
      members.push(`#i${j}`, `#d${j}`)
      init.push(`this.#i${j}=I[${j}];this.#d${j}=D[${j}];`)
      body = `const i=this.#i${j}[this.#r];const v=this.#d${j}.s[i];return v===undefined?this.#d${j}.load(i):v`
    } else if (kind === 'n') {
      members.push(`#n${j}`)
      init.push(`this.#n${j}=N[${j}];`)
      body = `return this.#n${j}[this.#r]`
    } else body = `return ${kind === 't' ? 'true' : kind === 'f' ? 'false' : 'null'}`
    // Names are computed keys taken from K, so no field name can inject code (or be taken for
    // the class's constructor).
    getters.push(`get [K[${names.length}]](){${body}}`)
    names.push(key)
  }
  const source = `return class{${members.join(';')};constructor(I,D,N){${init.join('')}}static at(o,r){o.#r=r;return o}${getters.join('')}}`
  const view = new Function('K', source)(names) as LazyView
  // What a field the layout lacks reads falls through to Object.prototype, as on a plain object.
  if (!names.includes('constructor')) delete (view.prototype as { constructor?: unknown }).constructor
  return view
}

function checkLayout(layout: Layout): void {
  if ('raw' in layout && layout.raw === true) return
  const l = layout as { keys: unknown; kinds: unknown }
  if (
    !Array.isArray(l.keys) ||
    typeof l.kinds !== 'string' ||
    l.keys.length !== l.kinds.length ||
    /[^snjtfz]/.test(l.kinds) ||
    !l.keys.every((key) => typeof key === 'string' && key !== '__proto__')
  ) {
    throw corrupt('malformed layout')
  }
}

/**
 * A dictionary: one UTF-8 run cut by end offsets, decoded as one string and sliced on first use.
 * A class (not a closure per segment) so that the decoders, shared across segments, keep seeing
 * the same call target.
 */
export class StringTable {
  readonly s: Array<string | undefined>
  /** The refusal load() threw, kept: a caller's code may catch it (see PackedCursor.refusal). */
  refused: StrataError | undefined
  readonly #text: string
  readonly #ends: Uint32Array

  constructor(text: string, ends: Uint32Array) {
    if (ends.length > 0 && ends[ends.length - 1] !== text.length) throw corrupt('dictionary is inconsistent')
    this.#text = text
    this.#ends = ends
    this.s = new Array<string | undefined>(ends.length)
  }

  load(id: number): string {
    if (!(id < this.#ends.length)) {
      this.refused ??= corrupt(`no string ${id} in a dictionary`)
      throw this.refused
    }
    const value = this.#text.slice(id === 0 ? 0 : this.#ends[id - 1], this.#ends[id])
    this.s[id] = value
    return value
  }

  get(id: number): string {
    return this.s[id] ?? this.load(id)
  }

  /** How many strings the dictionary holds (ids run from 0 to size - 1). */
  get size(): number {
    return this.#ends.length
  }
}

const EMPTY_TABLE = new StringTable('', new Uint32Array(0))
// A marker: raw records are parsed from their JSON text (event()), not decoded by a layout.
const RAW: Decoder = () => ({})
const rawReader = (): LayoutReader => ({
  decode: RAW,
  I: [],
  D: [],
  N: [],
  o: undefined,
  at: undefined,
  ids: [],
})

/**
 * Walks the records of a packed segment in offset order. `next()` advances; `event()` decodes the
 * current record's event into a fresh object (whole, or the projected fields). The buffer must
 * hold the header and every section the projection reads (sectionsFor); those sections are
 * checked against their CRCs here, before any record is returned.
 *
 * With `reuse` (projections only), event() hands out one object per record layout instead: it is
 * valid until the next call, for callers that neither keep nor change it (the batch fold, when
 * core/view-fields.ts shows its views do neither). Its fields are getters over the current
 * record's columns (lazyViewFor), so a field is decoded when read, and a damaged one throws
 * SEGMENT_CORRUPT there, inside the caller's code; a layout with a projected JSON field is
 * refilled instead. It saves an allocation per event and the fields no caller reads.
 */
export class PackedCursor {
  readonly records: number
  readonly source: string
  readonly fields: readonly string[] | null
  offset = -1
  #r = -1
  #buffer: Buffer
  #header: PackedHeader
  #offsets: Float64Array | undefined
  #firstOffset: number
  #shapes: Uint32Array | undefined
  #readers: LayoutReader[]
  #reader: LayoutReader
  #raw: Uint32Array | undefined
  #rawTable: StringTable = EMPTY_TABLE
  #timestamps: Float64Array | undefined
  #keys: Uint32Array | undefined
  #keyTable: StringTable = EMPTY_TABLE

  readonly #reuse: boolean
  readonly #dictionaries = new Map<string, StringTable>()

  constructor(packed: Buffer, fields: readonly string[] | null = null, reuse = false) {
    if (reuse && fields === null) {
      throw new StrataError(ErrorCodes.INTERNAL, 'a packed cursor reuses objects for projections only')
    }
    this.#reuse = reuse
    const { header, end } = readPackedHeader(packed)
    if (packed.byteOffset % 8 !== 0) {
      // Typed arrays over the sections need an 8-aligned start (pooled Buffers may not have one).
      const aligned = Buffer.allocUnsafeSlow(packed.length)
      packed.copy(aligned)
      packed = aligned
    }
    this.#buffer = packed
    this.#header = header
    this.fields = fields
    this.records = header.records
    this.source = header.source
    this.#firstOffset = header.firstOffset
    if (!Array.isArray(header.sections) || !Array.isArray(header.layouts) || !Array.isArray(header.columns)) {
      throw corrupt('malformed header')
    }
    for (const [at, bytes] of header.sections) {
      if (
        !(
          Number.isSafeInteger(at) &&
          Number.isSafeInteger(bytes) &&
          at % 8 === 0 &&
          at >= end &&
          at + bytes <= packed.length
        )
      ) {
        throw corrupt('a section lies outside the file')
      }
    }
    for (const s of sectionsFor(header, fields)) this.#check(s)
    if (header.offsets !== undefined) this.#offsets = this.#f64(header.offsets)
    if (header.shapes !== undefined) this.#shapes = this.#u32(header.shapes)
    else if (header.layouts.length > 1) throw corrupt('several layouts but no layout per record')
    if (header.raw !== undefined) {
      this.#raw = this.#u32(header.raw)
      this.#rawTable = this.#table(header.rawText, header.rawEnds)
    }
    const columns = new Map(header.columns.map((c) => [c.name, c]))
    this.#readers = header.layouts.map((layout) => {
      checkLayout(layout)
      if ('raw' in layout) return rawReader()
      const reader: LayoutReader = {
        decode: decoderFor(layout, fields),
        I: [],
        D: [],
        N: [],
        o: undefined,
        at: undefined,
        ids: [],
      }
      for (const [index, key] of layout.keys.entries()) {
        if (fields !== null && !fields.includes(key)) continue
        const column = columns.get(key)
        const kind = layout.kinds[index]
        const empty = new Uint32Array(0)
        if ((kind === 's' || kind === 'j') && column?.ids === undefined)
          throw corrupt(`no strings for field ${key}`)
        if (kind === 'n' && column?.nums === undefined) throw corrupt(`no numbers for field ${key}`)
        reader.I.push(column?.ids === undefined ? empty : this.#u32(column.ids))
        reader.D.push(column?.ids === undefined ? EMPTY_TABLE : this.#dictionary(column))
        reader.N.push(column?.nums === undefined ? new Float64Array(0) : this.#f64(column.nums))
      }
      const lazy = reuse && fields !== null ? lazyViewFor(layout, fields) : null
      if (lazy !== null) {
        reader.o = new lazy(reader.I, reader.D, reader.N)
        reader.at = lazy.at
      }
      return reader
    })
    if (header.records > 0 && this.#readers.length === 0) throw corrupt('records but no layout')
    if (this.#raw === undefined && this.#readers.some((r) => r.decode === RAW))
      throw corrupt('raw records but no raw column')
    this.#reader = this.#readers[0] ?? rawReader()
  }

  // One dictionary per column, shared by the layouts that hold it: a string is sliced once per
  // segment, and dictionary(field) is the table every layout's ids index.
  /**
   * The SEGMENT_CORRUPT a field read threw for a record of this cursor, if any. With `reuse` a
   * field is decoded when the caller's code reads it (lazyViewFor), and that code may catch what
   * it throws (a view's own try/catch): the caller asks here after the records, so that a
   * damaged segment is refused whatever caught the throw.
   */
  refusal(): StrataError | undefined {
    for (const table of this.#dictionaries.values()) if (table.refused !== undefined) return table.refused
    return undefined
  }

  #dictionary(column: PackedHeader['columns'][number]): StringTable {
    let table = this.#dictionaries.get(column.name)
    if (table === undefined) {
      table = this.#table(column.text, column.ends)
      this.#dictionaries.set(column.name, table)
    }
    return table
  }

  /**
   * Makes stringId(k) answer for fields[k], fields this cursor decodes: what lets a caller tell
   * two records' values apart by their ids in the column's dictionary, not by the strings.
   */
  useStringIds(fields: readonly string[]): void {
    const layouts = this.#header.layouts
    for (const [at, reader] of this.#readers.entries()) {
      const layout = layouts[at] as Layout
      reader.ids = fields.map((field) => {
        if ('raw' in layout || (this.fields !== null && !this.fields.includes(field))) return undefined
        const index = layout.keys.indexOf(field)
        if (index < 0 || layout.kinds[index] !== 's') return undefined
        const slot = layout.keys.filter((key, i) => i < index && (this.fields?.includes(key) ?? true)).length
        return reader.I[slot]
      })
    }
  }

  /**
   * The id of the current record's value of fields[k] (useStringIds) in its column's dictionary
   * (dictionary()) when that value is a string; -1 when it is another kind or missing.
   */
  stringId(k: number): number {
    const ids = this.#reader.ids[k]
    return ids === undefined ? -1 : (ids[this.#r] as number)
  }

  /**
   * The whole column of a decoded field, when every record of the segment is of one layout that
   * holds the field as `kind` ('s': ids into dictionary(field); 'n': the numbers); else undefined.
   * Index r is the r-th record. For a fold that reads columns whole rather than record by record
   * (batch/column-fold.ts; bench/batch-decompose.ts measures its ceiling).
   */
  columnOf(field: string, kind: 's' | 'n'): Uint32Array | Float64Array | undefined {
    if (this.#shapes !== undefined || this.#readers.length !== 1 || this.#raw !== undefined) return undefined
    const layout = this.#header.layouts[0] as Layout
    if ('raw' in layout || (this.fields !== null && !this.fields.includes(field))) return undefined
    const index = layout.keys.indexOf(field)
    if (index < 0 || layout.kinds[index] !== kind) return undefined
    const slot = layout.keys.filter((key, i) => i < index && (this.fields?.includes(key) ?? true)).length
    const reader = this.#readers[0] as LayoutReader
    return kind === 's' ? reader.I[slot] : reader.N[slot]
  }

  /**
   * How many of the segment's records, from the first, have an offset below `to`: the records
   * next() walks before the first at or past `to` (offsets ascend within a segment).
   */
  recordsBelow(to: number): number {
    const offsets = this.#offsets
    if (offsets === undefined) return Math.max(0, Math.min(this.records, to - this.#firstOffset))
    let low = 0
    let high = this.records
    while (low < high) {
      const mid = (low + high) >>> 1
      if ((offsets[mid] as number) < to) low = mid + 1
      else high = mid
    }
    return low
  }

  /** The strings of a decoded field's column by id, or undefined when the segment has none. */
  dictionary(field: string): StringTable | undefined {
    return this.#dictionaries.get(field)
  }

  #check(index: number): void {
    const section = this.#header.sections[index]
    if (section === undefined) throw corrupt(`no section ${index}`)
    const [at, bytes, crc] = section
    if (crc32(this.#buffer.subarray(at, at + bytes)) !== crc)
      throw corrupt(`section ${index} checksum mismatch`)
  }

  #bytes(index: number | undefined, width: number): [number, number] {
    const section = index === undefined ? undefined : this.#header.sections[index]
    if (section === undefined) throw corrupt(`no section ${index}`)
    const [at, bytes] = section
    if (bytes !== this.records * width) throw corrupt(`section ${index} has the wrong length`)
    return [at, bytes / width]
  }

  #f64(index: number): Float64Array {
    const [at, length] = this.#bytes(index, 8)
    return new Float64Array(this.#buffer.buffer, this.#buffer.byteOffset + at, length)
  }

  #u32(index: number): Uint32Array {
    const [at, length] = this.#bytes(index, 4)
    return new Uint32Array(this.#buffer.buffer, this.#buffer.byteOffset + at, length)
  }

  #table(text: number | undefined, ends: number | undefined): StringTable {
    const t = text === undefined ? undefined : this.#header.sections[text]
    const e = ends === undefined ? undefined : this.#header.sections[ends]
    if (t === undefined || e === undefined || e[1] % 4 !== 0) throw corrupt('malformed dictionary')
    const endsArray = new Uint32Array(this.#buffer.buffer, this.#buffer.byteOffset + e[0], e[1] / 4)
    return new StringTable(this.#buffer.toString('utf8', t[0], t[0] + t[1]), endsArray)
  }

  next(): boolean {
    const r = this.#r + 1
    if (r >= this.records) return false
    this.#r = r
    if (this.#shapes !== undefined) {
      const reader = this.#readers[this.#shapes[r]!]
      if (reader === undefined) throw corrupt('a record has no layout')
      this.#reader = reader
    }
    this.offset = this.#offsets === undefined ? this.#firstOffset + r : this.#offsets[r]!
    return true
  }

  event(): unknown {
    const reader = this.#reader
    if (reader.decode === RAW) return JSON.parse(this.#rawTable.get(this.#raw![this.#r]!))
    if (!this.#reuse) return reader.decode(reader.I, reader.D, reader.N, this.#r, undefined)
    if (reader.at !== undefined) return reader.at(reader.o as object, this.#r)
    const o = reader.decode(reader.I, reader.D, reader.N, this.#r, reader.o)
    reader.o = o
    return o
  }

  /** The Kafka record timestamp of the current record (epoch ms); whole-event cursors only. */
  get timestamp(): number {
    this.#timestamps ??= this.#f64(this.#wholeOnly(this.#header.timestamps))
    return this.#timestamps[this.#r]!
  }

  /** The record key of the current record; whole-event cursors only. */
  get key(): string | null {
    if (this.#header.keys === undefined) return null
    if (this.#keys === undefined) {
      this.#keys = this.#u32(this.#wholeOnly(this.#header.keys))
      this.#keyTable = this.#table(this.#header.keyText, this.#header.keyEnds)
    }
    const slot = this.#keys[this.#r]!
    if (slot === 0) return null
    if (slot < KEY_JSON) return this.#keyTable.get(slot - 1)
    return JSON.parse(this.#keyTable.get((slot & ~KEY_JSON) - 1))
  }

  #wholeOnly(index: number): number {
    if (this.fields !== null) {
      throw new StrataError(ErrorCodes.INTERNAL, 'a projected packed cursor reads event fields only')
    }
    return index
  }
}
