// The buffers a batch's records travel in to a fold thread (remote-window.ts), kept for reuse
// (decision 0011, addendum of session 11). A fresh buffer per batch (~700 KiB while catching up)
// cost both threads: the main thread's allocation counted as external memory (more garbage
// collections), and the kernel cleared its pages again at first touch in the thread. Here a
// buffer goes to the thread transferred (detached on this side), stays there while the window
// that folded it may be rebuilt from it, and comes back transferred (detached there) in the
// answer to the window's `drop`: at any moment one thread alone can read it, so a buffer reused
// for a later batch is never read for an earlier one.

/** The smallest buffer handed out: a live stream's small batches share one size. */
const MIN_BYTES = 64 * 1024

/** Free buffers kept, at most this many bytes in all (more are left to the garbage collector). */
export const POOLED_BYTES = 32 * 1024 * 1024

export class BatchBuffers {
  /** Free buffers by size class (log2 of their byteLength). */
  readonly #free = new Map<number, ArrayBuffer[]>()
  #pooled = 0
  /** Buffers handed out that were new (tests, and the pool's own accounting). */
  created = 0

  /** A buffer of at least `bytes` (a power of two, at least MIN_BYTES): a free one, else new. */
  take(bytes: number): ArrayBuffer {
    const size = Math.max(MIN_BYTES, 2 ** Math.ceil(Math.log2(Math.max(1, bytes))))
    const free = this.#free.get(size)?.pop()
    if (free !== undefined) {
      this.#pooled -= size
      return free
    }
    this.created++
    return new ArrayBuffer(size)
  }

  /** A buffer handed back (by the thread that last had it). Detached or odd-sized ones are dropped. */
  give(buffer: ArrayBuffer): void {
    const size = buffer.byteLength
    if (size < MIN_BYTES || (size & (size - 1)) !== 0) return
    if (this.#pooled + size > POOLED_BYTES) return
    let list = this.#free.get(size)
    if (list === undefined) {
      list = []
      this.#free.set(size, list)
    }
    list.push(buffer)
    this.#pooled += size
  }

  /** Bytes of free buffers kept. */
  get pooled(): number {
    return this.#pooled
  }
}
