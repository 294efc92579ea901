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
      slot = known === undefined ? window.open(key, this.#kernel.zero) : known
      if (keyId >= 0) {
        if (window !== this.#idWindow) {
          this.#idWindow = window
          this.#generation++
        }
        this.#stamp[keyId] = this.#generation
        this.#slotOfId[keyId] = slot
      }
    }
    if (slot >= 0) {
      const next = this.#kernel.add(window.held[slot] as number, input)
      if (typeof next === 'number') window.held[slot] = next
      else {
        window.objects[slot] = next
        window.slots.set(key, -1 - slot)
        this.#generation++
      }
    } else {
      const at = -1 - slot
      window.objects[at] = this.#monoid.add(window.objects[at] as S, input)
    }
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
