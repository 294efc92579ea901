// The states of one view for one epoch of a pending window (pending-window.ts): what a ViewTable
// holds, the same groups in the same order with the same states, found without a Map per window.
//
// Why: a pending window folds ~20,000 records, and when the topic is not keyed by the view's key
// (the benchmark keyed by user, counting by url) most of them meet their key for the first time
// in that window: a ViewTable's fresh Map per window then grows from empty, rehashing as it
// doubles, and takes a get and a set per event (session 17: ViewTable.add ~21–26 % of the fold
// thread). Here a key is first named by a dictionary that outlives the windows (KeyDictionary: a
// Map from key to a small id, per thread, whose entries are found, not inserted, once the keys
// recur), and the group is found from (window, id) in an open-addressing table of integers.
//
// Exactness: a group is the pair (window start, key string); the id only stands for the key
// while the dictionary's epoch is the one the table indexed with. When the dictionary is reset
// (it holds at most `limit` keys: key spaces that never recur must not grow it without bound),
// every table re-indexes its groups under the new ids before its next add. The order of groups is
// a ViewTable's: windows ascending, and in each, keys in the order their first input came. A
// group is opened only after the monoid's add() of its first input returned, as a ViewTable's
// add() sets nothing when add() throws. test/speed/window-table.property.test.ts compares it with
// a ViewTable on random inputs.
import type { Monoid } from '../core/monoid.ts'
import type { FoldTable } from '../core/view-table.ts'

/** Keys by small ids, shared by the tables of a thread (see the top of this file). */
export class KeyDictionary {
  #ids = new Map<string, number>()
  #keys: string[] = []
  /** Bumped by each reset: ids of an older epoch name other keys, or none. */
  epoch = 0
  #full = false
  limit: number

  constructor(limit = 1 << 18) {
    this.limit = limit
  }

  get size(): number {
    return this.#keys.length
  }

  /**
   * The id of `key`, given one when new. Never resets (a caller holds ids of this epoch): when
   * full, it marks the dictionary to be reset by the next resetIfFull().
   */
  idOf(key: string): number {
    const id = this.#ids.get(key)
    if (id !== undefined) return id
    const next = this.#keys.length
    this.#ids.set(key, next)
    this.#keys.push(key)
    if (next + 1 >= this.limit) this.#full = true
    return next
  }

  /** The key string the dictionary holds for `id` (equal to the one it was given). */
  keyOf(id: number): string {
    return this.#keys[id] as string
  }

  /** Forgets every key when full (a new epoch). */
  resetIfFull(): void {
    if (!this.#full) return
    this.#full = false
    this.#ids = new Map()
    this.#keys = []
    this.epoch++
  }

  /** Makes room for `live` keys re-indexed at once: the limit at least twice that. */
  roomFor(live: number): void {
    if (this.limit < 2 * live) this.limit = 2 * live
  }
}

/** The dictionary of this thread's pending windows (each worker thread has its own module). */
export const threadKeys = new KeyDictionary()

// Cells of the index: [id + 1 (0: empty), window index, group index].
const CELL = 3

export class WindowTable<S> implements FoldTable {
  readonly #monoid: Monoid<S, any, any>
  readonly #dict: KeyDictionary
  #epoch: number
  /** Window starts by window index, and each window's groups in the order they appeared. */
  readonly #starts: number[] = []
  readonly #groupsOf: number[][] = []
  readonly #windowOf = new Map<number, number>()
  #lastStart = Number.NaN
  #lastWindow = -1
  /** Per group: its key (the dictionary's string), window index, id and state. */
  readonly #keys: string[] = []
  #groupWindow: number[] = []
  #groupId: number[] = []
  readonly #states: S[] = []
  #cells = new Int32Array(CELL * 256)
  #mask = 255

  constructor(monoid: Monoid<S, any, any>, dict: KeyDictionary = threadKeys) {
    this.#monoid = monoid
    this.#dict = dict
    this.#epoch = dict.epoch
  }

  #window(start: number): number {
    if (start === this.#lastStart) return this.#lastWindow
    let w = this.#windowOf.get(start)
    if (w === undefined) {
      w = this.#starts.length
      this.#starts.push(start)
      this.#groupsOf.push([])
      this.#windowOf.set(start, w)
    }
    this.#lastStart = start
    this.#lastWindow = w
    return w
  }

  add(start: number, key: string, input: unknown, _keyId = -1): void {
    const dict = this.#dict
    dict.resetIfFull()
    if (this.#epoch !== dict.epoch) this.#reindex()
    const w = this.#window(start)
    const id = dict.idOf(key)
    const cells = this.#cells
    const mask = this.#mask
    let h = (Math.imul(id, 0x9e3779b1) ^ Math.imul(w, 0x85ebca77)) & mask
    for (;;) {
      const at = h * CELL
      const tag = cells[at]!
      if (tag === 0) break
      if (tag === id + 1 && cells[at + 1] === w) {
        const g = cells[at + 2]!
        this.#states[g] = this.#monoid.add(this.#states[g] as S, input)
        return
      }
      h = (h + 1) & mask
    }
    // The group's first input: add() first, so that one that throws opens no group.
    const state = this.#monoid.add(this.#monoid.zero(), input)
    const g = this.#keys.length
    this.#keys.push(dict.keyOf(id))
    this.#groupWindow.push(w)
    this.#groupId.push(id)
    this.#states.push(state)
    this.#groupsOf[w]!.push(g)
    const at = h * CELL
    cells[at] = id + 1
    cells[at + 1] = w
    cells[at + 2] = g
    if (2 * (g + 1) > mask) this.#rehash(2 * (mask + 1))
  }

  // The index rebuilt at `size` cells from the groups' ids and windows.
  #rehash(size: number): void {
    const cells = new Int32Array(CELL * size)
    const mask = size - 1
    const ids = this.#groupId
    const windows = this.#groupWindow
    for (let g = 0; g < ids.length; g++) {
      const id = ids[g]!
      const w = windows[g]!
      let h = (Math.imul(id, 0x9e3779b1) ^ Math.imul(w, 0x85ebca77)) & mask
      while (cells[h * CELL] !== 0) h = (h + 1) & mask
      cells[h * CELL] = id + 1
      cells[h * CELL + 1] = w
      cells[h * CELL + 2] = g
    }
    this.#cells = cells
    this.#mask = mask
  }

  // The dictionary was reset: every group's key named again by an id of the new epoch.
  #reindex(): void {
    const dict = this.#dict
    dict.roomFor(this.#keys.length)
    for (let g = 0; g < this.#keys.length; g++) this.#groupId[g] = dict.idOf(this.#keys[g]!)
    // Room for every table's live keys after they all re-index: no reset again at once.
    dict.roomFor(dict.size)
    this.#epoch = dict.epoch
    this.#rehash(this.#mask + 1)
  }

  /** Number of (key, window) groups. */
  get size(): number {
    return this.#keys.length
  }

  /** Every group, windows ascending, keys in the order they appeared: a ViewTable's order. */
  forEachGroup(visit: (key: string, windowStart: number, state: S) => void): void {
    const order = this.#starts.map((_, w) => w).sort((a, b) => this.#starts[a]! - this.#starts[b]!)
    for (const w of order) {
      const start = this.#starts[w]!
      for (const g of this.#groupsOf[w]!) visit(this.#keys[g]!, start, this.#states[g] as S)
    }
  }
}
