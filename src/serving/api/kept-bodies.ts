// The bodies the query fast path keeps per URL (query-fast-path.ts, decision 0018's session 11
// addendum), bounded by the text they hold (URLs and bodies): oldest URL first.
import type { LogOffsets } from './log-offsets.ts'

export interface KeptBody {
  view: unknown
  /** The store's snapshot version the answer was read under. */
  version: number
  log: LogOffsets | undefined
  body: string
  /** Its length in UTF-8 bytes (the content-length: Buffer.byteLength was ~2 µs a request). */
  bytes: number
}

export class KeptBodies {
  readonly #limit: number
  readonly #byUrl = new Map<string, KeptBody>()
  #chars = 0

  /** `limit`: the most characters held. */
  constructor(limit: number) {
    this.#limit = limit
  }

  get(url: string): KeptBody | undefined {
    return this.#byUrl.get(url)
  }

  /** The characters held (tests). */
  get chars(): number {
    return this.#chars
  }

  get size(): number {
    return this.#byUrl.size
  }

  /**
   * Keeps `entry` as `url`'s body, dropping the oldest URLs' past the bound. What is counted is
   * what the map holds: the URL (its key: up to 512 characters, longer than many bodies) and the
   * body. A body over the whole bound is not kept (nor the URL's older one): keeping it would
   * first drop every other URL's body, then itself.
   */
  keep(url: string, entry: KeptBody): void {
    const before = this.#byUrl.get(url)
    if (before !== undefined) {
      this.#chars -= url.length + before.body.length
      this.#byUrl.delete(url)
    }
    const chars = url.length + entry.body.length
    if (chars > this.#limit) return
    this.#byUrl.set(url, entry)
    this.#chars += chars
    for (const [old, { body }] of this.#byUrl) {
      if (this.#chars <= this.#limit) break
      this.#byUrl.delete(old)
      this.#chars -= old.length + body.length
    }
  }
}
