// The states of one view whose monoid has a numeric kernel (count, sum, min, max: monoid.ts), as
// the batch fold builds them: per window, a map from key to a slot, and the states held as
// doubles in a Float64Array at those slots. An event then costs one map lookup and an array
// write, where a ViewTable costs a lookup, the monoid's add on a boxed value and a write-back
// (get + set). The rule that advances a state is the monoid's own (its kernel is its add on a
// double), so the states are the ones a ViewTable would hold; toViewTable() hands them over as
// one, for everything after the fold.
//
// Given the key's dictionary id as well (the batch fold does, when the key is a string field of
// the event: CompiledView.keyField), the table finds the group without the map: it remembers the
// slot of each id for the current window and dictionary, in two Int32Arrays indexed by id, valid
// while stamp[id] equals the generation. A new window or dictionary (newKeyIds) starts a new
// generation, which forgets them all at once, in O(1); so does a spill (below), which changes a
// slot. Correct without the ids too: they only skip a lookup whose answer they remember.
//
// A state that stops being one double (a sum that became inexact: an ExactSum) leaves the array
// for a side list of objects, and that group goes on with the monoid's add(); its slot is then
// stored negated in the map (-1 - slot), so the common case checks only the sign.
import type { Monoid, NumericKernel } from './monoid.ts'
import { type FoldTable, ViewTable } from './view-table.ts'

/** The groups of one window. */
class WindowSlots<S> {
  /** Key → slot, or -1 - slot once the group's state is an object (in `objects`). */
  readonly slots = new Map<string, number>()
  /** Keys by slot, in the order their groups appeared (the order a ViewTable's map has). */
  readonly keys: string[] = []
  held = new Float64Array(64)
  objects: Array<S | undefined> = []

  open(key: string, zero: number): number {
    const slot = this.keys.length
    if (slot === this.held.length) {
      const grown = new Float64Array(slot * 2)
      grown.set(this.held)
      this.held = grown
    }
    this.held[slot] = zero
    this.keys.push(key)
    this.slots.set(key, slot)
    return slot
  }
}

export class NumericTable<S> implements FoldTable {
  readonly #monoid: Monoid<S, any, any>
  readonly #kernel: NumericKernel<S>
  readonly #windows = new Map<number, WindowSlots<S>>()
  #lastStart = Number.NaN
  #last: WindowSlots<S> | undefined
  // The slots remembered by key id (see the top of this file).
  #idWindow: WindowSlots<S> | undefined
  #generation = 1
  #stamp = new Int32Array(0)
  #slotOfId = new Int32Array(0)

  constructor(monoid: Monoid<S, any, any>, kernel: NumericKernel<S>) {
    this.#monoid = monoid
    this.#kernel = kernel
  }

  #window(start: number): WindowSlots<S> {
    if (start === this.#lastStart) return this.#last as WindowSlots<S>
    let window = this.#windows.get(start)
    if (window === undefined) {
      window = new WindowSlots<S>()
      this.#windows.set(start, window)
    }
    this.#lastStart = start
    this.#last = window
    return window
  }

  /** The key ids add() is given from now on are of another dictionary, of `size` strings. */
  newKeyIds(size: number): void {
    this.#generation++
    if (size > this.#stamp.length) {
      this.#stamp = new Int32Array(size)
      this.#slotOfId = new Int32Array(size)
    }
  }

  add(start: number, key: string, input: unknown, keyId = -1): void {
    const window = this.#window(start)
    let slot: number
    if (keyId >= 0 && window === this.#idWindow && this.#stamp[keyId] === this.#generation) {
      slot = this.#slotOfId[keyId] as number
    } else {
      const known = window.slots.get(key)
      if (known === undefined) {
        // The group's first input: its state is computed before the group is opened, so that an
        // add() that throws (a sum's or min's function, on a view that skips errors) leaves no
        // group behind, as a ViewTable's add() leaves none.
        this.#first(window, key, input, keyId)
        return
      }
      slot = known
      if (keyId >= 0) this.#remember(window, keyId, slot)
    }
    if (slot >= 0) this.#hold(window, slot, key, this.#kernel.add(window.held[slot] as number, input))
    else {
      const at = -1 - slot
      window.objects[at] = this.#monoid.add(window.objects[at] as S, input)
    }
  }

  // A group opened by its first input (see add): the kernel's add on zero first, then the slot.
  #first(window: WindowSlots<S>, key: string, input: unknown, keyId: number): void {
    const next = this.#kernel.add(this.#kernel.zero, input)
    const slot = window.open(key, this.#kernel.zero)
    if (keyId >= 0) this.#remember(window, keyId, slot)
    this.#hold(window, slot, key, next)
  }

  // The slot of key id `keyId` in `window`, remembered until the window or the ids change.
  #remember(window: WindowSlots<S>, keyId: number, slot: number): void {
    if (window !== this.#idWindow) {
      this.#idWindow = window
      this.#generation++
    }
    this.#stamp[keyId] = this.#generation
    this.#slotOfId[keyId] = slot
  }

  // A plain-number group's next state: kept as a double, or, once it is no longer one, held as an
  // object from then on (its slot negated in `slots`, remembered slots forgotten).
  #hold(window: WindowSlots<S>, slot: number, key: string, next: unknown): void {
    if (typeof next === 'number') window.held[slot] = next
    else {
      window.objects[slot] = next as S
      window.slots.set(key, -1 - slot)
      this.#generation++
    }
  }

  /**
   * add(start, keys.get(keyId), input, keyId), the key's string taken from `keys` (the dictionary
   * the ids index) only when the slot of the id is not remembered: what a fold over a segment's
   * columns calls per event (batch/column-fold.ts).
   */
  addId(start: number, keyId: number, keys: { get(id: number): string }, input: unknown): void {
    const window = start === this.#lastStart ? (this.#last as WindowSlots<S>) : this.#window(start)
    if (window === this.#idWindow && this.#stamp[keyId] === this.#generation) {
      const slot = this.#slotOfId[keyId] as number
      if (slot >= 0) {
        this.#hold(
          window,
          slot,
          window.keys[slot] as string,
          this.#kernel.add(window.held[slot] as number, input),
        )
        return
      }
    }
    this.add(start, keys.get(keyId), input, keyId)
  }

  // What the batch thread does with its tables after the fold (worker.ts), done in place of a
  // ViewTable's: the same monoid calls on the same states in the same order, so the same states,
  // without a Map and a boxed state per group. A result goes back into the array only when the
  // kernel reads it back as the very same state (Object.is); otherwise it is held as an object.

  /** The state of a group at `slot` of `window`. */
  #stateAt(window: WindowSlots<S>, slot: number): S {
    const state = window.objects[slot]
    return state !== undefined ? state : this.#kernel.state(window.held[slot] as number)
  }

  /** Sets the state of the group at `slot` (its key is window.keys[slot]). */
  #setAt(window: WindowSlots<S>, slot: number, state: S): void {
    const held = state === null ? Number.NaN : typeof state === 'number' ? state : undefined
    if (
      held !== undefined &&
      window.objects[slot] === undefined &&
      Object.is(this.#kernel.state(held), state)
    ) {
      window.held[slot] = held
      return
    }
    window.objects[slot] = state
    window.slots.set(window.keys[slot] as string, -1 - slot)
    this.#generation++
  }

  /** Every state replaced by decode(encode(state)), what a trip to another thread gives. */
  roundTrip(): void {
    const monoid = this.#monoid
    for (const window of this.#windows.values()) {
      for (let slot = 0; slot < window.keys.length; slot++) {
        this.#setAt(window, slot, monoid.decode(monoid.encode(this.#stateAt(window, slot)) as never))
      }
    }
  }

  /**
   * `from`'s groups combined into this table's, as worker.ts's combineInto does on ViewTables:
   * windows ascending, keys in `from`'s order, each state taken through encode and decode, then
   * combine(mine, theirs), or theirs where this table has no such group.
   *
   * A window this table has no group of is taken over whole from `from` (which gives it up:
   * `from` is not to be used afterwards), its states taken through encode and decode in place:
   * the same keys in the same order, slots and states as opening each group here would give, with
   * no map built again. Partitions that cover different times (the master dataset's, when the
   * topic is not keyed by the view's key) share few windows.
   */
  combineFrom(from: NumericTable<S>): void {
    const monoid = this.#monoid
    for (const start of [...from.#windows.keys()].sort((a, b) => a - b)) {
      const theirs = from.#windows.get(start) as WindowSlots<S>
      if (!this.#windows.has(start)) {
        from.#windows.delete(start)
        this.#windows.set(start, theirs)
        for (let slot = 0; slot < theirs.keys.length; slot++) {
          this.#setFresh(theirs, slot, monoid.decode(monoid.encode(from.#stateAt(theirs, slot)) as never))
        }
        continue
      }
      const mine = this.#window(start)
      for (let slot = 0; slot < theirs.keys.length; slot++) {
        const key = theirs.keys[slot] as string
        const decoded = monoid.decode(monoid.encode(from.#stateAt(theirs, slot)) as never)
        const known = mine.slots.get(key)
        if (known === undefined) this.#setAt(mine, mine.open(key, this.#kernel.zero), decoded)
        else {
          const at = known < 0 ? -1 - known : known
          this.#setAt(mine, at, monoid.combine(this.#stateAt(mine, at), decoded))
        }
      }
    }
    from.#lastStart = Number.NaN
    from.#last = undefined
    from.#idWindow = undefined
    this.#generation++
  }

  /**
   * Sets the state at `slot` as #setAt would on a group just opened there (no object held yet),
   * whatever the slot held before: in the array when the kernel reads it back as the very same
   * state, else as an object, with the key's map entry to match.
   */
  #setFresh(window: WindowSlots<S>, slot: number, state: S): void {
    const key = window.keys[slot] as string
    const held = state === null ? Number.NaN : typeof state === 'number' ? state : undefined
    if (held !== undefined && Object.is(this.#kernel.state(held), state)) {
      window.held[slot] = held
      if (window.objects[slot] !== undefined) {
        window.objects[slot] = undefined
        window.slots.set(key, slot)
      }
      return
    }
    window.objects[slot] = state
    window.slots.set(key, -1 - slot)
  }

  /** Number of (key, window) groups. */
  get size(): number {
    let n = 0
    for (const window of this.#windows.values()) n += window.keys.length
    return n
  }

  /**
   * Every group with its state encoded, in toViewTable()'s order (windows ascending, keys in the
   * order they appeared), as columns filled in one pass: keys, window starts, and the encoded
   * states in a Float64Array while every one is a number (count, min, max; a sum while exact),
   * else in an array.
   */
  encodedColumns(): { keys: string[]; windows: Float64Array; states: Float64Array | unknown[] } {
    const monoid = this.#monoid
    const size = this.size
    const keys = new Array<string>(size)
    const windows = new Float64Array(size)
    const numbers = new Float64Array(size)
    let others: unknown[] | undefined
    let i = 0
    for (const start of [...this.#windows.keys()].sort((a, b) => a - b)) {
      const window = this.#windows.get(start) as WindowSlots<S>
      const { keys: windowKeys, held, objects } = window
      for (let slot = 0; slot < windowKeys.length; slot++, i++) {
        const state = objects[slot]
        const encoded = monoid.encode(state !== undefined ? state : this.#kernel.state(held[slot] as number))
        keys[i] = windowKeys[slot] as string
        windows[i] = start
        if (others === undefined && typeof encoded === 'number') numbers[i] = encoded
        else {
          if (others === undefined) others = Array.from(numbers.subarray(0, i))
          others[i] = encoded
        }
      }
    }
    return { keys, windows, states: others ?? numbers }
  }

  /** The same groups as a ViewTable: windows ascending, keys in the order they appeared. */
  toViewTable(): ViewTable<S> {
    const table = new ViewTable<S>(this.#monoid)
    const starts = [...this.#windows.keys()].sort((a, b) => a - b)
    for (const start of starts) {
      const window = this.#windows.get(start) as WindowSlots<S>
      const groups = table.groupsIn(start)
      const { keys, held, objects } = window
      for (let slot = 0; slot < keys.length; slot++) {
        const state = objects[slot]
        groups.set(keys[slot], state !== undefined ? state : this.#kernel.state(held[slot]))
      }
    }
    return table
  }
}
