// The log's end offsets, which lag is measured against: lag[p] = end[p] − asOf[p], the events
// in partition p that were accepted but that an answer does not cover yet.
//
// The provider is whatever knows the end of the log: the embedded log's endOffsets(), or Kafka
// admin listOffsets (a broker round trip). Answers must not wait for a broker on every query (the
// query p99 target), so the offsets are cached for `maxAgeMs` and, once stale, served stale while
// one refresh runs (single flight). maxAgeMs 0 means "always ask" (tests, and callers who want
// exact lag over speed). A failing or hung provider never fails a query: lag is then `null`.
import { isStrataError } from '../../core/errors.ts'

/** Per partition, the offset after the last record of the log (Kafka: the high watermark). */
export type EndOffsetsProvider = () => Promise<number[]>

export interface LogOffsets {
  /** The end offsets, or null when the provider failed. */
  endOffsets: number[] | null
  /** Why the provider failed: a Strata error code, or a generic word (foreign messages may hold secrets). */
  error?: string
  /** With STRATA_ERR_RETENTION_OUTRAN: records Kafka deleted before the speed layer read them. */
  lost?: number
  /** When they were read, epoch ms. */
  at: number
}

export interface EndOffsetsCacheOptions {
  /** Age under which cached offsets are used without asking again. Default 1000 ms; 0 (or any
   * value that is not a positive number) asks every time. */
  maxAgeMs?: number
  /** A provider call taking longer than this counts as failed. Default 5000 ms. */
  timeoutMs?: number
  /**
   * How long an answer waits for the first reading (nothing cached yet) before it goes without
   * (lag null) while the reading goes on. Default 250 ms: a serving process that starts while a
   * broker is down must still answer queries, which need no broker.
   */
  coldWaitMs?: number
}

export class EndOffsetsCache {
  readonly #provider: EndOffsetsProvider | undefined
  readonly #maxAgeMs: number
  readonly #timeoutMs: number
  readonly #coldWaitMs: number
  #last: LogOffsets | undefined
  /**
   * When #last was read, on the monotonic clock (performance.now): its age must not follow the
   * wall clock (`at`), which can step back (NTP, a resumed VM) and kept a reading "fresh", the lag
   * frozen on every path, for as long as the step.
   */
  #lastRead = 0
  #inflight: Promise<LogOffsets> | undefined

  constructor(provider: EndOffsetsProvider | undefined, options: EndOffsetsCacheOptions = {}) {
    this.#provider = provider
    // Anything but a positive age is "always ask", 0 (`|| 0`: NaN too), so get() and current()
    // agree: with NaN get() asked every time while current() gave the last reading, never stale.
    this.#maxAgeMs = Math.max((options.maxAgeMs ?? 1000) || 0, 0)
    this.#timeoutMs = options.timeoutMs ?? 5000
    this.#coldWaitMs = options.coldWaitMs ?? 250
  }

  /** False when no provider was given: lag is unknown and the log is not part of health. */
  get configured(): boolean {
    return this.#provider !== undefined
  }

  /**
   * The end offsets; undefined without a provider. `fresh` waits for a new reading when the cached
   * one is stale (health checks); otherwise a stale reading is returned while it is refreshed.
   */
  async get(options: { fresh?: boolean } = {}): Promise<LogOffsets | undefined> {
    if (this.#provider === undefined) return undefined
    const last = this.#last
    if (last !== undefined && this.#maxAgeMs > 0 && !this.#stale()) return last
    const refresh = this.#refresh()
    if (last !== undefined && this.#maxAgeMs > 0 && !options.fresh) return last
    if (last === undefined && this.#maxAgeMs > 0 && !options.fresh) {
      let timer: NodeJS.Timeout | undefined
      const cold = new Promise<LogOffsets>((resolve) => {
        timer = setTimeout(
          () => resolve({ endOffsets: null, error: 'pending', at: Date.now() }),
          this.#coldWaitMs,
        )
      })
      return Promise.race([refresh, cold]).finally(() => clearTimeout(timer))
    }
    return refresh
  }

  /**
   * The reading get() would give now without waiting, read synchronously, with get()'s effect: a
   * stale reading is returned while one refresh runs (single flight), as get() returns it.
   * Undefined when get() would wait (nothing cached yet, or maxAgeMs 0) or has no provider.
   * The query fast path sends a kept body with this reading: requiring a fresh one (a first build
   * did) sent every ask to the store read from the moment a reading aged past maxAgeMs until the
   * broker's answer came back — counted under load: 25–100% of the kept asks of a warm-up, 57–77%
   * at 5,000 req/s — each one answered with the same stale reading by get() anyway
   * (BENCHMARKS.md, "Query", session 12).
   */
  current(): LogOffsets | undefined {
    const last = this.#last
    if (last === undefined || this.#maxAgeMs === 0) return undefined
    if (this.#stale()) void this.#refresh()
    return last
  }

  /** Whether the cached reading is older than maxAgeMs. */
  #stale(): boolean {
    return performance.now() - this.#lastRead > this.#maxAgeMs
  }

  #refresh(): Promise<LogOffsets> {
    this.#inflight ??= this.#read().finally(() => {
      this.#inflight = undefined
    })
    return this.#inflight
  }

  async #read(): Promise<LogOffsets> {
    const provider = this.#provider as EndOffsetsProvider
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), this.#timeoutMs)
    })
    let reading: LogOffsets
    try {
      const offsets = await Promise.race([provider(), timeout])
      reading = { endOffsets: [...offsets], at: Date.now() }
    } catch (error) {
      reading = { endOffsets: null, error: describe(error), at: Date.now() }
      // ?.: a provider may reject with anything, undefined too; #read must not throw (nobody awaits
      // a refresh started by current() or by get() serving a stale reading: the process would end).
      const lost = (error as { lost?: unknown } | null | undefined)?.lost
      if (typeof lost === 'number') reading.lost = lost
    } finally {
      clearTimeout(timer)
    }
    this.#last = reading
    this.#lastRead = performance.now()
    return reading
  }
}

function describe(error: unknown): string {
  if (isStrataError(error)) return error.code
  return error instanceof Error && error.message === 'timeout' ? 'timeout' : 'unavailable'
}

/**
 * Lag per partition: events in the log that `asOf` does not cover. A partition missing from
 * `asOf` is covered up to 0. Clamped at 0, because cached end offsets can be older than asOf.
 * Null when the end offsets are unknown.
 */
export function lagOf(asOf: readonly number[], offsets: LogOffsets | undefined): Array<number> | null {
  const end = offsets?.endOffsets
  if (end == null) return null
  return end.map((e, p) => Math.max(0, e - (asOf[p] ?? 0)))
}

/**
 * Whether two readings give every answer the same lag (lagOf reads only the end offsets): the
 * same reading, the same end offsets, or none in both. A body kept with its lag (query-route.ts,
 * query-fast-path.ts) stays true across readings that agree: each refresh is a new reading, and
 * without this every key's body was serialized again after each one (once a second).
 */
export function sameLag(a: LogOffsets | undefined, b: LogOffsets | undefined): boolean {
  if (a === b) return true
  const x = a?.endOffsets
  const y = b?.endOffsets
  if (x == null || y == null) return x == null && y == null
  if (x.length !== y.length) return false
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false
  return true
}
