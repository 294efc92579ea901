// The dashboard's recent past: a ring buffer of timestamped points, bounded twice — by count (a
// fixed array, allocated once, the oldest point overwritten when full) and by age (points older
// than `spanMs` before the newest are not returned and are dropped as new ones come). The count
// bound is what holds memory; the age bound is what the page means by "the last hour".
//
// Points arrive in time order. A point older than the newest (the wall clock stepped back) starts
// the history over: a chart must not draw a line back in time.

export interface Timed {
  /** Epoch ms. */
  at: number
}

export class History<T extends Timed> {
  readonly #slots: Array<T | undefined>
  readonly #spanMs: number
  /** Index of the oldest point. */
  #start = 0
  #size = 0

  constructor(capacity: number, spanMs: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`capacity ${capacity}`)
    this.#slots = new Array(capacity)
    this.#spanMs = spanMs
  }

  get capacity(): number {
    return this.#slots.length
  }

  get size(): number {
    return this.#size
  }

  push(point: T): void {
    const newest = this.#at(this.#size - 1)
    if (newest !== undefined && point.at < newest.at) this.clear()
    if (this.#size === this.#slots.length) {
      this.#slots[this.#start] = point
      this.#start = (this.#start + 1) % this.#slots.length
    } else {
      this.#slots[(this.#start + this.#size) % this.#slots.length] = point
      this.#size++
    }
    this.#dropOlderThan(point.at - this.#spanMs)
  }

  /** The points of the last `spanMs` before `now`, oldest first (a copy). */
  points(now = Date.now()): T[] {
    this.#dropOlderThan(now - this.#spanMs)
    return Array.from({ length: this.#size }, (_, i) => this.#at(i) as T)
  }

  clear(): void {
    this.#slots.fill(undefined)
    this.#start = 0
    this.#size = 0
  }

  #at(i: number): T | undefined {
    return i < 0 || i >= this.#size ? undefined : this.#slots[(this.#start + i) % this.#slots.length]
  }

  #dropOlderThan(cutoff: number): void {
    while (this.#size > 0 && (this.#slots[this.#start] as T).at < cutoff) {
      this.#slots[this.#start] = undefined
      this.#start = (this.#start + 1) % this.#slots.length
      this.#size--
    }
  }
}
