// One speed commit's deltas as the LMDB speed log stores them (lmdb-speed-log.ts), as columns.
//
// Layout 6 (store-format.ts) stores a row as
//   { p, o, v: views, k: stored keys, b: bytes, e?: the epoch of every delta, s?: states }
// where `b` holds, as machine words in the host's byte order (as LMDB's own pages are: a store
// is not moved across byte orders): windows (f64 × n), epochs (f64 × n, absent when `e` gives
// the one epoch of all), states (f64 × n, absent when `s` lists them because one is not a
// number), then each delta's index into `v` (u16 × n). The commit's columns come from a
// fold thread already as typed arrays, so this is a few memory copies and the key strings; the
// flat list of layout 5 (`d`: [view index, epoch, key, window, state] × n, every value a
// MessagePack item) cost the main thread 0.34 µs per delta to build and pack against 0.11 µs
// (decision 0011, session 16). Rows of layout 5 are still read (`rowOf`): a store is stamped
// layout 6 without rewriting its log, and the compactor folds its old rows as it folds new ones.
//
// The typed arrays go into MessagePack as a Uint8Array over their bytes: the store's encoder
// (msgpackr, lmdb-checksum.ts) packs a Float64Array's values as bytes, truncated, not its bytes.
import { ErrorCodes, StrataError } from '../core/errors.ts'
import type { SpeedCommit } from './store.ts'

/** One commit's deltas, as columns: delta i is (v[view[i]], epochs[i], keys[i], windows[i], states[i]). */
export interface LogRow {
  /** Partition and the commit's offset. */
  p: number
  o: number
  v: readonly string[]
  view: Uint16Array
  epochs: Float64Array
  /** Stored forms (lmdb-speed.ts's storedKey). */
  keys: readonly string[]
  windows: Float64Array
  states: ArrayLike<unknown>
}

/** A row as layout 6 stores it (see above). */
interface StoredRow {
  p: number
  o: number
  v: readonly string[]
  k: readonly string[]
  b: Uint8Array
  e?: number
  s?: unknown[]
}

/** A row as layout 5 stored it (and layout 6 reads). */
interface FlatRow {
  p: number
  o: number
  v: string[]
  d: unknown[]
}

/** Values per delta in FlatRow.d. */
const STRIDE = 5

/** The log row of a commit (keys turned to their stored form by `stored`). */
export function logRowOf(commit: SpeedCommit, stored: (key: string) => string): LogRow {
  const deltas = commit.deltas
  if (Array.isArray(deltas)) {
    const n = deltas.length
    const index = new Map<string, number>()
    const v: string[] = []
    const row = emptyRow(commit.partition, commit.offset, v, n)
    const keys = row.keys as string[]
    const states = row.states as unknown[]
    for (let i = 0; i < n; i++) {
      const { view, epoch, key, window, state } = deltas[i]!
      let at = index.get(view)
      if (at === undefined) {
        at = v.length
        // A view index is 2 bytes (`view`, as a fold thread's): a 65537th view would wrap onto the first.
        if (at > 0xffff) throw tooManyViews(commit)
        v.push(view)
        index.set(view, at)
      }
      row.view[i] = at
      row.epochs[i] = epoch
      keys[i] = stored(key)
      row.windows[i] = window
      states[i] = state
    }
    return row
  }
  // Columns (a fold thread's): shared, not copied, unless a key's stored form differs or a view
  // listed has no delta (the row names only the views it holds, as the compactor expects).
  const n = deltas.view.length
  let keys = deltas.keys
  for (let i = 0; i < n; i++) {
    const key = keys[i]!
    const form = stored(key)
    if (form === key) continue
    if (keys === deltas.keys) keys = keys.slice(0, n)
    ;(keys as string[])[i] = form
  }
  if (keys.length !== n) keys = keys.slice(0, n)
  let v = deltas.views
  let view = deltas.view
  const used = new Uint8Array(v.length)
  let count = 0
  for (let i = 0; i < n; i++) {
    const w = view[i]!
    if (used[w] === 0) {
      used[w] = 1
      count++
    }
  }
  if (count !== v.length) {
    // Renumbered in order of first appearance.
    const to = new Int32Array(v.length).fill(-1)
    const names: string[] = []
    view = new Uint16Array(n)
    for (let i = 0; i < n; i++) {
      const w = deltas.view[i]!
      if (to[w]! < 0) {
        to[w] = names.length
        names.push(v[w]!)
      }
      view[i] = to[w]!
    }
    v = names
  }
  return {
    p: commit.partition,
    o: commit.offset,
    v,
    view,
    epochs: deltas.epochs,
    keys,
    windows: deltas.windows,
    states: deltas.states,
  }
}

function tooManyViews(commit: SpeedCommit): StrataError {
  return new StrataError(
    ErrorCodes.STORE,
    `the speed commit of partition ${commit.partition} at offset ${commit.offset} holds deltas of more than 65536 views; a log row indexes at most 65536`,
  )
}

function emptyRow(p: number, o: number, v: readonly string[], n: number): LogRow {
  return {
    p,
    o,
    v,
    view: new Uint16Array(n),
    epochs: new Float64Array(n),
    keys: new Array<string>(n),
    windows: new Float64Array(n),
    states: new Array<unknown>(n),
  }
}

/** The row with only the deltas at `at` (ascending), its views renumbered. */
export function pickRow(row: LogRow, at: readonly number[]): LogRow {
  const index = new Map<number, number>()
  const v: string[] = []
  const out = emptyRow(row.p, row.o, v, at.length)
  const keys = out.keys as string[]
  const states = out.states as unknown[]
  for (let j = 0; j < at.length; j++) {
    const i = at[j]!
    const old = row.view[i]!
    let now = index.get(old)
    if (now === undefined) {
      now = v.length
      v.push(row.v[old]!)
      index.set(old, now)
    }
    out.view[j] = now
    out.epochs[j] = row.epochs[i]!
    keys[j] = row.keys[i]!
    out.windows[j] = row.windows[i]!
    states[j] = row.states[i]
  }
  return out
}

/** What the store writes for a row (see the layout above). */
export function storedRow(row: LogRow): StoredRow {
  const n = row.keys.length
  const epochs = row.epochs
  let one = true
  for (let i = 1; i < n && one; i++) one = epochs[i] === epochs[0]
  let numeric = row.states instanceof Float64Array
  if (!numeric) {
    numeric = true
    for (let i = 0; i < n && numeric; i++) numeric = typeof row.states[i] === 'number'
  }
  const words = n * (1 + (one ? 0 : 1) + (numeric ? 1 : 0)) + Math.ceil(n / 4)
  const f = new Float64Array(words)
  let at = 0
  f.set(row.windows.subarray(0, n), at)
  at += n
  if (!one) {
    f.set(epochs.subarray(0, n), at)
    at += n
  }
  if (numeric) {
    const states = row.states
    f.set(states instanceof Float64Array ? states.subarray(0, n) : (states as number[]).slice(0, n), at)
    at += n
  }
  new Uint16Array(f.buffer, at * 8, n).set(row.view.subarray(0, n))
  const out: StoredRow = { p: row.p, o: row.o, v: row.v, k: row.keys, b: new Uint8Array(f.buffer) }
  if (one && n > 0) out.e = epochs[0]
  if (!numeric) out.s = Array.from(row.states)
  return out
}

/** A stored row (layout 6, or 5's flat list) as columns; a value of neither shape is refused. */
export function rowOf(value: unknown): LogRow {
  const stored = value as Partial<StoredRow & FlatRow>
  if (Array.isArray(stored.d)) return fromFlat(stored as FlatRow)
  if (!Array.isArray(stored.k) || !(stored.b instanceof Uint8Array)) {
    throw new StrataError(ErrorCodes.INTERNAL, 'a speed log row is neither of layout 6 nor of layout 5')
  }
  const n = stored.k.length
  const one = typeof stored.e === 'number' || n === 0
  const numeric = !Array.isArray(stored.s)
  const words = n * (1 + (one ? 0 : 1) + (numeric ? 1 : 0))
  // Copied once into memory of its own: the decoder's bytes need not be 8-byte aligned.
  const bytes = new Uint8Array(stored.b.length)
  bytes.set(stored.b)
  if (bytes.length !== words * 8 + n * 2 + ((8 - ((n * 2) % 8)) % 8)) {
    throw new StrataError(
      ErrorCodes.INTERNAL,
      `a speed log row's columns hold ${bytes.length} bytes for ${n} deltas`,
    )
  }
  const f = new Float64Array(bytes.buffer, 0, words)
  // Windows, then epochs unless one, then states if numeric (storedRow's order).
  const windows = f.subarray(0, n)
  const epochs = one ? new Float64Array(n).fill(stored.e ?? 0) : f.subarray(n, 2 * n)
  const statesAt = one ? n : 2 * n
  const states = numeric ? f.subarray(statesAt, statesAt + n) : (stored.s as unknown[])
  const at = words
  return {
    p: stored.p as number,
    o: stored.o as number,
    v: stored.v as string[],
    view: new Uint16Array(bytes.buffer, at * 8, n),
    epochs,
    keys: stored.k,
    windows,
    states,
  }
}

function fromFlat(flat: FlatRow): LogRow {
  const n = flat.d.length / STRIDE
  const row = emptyRow(flat.p, flat.o, flat.v, n)
  const keys = row.keys as string[]
  const states = row.states as unknown[]
  for (let i = 0, j = 0; i < n; i++, j += STRIDE) {
    row.view[i] = flat.d[j] as number
    row.epochs[i] = flat.d[j + 1] as number
    keys[i] = flat.d[j + 2] as string
    row.windows[i] = flat.d[j + 3] as number
    states[i] = flat.d[j + 4]
  }
  return row
}
