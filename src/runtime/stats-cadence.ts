// How often a role thread posts its stats to the main thread (role-thread-main.ts). Every
// `busyMs` (100) while the role handles batches, so /health, /metrics and the dashboard read
// positions at most that old; once it has had no batch for `idleMs` (1 s), every `idleMs`, so an
// idle role still reports (its fetch trouble, a stuck fold, a segment cut on age: at most 1 s
// old) without waking, building its stats and posting them ten times a second. Session 20's
// profile of an idle `strata start` (BENCHMARKS.md, Query): the two role threads' 100-ms reports
// were ~35% of their CPU and the main thread's message handling on top, all of it charged to
// the requests the process serves. A batch after an idle stretch (activity()) is reported at the
// next busy tick, not at the end of the idle interval.

/** An idle role's stats interval: how old /health's reading of an idle role's stats may be. */
export const IDLE_STATS_EVERY_MS = 1000

export interface StatsCadenceTimers {
  setTimeout(run: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
  now(): number
}

const systemTimers: StatsCadenceTimers = {
  setTimeout: (run, ms) => {
    const handle = setTimeout(run, ms)
    // The role's own work (its fetch loop, its group membership) keeps the thread alive.
    handle.unref()
    return handle
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  now: () => performance.now(),
}

export class StatsCadence {
  readonly #report: () => void
  readonly #busyMs: number
  readonly #idleMs: number
  readonly #timers: StatsCadenceTimers
  #timer: unknown
  #dueAt = Number.POSITIVE_INFINITY
  #lastActivity: number
  #stopped = false

  constructor(report: () => void, busyMs: number, idleMs: number, timers: StatsCadenceTimers = systemTimers) {
    this.#report = report
    this.#busyMs = busyMs
    this.#idleMs = Math.max(busyMs, idleMs)
    this.#timers = timers
    this.#lastActivity = timers.now()
  }

  /** Reports now and then keeps reporting until stop(). */
  start(): void {
    this.#tick()
  }

  /** The role handled a batch: its stats move, so the next report comes within `busyMs`. */
  activity(): void {
    const now = this.#timers.now()
    this.#lastActivity = now
    if (!this.#stopped && this.#dueAt - now > this.#busyMs) this.#arm(this.#busyMs)
  }

  /** True while reports come every `idleMs` (no batch for that long). */
  get idle(): boolean {
    return this.#timers.now() - this.#lastActivity >= this.#idleMs
  }

  stop(): void {
    this.#stopped = true
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #tick(): void {
    this.#timer = undefined
    if (this.#stopped) return
    this.#report()
    this.#arm(this.idle ? this.#idleMs : this.#busyMs)
  }

  #arm(ms: number): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer)
    this.#dueAt = this.#timers.now() + ms
    this.#timer = this.#timers.setTimeout(() => this.#tick(), ms)
  }
}
