// What the dashboard shows, read by two clocks and shared by every open page.
//
// While a page watches: one full reading per interval (default 1 s) however many pages watch —
// the log's end, the speed layer, every view's status and the batch runs, from the store.
//
// Always, watched or not: a background reading every historyIntervalMs (default 10 s) that keeps
// the last hour of events per second, so a page opens on an hour of history instead of an empty
// chart. A serving replica on PostgreSQL must not query its store every second for an empty
// room, so it reads only the totals the rates come from:
//   the log's end offsets  the embedded log's in-memory ends, or one Kafka listOffsets round trip;
//                          with Kafka the provider also reads the speed layer's positions, one row
//                          per partition, to tell retention outrunning them (runtime/
//                          source-loss.ts) — one small read per 10 s, the reason for 10 and not 5;
//   the speed layer's totals  in-memory counters, when it runs in this process;
//   ingested               this server's own counter.
// The dashboard itself reads nothing from the store in the background: views (a snapshot each),
// batch runs and the speed layer's offsets (lag) stay with the watched readings. Role states are
// in memory, but a history of them would need its own chart; they come with each watched sample
// (`roles`). While a page watches, the background clock skips (the watched readings record the
// history at their finer interval).
//
// The history (history.ts) holds at most one point per interval over the span: 3,601 points of
// { at, rates } when a page watched all hour (about 170 bytes each in V8, measured: 0.6 MB
// whatever the partition count; about 290 KB of JSON in a page's first message), 361 when none
// did (about 30 KB).
//
// Rates are differences of totals between two readings, divided by the time between them:
//   in      records appended to the log per second (sum of the end offsets): every producer
//           counts, POST /events, the demo traffic, kcat or any Kafka client;
//   ingested  events accepted by this server's POST /events per second;
//   folded  records the speed layer folded per second, when it runs in this process.
// A total that goes missing or backwards (provider failure, a restarted speed layer) gives no
// rate for that tick rather than a negative or invented one.

import type { RoleHealth, RoleState } from '../../core/role-health.ts'
import { scrubSecrets } from '../../core/secrets.ts'
import type { BatchViewMeta, Store } from '../../store/store.ts'
import type { EndOffsetsCache, LogOffsets } from '../api/log-offsets.ts'
import type { ViewIndex } from '../api/view-status.ts'
import { readViewStatus, type ViewStatus } from '../api/view-status.ts'
import type { SpeedStatsProvider } from '../metrics.ts'
import { History } from './history.ts'

export interface SamplerSources {
  store?: Store
  views: ViewIndex
  /** Read once per sample: a cached reading would lag the speed offsets read after it. */
  offsets: EndOffsetsCache
  speedStats?: SpeedStatsProvider
  /** Events accepted by POST /events since the server started. */
  ingested?: () => number
  roles?: RoleHealth
}

/** A point of the history that seeds a newly opened page's events-per-second chart. */
export interface SamplePoint {
  /** Epoch ms. */
  at: number
  rates: { in: number | null; ingested: number | null; folded: number | null }
}

export interface RoleLine {
  role: string
  state: RoleState
  reason?: string
  /** A worker of another process, seen through its heartbeat: "pid N on host, heard N s ago". */
  where?: string
}

export interface Sample extends SamplePoint {
  totals: { log: number | null; ingested: number | null; folded: number | null }
  /** Per partition, the log's end offset; null when the log could not be read. */
  endOffsets: number[] | null
  logError?: string
  /** Per partition: end offset − the speed layer's offset (null where either is unknown). */
  lag: Array<number | null>
  /** Per partition, the speed layer's next offset to consume (null where it never ran). */
  speed: Array<number | null>
  views: ViewStatus[]
  /** The latest batch runs, newest first. */
  batches: Array<BatchViewMeta & { durationMs: number }>
  /** Why part of the sample could not be read (the rest is still sent). */
  error?: string
  /** Every role of this process with its state, and why when not running (core/role-health.ts). */
  roles: RoleLine[]
  /** The roles of this process that are not running well, with why. */
  troubles?: RoleLine[]
}

export interface SamplerOptions {
  /** Time between two readings while a page watches (default 1000 ms). */
  intervalMs?: number
  /** Time between two background readings while no page watches (default 10 000 ms). */
  historyIntervalMs?: number
  /** How far back the history goes (default one hour). */
  historySpanMs?: number
  /** Most points kept (default: one per intervalMs over the span, 3,601 for an hour). */
  historySize?: number
  batchRuns?: number
}

export type SampleListener = (sample: Sample) => void

export const HISTORY_SPAN_MS = 3_600_000

/** The states a role passes through on a good day: no banner for them. */
const FINE: ReadonlySet<RoleState> = new Set(['running', 'catching-up', 'starting'])

export class DashboardSampler {
  readonly #sources: SamplerSources
  readonly #intervalMs: number
  readonly #historyIntervalMs: number
  readonly #batchRuns: number
  readonly #listeners = new Set<SampleListener>()
  readonly #history: History<SamplePoint>
  /** The watched clock, while a page watches. */
  #timer: NodeJS.Timeout | undefined
  /** The background clock, from construction to close(). */
  #background: NodeJS.Timeout | undefined
  #reading: Promise<unknown> | undefined
  #previous: { at: number; totals: Sample['totals'] } | undefined
  #last: Sample | undefined
  #closed = false

  constructor(sources: SamplerSources, options: SamplerOptions = {}) {
    this.#sources = sources
    this.#intervalMs = options.intervalMs ?? 1000
    this.#historyIntervalMs = options.historyIntervalMs ?? 10_000
    this.#batchRuns = options.batchRuns ?? 10
    const spanMs = options.historySpanMs ?? HISTORY_SPAN_MS
    const finest = Math.min(this.#intervalMs, this.#historyIntervalMs)
    this.#history = new History(options.historySize ?? Math.ceil(spanMs / finest) + 1, spanMs)
    // unref: the history must never keep a process alive; close() clears it.
    this.#background = setInterval(() => void this.#backgroundTick(), this.#historyIntervalMs)
    this.#background.unref()
  }

  get intervalMs(): number {
    return this.#intervalMs
  }

  get historyIntervalMs(): number {
    return this.#historyIntervalMs
  }

  get listeners(): number {
    return this.#listeners.size
  }

  /** Whether the background clock runs (from construction until close()). */
  get sampling(): boolean {
    return this.#background !== undefined
  }

  /** The points of the last hour, oldest first. */
  history(): SamplePoint[] {
    return this.#history.points()
  }

  /**
   * Adds a listener of every new sample; starts the watched readings if it is the first. Returns
   * the function that removes it (they stop with the last one; the background clock goes on).
   */
  subscribe(listener: SampleListener): () => void {
    if (this.#closed) return () => undefined
    this.#listeners.add(listener)
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => void this.#tick(), this.#intervalMs)
      this.#timer.unref()
    }
    return () => {
      this.#listeners.delete(listener)
      if (this.#listeners.size === 0) this.#stop()
    }
  }

  /**
   * A sample for a page that just connected: the last tick's when it is recent, else a fresh
   * reading that is not recorded (a rate over a few milliseconds would be noise).
   */
  async current(): Promise<Sample> {
    const last = this.#last
    if (last !== undefined && Date.now() - last.at < 2 * this.#intervalMs) return last
    return this.#read(false)
  }

  close(): void {
    this.#closed = true
    this.#listeners.clear()
    this.#stop()
    clearInterval(this.#background)
    this.#background = undefined
  }

  #stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
  }

  async #tick(): Promise<void> {
    // A slow store must not pile readings up: skip the tick while one is in flight.
    if (this.#reading !== undefined) return
    const reading = this.#read(true)
    this.#reading = reading
    try {
      const sample = await reading
      if (this.#closed) return
      for (const listener of this.#listeners) listener(sample)
    } finally {
      this.#reading = undefined
    }
  }

  async #backgroundTick(): Promise<void> {
    if (this.#closed || this.#timer !== undefined || this.#reading !== undefined) return
    // A reading that throws (a provider outside our code) leaves a gap, never an unhandled
    // rejection: nobody awaits this clock.
    const reading = this.#readTotals()
      .then(({ at, totals }) => this.#record(at, totals))
      .catch(() => undefined)
    this.#reading = reading
    try {
      await reading
    } finally {
      this.#reading = undefined
    }
  }

  /** The totals the rates come from, and nothing the dashboard reads from the store (see above). */
  async #readTotals(): Promise<{
    at: number
    totals: Sample['totals']
    log: LogOffsets | undefined
    errors: string[]
  }> {
    const { offsets, speedStats, ingested } = this.#sources
    const at = Date.now()
    const errors: string[] = []
    const log = await offsets.get()
    const endOffsets = log?.endOffsets ?? null
    let folded: number | null = null
    if (speedStats) {
      try {
        const stats = await speedStats()
        folded = stats.folded
      } catch {
        errors.push('speed layer stats unavailable')
      }
    }
    const totals = {
      log: endOffsets === null ? null : endOffsets.reduce((a, b) => a + b, 0),
      ingested: ingested ? ingested() : null,
      folded,
    }
    return { at, totals, log, errors }
  }

  /**
   * Rates since the previous recorded reading, kept in the history to a hundredth of an event per
   * second (a chart needs no more, and 17 digits would triple the size of a page's first message).
   */
  #record(at: number, totals: Sample['totals']): SamplePoint['rates'] {
    const rates = this.#ratesSince(at, totals)
    const round = (r: number | null) => (r === null ? null : Math.round(r * 100) / 100)
    if (!this.#closed) {
      this.#history.push({
        at,
        rates: { in: round(rates.in), ingested: round(rates.ingested), folded: round(rates.folded) },
      })
    }
    return rates
  }

  async #read(record: boolean): Promise<Sample> {
    const { store, views } = this.#sources
    const { at, totals, log, errors } = await this.#readTotals()
    const endOffsets = log?.endOffsets ?? null
    let speed: Array<number | null> = []
    let statuses: ViewStatus[] = []
    let batches: Sample['batches'] = []
    const reports = (await this.#sources.roles?.reports()) ?? []
    const stops = reports.flatMap((r) => r.viewStops ?? [])
    if (store) {
      try {
        for (const sp of await store.speedPartitions()) speed[sp.partition] = sp.offset
        for (const view of views.all())
          statuses.push(await readViewStatus(store, view, log, undefined, stops))
        batches = (await store.batchHistory(this.#batchRuns)).map((run) => ({
          ...run,
          durationMs: run.completedAt - run.startedAt,
        }))
      } catch (error) {
        errors.push(`store: ${scrubSecrets((error as Error).message)}`)
        statuses = []
      }
    }
    const partitions = Math.max(endOffsets?.length ?? 0, speed.length)
    speed = Array.from({ length: partitions }, (_, p) => speed[p] ?? null)
    const lag = Array.from({ length: partitions }, (_, p) => {
      const end = endOffsets?.[p]
      const consumed = speed[p]
      return end === undefined || consumed === null || consumed === undefined
        ? null
        : Math.max(0, end - consumed)
    })
    const rates = record ? this.#record(at, totals) : { in: null, ingested: null, folded: null }
    const roles = reports.map(
      (r): RoleLine => ({
        role: r.role,
        state: r.state,
        ...(r.reason ? { reason: scrubSecrets(r.reason) } : {}),
        ...(r.instance
          ? {
              where: `pid ${r.instance.pid} on ${r.instance.host}, heard ${Math.round((r.heardAgoMs ?? 0) / 1000)} s ago`,
            }
          : {}),
      }),
    )
    const sample: Sample = {
      at,
      rates,
      lag,
      totals,
      endOffsets,
      speed,
      views: statuses,
      batches,
      roles,
    }
    if (log?.error !== undefined)
      sample.logError =
        log.lost === undefined ? log.error : `${log.error}: ${log.lost} records deleted unread`
    if (errors.length > 0) sample.error = errors.join('; ')
    const troubles = roles.filter((r) => !FINE.has(r.state))
    if (troubles.length > 0) sample.troubles = troubles
    if (record) this.#last = sample
    return sample
  }

  #ratesSince(at: number, totals: Sample['totals']): SamplePoint['rates'] {
    const previous = this.#previous
    this.#previous = { at, totals }
    const rate = (now: number | null, before: number | null | undefined): number | null => {
      if (previous === undefined || now === null || before === null || before === undefined) return null
      const seconds = (at - previous.at) / 1000
      if (seconds <= 0 || now < before) return null
      return (now - before) / seconds
    }
    return {
      in: rate(totals.log, previous?.totals.log),
      ingested: rate(totals.ingested, previous?.totals.ingested),
      folded: rate(totals.folded, previous?.totals.folded),
    }
  }
}
