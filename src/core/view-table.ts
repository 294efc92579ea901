// The states of one view, per window and key, in memory: what a batch worker folds a partition
// into, and what the speed layer folds an epoch into before writing it to the store. Grouped by
// window start first, then by key, so the hot path never builds a string per event: events
// mostly arrive in the same window as the one before, and that window's map is cached.
import type { Monoid } from './monoid.ts'

/**
 * What a compiled view folds an event into (compiled-view.ts): the states of its (window, key)
 * groups, each group's state advanced by the monoid's add(). A ViewTable holds any state; the
 * batch fold uses a NumericTable for monoids whose state is one double (numeric-table.ts).
 */
export interface FoldTable {
  /**
   * Folds `input` into the group (start, key), creating it from zero() when missing. `keyId`,
   * when not -1, names `key` by its id in the dictionary of the batch fold's current segment
   * (CompiledView.keyField): a table may find the group by it instead of by the string.
   */
  add(start: number, key: string, input: unknown, keyId: number): void
}

export class ViewTable<S> implements FoldTable {
  readonly #monoid: Monoid<S, any, any>
  readonly #windows = new Map<number, Map<string, S>>()
  #lastStart = Number.NaN
  #last: Map<string, S> | undefined

  constructor(monoid: Monoid<S, any, any>) {
    this.#monoid = monoid
  }

  /** The states of every key in the window that starts at `start` (created when missing). */
  groupsIn(start: number): Map<string, S> {
    if (start === this.#lastStart) return this.#last as Map<string, S>
    let groups = this.#windows.get(start)
    if (groups === undefined) {
      groups = new Map()
      this.#windows.set(start, groups)
    }
    this.#lastStart = start
    this.#last = groups
    return groups
  }

  add(start: number, key: string, input: unknown, _keyId = -1): void {
    const groups = this.groupsIn(start)
    const prev = groups.get(key)
    const next = this.#monoid.add(prev === undefined ? this.#monoid.zero() : prev, input)
    if (next !== prev) groups.set(key, next)
  }

  get(key: string, windowStart: number): S | undefined {
    return this.#windows.get(windowStart)?.get(key)
  }

  set(key: string, windowStart: number, state: S): void {
    this.groupsIn(windowStart).set(key, state)
  }

  /** Number of (key, window) groups. */
  get size(): number {
    let n = 0
    for (const groups of this.#windows.values()) n += groups.size
    return n
  }

  /** Window starts present, ascending. */
  windowStarts(): number[] {
    return [...this.#windows.keys()].sort((a, b) => a - b)
  }

  /** Every group as [key, windowStart, state], windows ascending. */
  *entries(): IterableIterator<[string, number, S]> {
    for (const start of this.windowStarts()) {
      for (const [key, state] of this.#windows.get(start) as Map<string, S>) yield [key, start, state]
    }
  }

  /** Every group, in the order of entries(), without an array per group (the speed layer's commits). */
  forEachGroup(visit: (key: string, windowStart: number, state: S) => void): void {
    for (const start of this.windowStarts()) {
      const groups = this.#windows.get(start) as Map<string, S>
      groups.forEach((state, key) => {
        visit(key, start, state)
      })
    }
  }

  /** The windows of one key as [windowStart, state], ascending. */
  windowsOf(key: string): Array<[number, S]> {
    const out: Array<[number, S]> = []
    for (const start of this.windowStarts()) {
      const state = this.#windows.get(start)?.get(key)
      if (state !== undefined) out.push([start, state])
    }
    return out
  }

  /** Combines every group of `other` into this table; `other` is left as it was. */
  merge(other: ViewTable<S>): this {
    const m = this.#monoid
    for (const [key, start, state] of other.entries()) {
      const groups = this.groupsIn(start)
      const mine = groups.get(key)
      groups.set(key, m.combine(mine === undefined ? m.zero() : mine, state))
    }
    return this
  }

  clear(): void {
    this.#windows.clear()
    this.#lastStart = Number.NaN
    this.#last = undefined
  }
}
