// The rows of a batch view version in the LMDB store (layout 3, store-format.ts): one row per key
// holding its windows, not one row per (key, window).
//
//   ['b', view, version, key, first] → [windows, states]: up to ROW_WINDOWS windows of `key`,
//                                      ascending, the first of them `first`, and their encoded
//                                      states in the same order (`key`: its stored form)
//
// A batch run writes every group of a version at once, and one LMDB put costs about the same
// whatever its value's size: writing a key's windows as one row cut a version's puts by the
// windows per key (4.8 for pageviews_by_url: 48,000 puts → 10,000), and the drop of a retired
// version its deletes. A query of one key reads one row where it read one per window. A key with
// more windows than ROW_WINDOWS (a minute window over a year) takes several rows, so a query of
// a short range never decodes a whole year: it starts at the row that holds `from`.
//
// The entries a version answers are exactly the (key, window, state) it was given: readers cut
// the rows back into entries, in (key, window) order as before.
import type { RootDatabase } from 'lmdb'
import type { EntryColumns, KeyedColumns, ViewEntry } from './store.ts'

type Key = (string | number | boolean)[]
type Db = RootDatabase<unknown, Key>

/** The most windows one row holds. */
export const ROW_WINDOWS = 256

/** One row's value: window starts ascending, and the encoded state of each. */
export type BatchRow = [number[], unknown[]]

/** A version's entries grouped by key, as its stage collects them (later puts of a group win). */
export class BatchRows {
  // Per key, its windows and states in the order they came: one map lookup and two pushes per
  // entry (a map per key cost twice as much); put in order, and deduplicated, only when needed.
  readonly #index = new Map<string, number>()
  readonly #keys: string[] = []
  readonly #windows: number[][] = []
  readonly #states: unknown[][] = []
  // Keyed columns given to an empty collection, kept as they are and grouped by key at rows():
  // by their key numbers, with no map of strings (see addKeyed).
  #keyed: KeyedColumns | undefined

  add(entries: readonly ViewEntry[]): void {
    this.#expand()
    for (const { key, window, state } of entries) this.#add(key, window, state)
  }

  /** The same as add() of the entries the columns hold. */
  addColumns({ keys, windows, states }: EntryColumns): void {
    this.#expand()
    for (let i = 0; i < keys.length; i++) this.#add(keys[i]!, windows[i]!, states[i])
  }

  /**
   * The same as addColumns() of the entries the keyed columns hold. The whole answer of a batch
   * run comes so (one put, worker.ts): its keys are grouped at rows() by a counting sort of their
   * numbers, which keeps each key's entries in the order they came, as add() does. Anything else
   * (a second put, keys not distinct) takes the map, as add() would.
   */
  addKeyed(columns: KeyedColumns): void {
    const { keys, keyIndex, windows, states } = columns
    if (windows.length !== keyIndex.length || states.length !== keyIndex.length) {
      throw new Error('keyed columns of different lengths')
    }
    for (let i = 0; i < keyIndex.length; i++) {
      if (!(keyIndex[i]! < keys.length)) throw new Error(`keyed columns: no key ${keyIndex[i]}`)
    }
    if (this.#keyed === undefined && this.#keys.length === 0 && new Set(keys).size === keys.length) {
      this.#keyed = columns
      return
    }
    this.#expand()
    for (let i = 0; i < keyIndex.length; i++) this.#add(keys[keyIndex[i]!]!, windows[i]!, states[i])
  }

  /** Keyed columns kept by addKeyed, moved into the map before anything else is added. */
  #expand(): void {
    const keyed = this.#keyed
    if (keyed === undefined) return
    this.#keyed = undefined
    const { keys, keyIndex, windows, states } = keyed
    for (let i = 0; i < keyIndex.length; i++) this.#add(keys[keyIndex[i]!]!, windows[i]!, states[i])
  }

  #add(key: string, window: number, state: unknown): void {
    const at = this.#index.get(key)
    if (at === undefined) {
      this.#index.set(key, this.#keys.length)
      this.#keys.push(key)
      this.#windows.push([window])
      this.#states.push([state])
    } else {
      this.#windows[at]!.push(window)
      this.#states[at]!.push(state)
    }
  }

  /** Every key with its rows: [first window, row], windows ascending, ROW_WINDOWS at most each. */
  *rows(): IterableIterator<[string, Array<[number, BatchRow]>]> {
    if (this.#keyed !== undefined) {
      yield* keyedRows(this.#keyed)
      return
    }
    for (let k = 0; k < this.#keys.length; k++) {
      yield [this.#keys[k]!, rowsOf(this.#windows[k]!, this.#states[k]!)]
    }
  }

  get size(): number {
    if (this.#keyed !== undefined) {
      // Keys with no entry have no row.
      const seen = new Uint8Array(this.#keyed.keys.length)
      let n = 0
      for (const k of this.#keyed.keyIndex) {
        if (seen[k] === 1) continue
        seen[k] = 1
        n++
      }
      return n
    }
    return this.#keys.length
  }
}

// The keyed columns' rows, key by key in the order of each key's first entry (the order the map
// of add() gives): a counting sort of the key numbers, stable, so each key's entries keep the
// order they came in; then the same rows as the map's.
function* keyedRows({
  keys,
  keyIndex,
  windows,
  states,
}: KeyedColumns): IterableIterator<[string, Array<[number, BatchRow]>]> {
  const n = keyIndex.length
  const count = new Uint32Array(keys.length)
  for (let i = 0; i < n; i++) count[keyIndex[i]!]!++
  const start = new Uint32Array(keys.length + 1)
  for (let k = 0; k < keys.length; k++) start[k + 1] = start[k]! + count[k]!
  const fill = start.slice(0, keys.length)
  const order = new Uint32Array(n)
  for (let i = 0; i < n; i++) order[fill[keyIndex[i]!]!++] = i
  // Keys in the order of their first entry, as add() meets them.
  const done = new Uint8Array(keys.length)
  for (let i = 0; i < n; i++) {
    const k = keyIndex[i]!
    if (done[k] === 1) continue
    done[k] = 1
    const from = start[k]!
    const size = count[k]!
    const w = new Array<number>(size)
    const s = new Array<unknown>(size)
    for (let j = 0; j < size; j++) {
      const e = order[from + j]!
      w[j] = windows[e]!
      s[j] = states[e]
    }
    yield [keys[k]!, rowsOf(w, s)]
  }
}

/** One key's rows from its windows and states as they came: ascending, later duplicates win. */
function rowsOf(windows: number[], states: unknown[]): Array<[number, BatchRow]> {
  // A run's entries arrive window after window, so a key's windows are mostly ascending.
  if (!ascending(windows)) {
    const byWindow = new Map<number, unknown>()
    for (let i = 0; i < windows.length; i++) byWindow.set(windows[i]!, states[i])
    windows = [...byWindow.keys()].sort((a, b) => a - b)
    states = windows.map((w) => byWindow.get(w))
  }
  if (windows.length <= ROW_WINDOWS) return [[windows[0]!, [windows, states]]]
  const rows: Array<[number, BatchRow]> = []
  for (let at = 0; at < windows.length; at += ROW_WINDOWS) {
    rows.push([windows[at]!, [windows.slice(at, at + ROW_WINDOWS), states.slice(at, at + ROW_WINDOWS)]])
  }
  return rows
}

function ascending(windows: number[]): boolean {
  for (let i = 1; i < windows.length; i++) if (windows[i - 1]! >= windows[i]!) return false
  return true
}

/**
 * The entries of one key in [from, to), in window order, read in the caller's transaction if
 * given: from the last row that starts at or before `from` (it may hold `from`), forward.
 */
export function readKeyRows(
  db: Db,
  view: string,
  version: number,
  stored: string,
  from: number,
  to: number,
  asked: string,
  transaction?: unknown,
): ViewEntry[] {
  let start = from
  for (const key of db.getKeys({
    start: ['b', view, version, stored, from],
    end: ['b', view, version, stored, Number.NEGATIVE_INFINITY],
    reverse: true,
    limit: 1,
    transaction,
  } as never)) {
    start = (key as Key)[4] as number
  }
  const entries: ViewEntry[] = []
  for (const { value } of db.getRange({
    start: ['b', view, version, stored, start],
    end: ['b', view, version, stored, to],
    transaction,
  } as never)) {
    const [windows, states] = value as BatchRow
    for (let i = 0; i < windows.length; i++) {
      const window = windows[i]!
      if (window >= from && window < to) entries.push({ key: asked, window, state: states[i] })
    }
  }
  return entries
}

/** Every entry of a version, in (key, window) order; `full` gives the key of a stored form. */
export function* scanRows(
  db: Db,
  view: string,
  version: number,
  full: (stored: string) => string,
): IterableIterator<ViewEntry> {
  for (const { key, value } of db.getRange({
    start: ['b', view, version],
    end: ['b', view, version + 0.5],
  })) {
    const k = full((key as Key)[3] as string)
    const [windows, states] = value as BatchRow
    for (let i = 0; i < windows.length; i++) yield { key: k, window: windows[i]!, state: states[i] }
  }
}

/** Where an unfinished batch-row migration stands: [view, version, stored key] last moved, or []. */
export const BATCH_MIGRATION: Key = ['migrating', 'b']
const HIGH = '\uffff'

/**
 * Layouts 1 and 2 held one row per (key, window) under the same key shape: rewritten as rows of
 * this layout, whole keys at a time, in transactions of about `chunk` old rows. The two shapes
 * share one key form, so what tells them apart is the cursor (`BATCH_MIGRATION`), written in the
 * transaction that moves the rows before it: rows up to it are new, rows after it old. A crash
 * between chunks resumes there; memory stays one chunk however large the store (all at once,
 * 10 M keys of an hourly view would have been tens of millions of rows in one array).
 * Run while the store is stamped with the current layout and its ['migrating'] marker: no query
 * reads meanwhile.
 */
export async function migrateBatchRows(db: Db, chunk = 50_000): Promise<void> {
  for (;;) {
    const more = await db.transaction(() => migrateBatchChunk(db, chunk))
    if (!more) return
  }
}

/** One chunk of migrateBatchRows, in the caller's transaction; false once nothing is left. */
export function migrateBatchChunk(db: Db, chunk: number): boolean {
  const cursor = db.get(BATCH_MIGRATION) as [string, number, string] | [] | undefined
  if (cursor === undefined) return false
  const start: Key = cursor.length === 0 ? ['b'] : ['b', ...cursor, HIGH]
  const old: Array<{ key: [string, string, number, string, number]; value: unknown }> = []
  let last: [string, number, string] | undefined
  for (const { key, value } of db.getRange({ start, end: ['b', HIGH] })) {
    const k = key as [string, string, number, string, number]
    const same = last !== undefined && last[0] === k[1] && last[1] === k[2] && last[2] === k[3]
    // Whole keys only: a key's rows are rewritten together, so none is left half in each shape.
    if (!same && old.length >= chunk) break
    old.push({ key: k, value })
    if (!same) last = [k[1], k[2], k[3]]
  }
  for (const { key } of old) db.remove(key)
  let group: BatchRows | undefined
  let prefix: Key | undefined
  const flush = () => {
    if (group === undefined || prefix === undefined) return
    for (const [stored, rows] of group.rows()) {
      for (const [first, row] of rows) db.put([...prefix, stored, first], row)
    }
  }
  for (const { key, value } of old) {
    const [, view, version, stored, window] = key
    if (prefix === undefined || prefix[1] !== view || prefix[2] !== version) {
      flush()
      prefix = ['b', view, version]
      group = new BatchRows()
    }
    group!.add([{ key: stored, window, state: value }])
  }
  flush()
  if (last === undefined) db.remove(BATCH_MIGRATION)
  else db.put(BATCH_MIGRATION, last)
  return last !== undefined
}
