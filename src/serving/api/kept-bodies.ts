// The bodies the query fast path keeps per URL (query-fast-path.ts, decision 0018's session 11
// addendum), bounded by what they hold (URL characters and body bytes): oldest URL first.
//
// A body is kept as its UTF-8 bytes in a buffer of its own, outside the V8 heap (decision 0018,
// addendum "session 16"): under ingest every ask after a speed commit keeps a new body that lives
// until its URL is asked again (seconds), so as a string it was copied by the scavenges it
// outlived, promoted, and left in old space for a mark-compact to trace and move. Its bytes in a
// buffer are neither copied nor moved, and the socket writes them without encoding them again.
import type { LogOffsets } from './log-offsets.ts'

export interface KeptBody {
  view: unknown
  /** The store's snapshot version the answer was read under. */
  version: number
  log: LogOffsets | undefined
  /** The body's UTF-8 bytes, in a buffer of their own (keptBytes): never a slice of a pool. */
  body: Buffer
}

/**
 * `body`'s UTF-8 bytes in a buffer of its own. Not Buffer.from: a short string's bytes would be a
 * slice of an 8 KiB pool shared with other buffers, and keeping the slice would keep the pool.
 */
export function keptBytes(body: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(body))
  bytes.write(body, 0, 'utf8')
  return bytes
}

export class KeptBodies {
  readonly #limit: number
  readonly #byUrl = new Map<string, KeptBody>()
  #chars = 0

  /** `limit`: the most held, URL characters and body bytes. */
  constructor(limit: number) {
    this.#limit = limit
  }

  get(url: string): KeptBody | undefined {
    return this.#byUrl.get(url)
  }

  /** The URL characters and body bytes held (tests). */
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
