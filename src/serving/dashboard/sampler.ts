// What the dashboard shows live, read once per interval and shared by every open page: one
// reading per tick however many pages watch, and none at all while nobody does (a serving
// replica on PostgreSQL must not query its store every second for an empty room).
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
import type { EndOffsetsCache } from '../api/log-offsets.ts'
import type { ViewIndex } from '../api/view-status.ts'
import { readViewStatus, type ViewStatus } from '../api/view-status.ts'
import type { SpeedStatsProvider } from '../metrics.ts'

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

/** The part of a sample kept in the history that seeds a newly opened page's charts. */
export interface SamplePoint {
  /** Epoch ms. */
  at: number
  rates: { in: number | null; ingested: number | null; folded: number | null }
  /** Per partition: end offset − the speed layer's offset (null where either is unknown). */
  lag: Array<number | null>
}

export interface Sample extends SamplePoint {
  totals: { log: number | null; ingested: number | null; folded: number | null }
  /** Per partition, the log's end offset; null when the log could not be read. */
  endOffsets: number[] | null
  logError?: string
  /** Per partition, the speed layer's next offset to consume (null where it never ran). */
  speed: Array<number | null>
  views: ViewStatus[]
  /** The latest batch runs, newest first. */
  batches: Array<BatchViewMeta & { durationMs: number }>
  /** Why part of the sample could not be read (the rest is still sent). */
  error?: string
  /** The roles of this process that are not running well, with why (core/role-health.ts). */
  troubles?: Array<{ role: string; state: RoleState; reason?: string }>
}

export interface SamplerOptions {
  intervalMs?: number
  /** Points kept for newly opened pages (default 300: five minutes at one per second). */
  historySize?: number
  batchRuns?: number
}

export type SampleListener = (sample: Sample) => void

export class DashboardSampler {
  readonly #sources: SamplerSources
  readonly #intervalMs: number
  readonly #historySize: number
  readonly #batchRuns: number
  readonly #listeners = new Set<SampleListener>()
  readonly #history: SamplePoint[] = []
  #timer: NodeJS.Timeout | undefined
  #reading: Promise<Sample> | undefined
  #previous: { at: number; totals: Sample['totals'] } | undefined
  #last: Sample | undefined
  #closed = false

  constructor(sources: SamplerSources, options: SamplerOptions = {}) {
    this.#sources = sources
    this.#intervalMs = options.intervalMs ?? 1000
    this.#historySize = options.historySize ?? 300
    this.#batchRuns = options.batchRuns ?? 10
  }

  get intervalMs(): number {
    return this.#intervalMs
  }

  get listeners(): number {
    return this.#listeners.size
  }

  /** The recent points, oldest first. */
  history(): SamplePoint[] {
    this.#forgetIfIdle()
    return [...this.#history]
  }

  /**
   * Adds a listener of every new sample; starts sampling if it is the first. Returns the
   * function that removes it (sampling stops with the last one).
   */
  subscribe(listener: SampleListener): () => void {
    if (this.#closed) return () => undefined
    this.#forgetIfIdle()
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

  /** After a pause with nobody watching, old points would draw a line across the gap: drop them. */
  #forgetIfIdle(): void {
    const last = this.#history.at(-1)
    if (this.#timer === undefined && last !== undefined && Date.now() - last.at > 5 * this.#intervalMs) {
      this.#history.length = 0
      this.#previous = undefined
      this.#last = undefined
    }
  }

  /**
   * A sample for a page that just connected: the last tick's when it is recent, else a fresh
   * reading that is not recorded (a rate over a few milliseconds would be noise).
   */
  async current(): Promise<Sample> {
    this.#forgetIfIdle()
    const last = this.#last
    if (last !== undefined && Date.now() - last.at < 2 * this.#intervalMs) return last
    return this.#read(false)
  }

  close(): void {
    this.#closed = true
    this.#listeners.clear()
    this.#stop()
  }

  #stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
  }

  async #tick(): Promise<void> {
    // A slow store must not pile readings up: skip the tick while one is in flight.
    if (this.#reading !== undefined) return
    this.#reading = this.#read(true)
    try {
      const sample = await this.#reading
      if (this.#closed) return
      for (const listener of this.#listeners) listener(sample)
    } finally {
      this.#reading = undefined
    }
  }

  async #read(record: boolean): Promise<Sample> {
    const { store, views, offsets, speedStats, ingested } = this.#sources
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
    let speed: Array<number | null> = []
    let statuses: ViewStatus[] = []
    let batches: Sample['batches'] = []
    if (store) {
      try {
        for (const sp of await store.speedPartitions()) speed[sp.partition] = sp.offset
        for (const view of views.all()) statuses.push(await readViewStatus(store, view, log))
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
    const totals = {
      log: endOffsets === null ? null : endOffsets.reduce((a, b) => a + b, 0),
      ingested: ingested ? ingested() : null,
      folded,
    }
    const rates = record ? this.#ratesSince(at, totals) : { in: null, ingested: null, folded: null }
    const sample: Sample = {
      at,
      rates,
      lag,
      totals,
      endOffsets,
      speed,
      views: statuses,
      batches,
    }
    if (log?.error !== undefined)
      sample.logError =
        log.lost === undefined ? log.error : `${log.error}: ${log.lost} records deleted unread`
    if (errors.length > 0) sample.error = errors.join('; ')
    const troubles = ((await this.#sources.roles?.reports()) ?? [])
      .filter((r) => r.state !== 'running' && r.state !== 'catching-up' && r.state !== 'starting')
      .map((r) => ({ role: r.role, state: r.state, ...(r.reason ? { reason: scrubSecrets(r.reason) } : {}) }))
    if (troubles.length > 0) sample.troubles = troubles
    if (record) {
      this.#last = sample
      this.#history.push({ at, rates, lag })
      if (this.#history.length > this.#historySize) this.#history.shift()
    }
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
