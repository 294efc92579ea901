// Ingest bursts in `strata start`: while POST /events takes events in faster than a burst rate,
// the roles' threads of the same process (the archiver, the speed layer and its compactor) hold
// their next batch, so the burst gets the machine's cores; they take it up when the burst ends,
// or after a bounded hold.
//
// Why: on two cores, a burst of POST /events in `strata start` cost ~10 µs of CPU an event all
// told inside the window the rate is taken over, of which the roles' threads and the GC of their
// garbage ~4–5 µs (BENCHMARKS.md, Ingest, sessions 17–19): work every event needs (a fold, a
// packed segment line, a state row), but none of it has to be done while the burst is arriving.
// Kafka holds what a role has not read yet; a role that reads it a second later reads the same
// records in the same order (its offsets and commits are its own, unchanged), so exactness and
// durability do not move: an acknowledged POST is in Kafka whether a role has read it or not.
// What moves is freshness during a burst: the speed layer's views are at most about `maxHoldMs`
// behind, plus its catch-up, while ingest runs above the burst rate; below it (the freshness
// bench's 2,000 and 10,000 events/s) nothing is held.
//
// The main thread meters (IngestBurstMeter, on each append of the sink POST /events writes
// to): when the events of the current span reach the burst rate, it writes "bursting until now +
// lingerMs" into a SharedArrayBuffer the role threads read (BurstGate). A role asks the gate
// before each batch; while bursting it waits, polling every `pollMs`, at most `maxHoldMs` from the
// first wait of a hold; a hold is followed by as long again in which nothing is held (however it
// ended), so bursts, sustained or in pulses, leave the roles at least half of the time (they read
// the backlog in larger fetches then). The compactor asks `holding()` only: it is never needed for an answer
// (queries read the log rows it has not folded), and its threshold still folds at once.
import type { RoleReporter } from '../core/role-health.ts'
import type { EventSink } from '../ingest/ingest.ts'

/**
 * Events a second from which POST /events is a burst: above what the roles fold alongside ingest
 * on two cores without falling behind. (50,000 at first, 5× the freshness bench's top rate: a
 * steady 60,000/s, which main folds within ~0.1 s, then left the views 30,000–310,000 records
 * behind for no gain in rate; BENCHMARKS.md, Ingest, session 19 review.)
 */
export const BURST_RATE = 150_000
/** The span over which the meter counts (ms). */
export const BURST_SPAN_MS = 100
/** How long after the last metered burst span the roles stay held (ms). */
export const BURST_LINGER_MS = 250
/** The longest one hold lasts; as long again follows with nothing held (ms). */
export const MAX_HOLD_MS = 2_000
/** How often a held role looks again. */
export const HOLD_POLL_MS = 20

/** The shared word: the epoch ms until which ingest is bursting (0: never). */
export function burstBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(BigInt64Array.BYTES_PER_ELEMENT)
}

export interface MeterOptions {
  rate?: number
  spanMs?: number
  lingerMs?: number
  now?: () => number
}

/** The main thread's side: counts the events ingest takes in and marks a burst. */
export class IngestBurstMeter {
  readonly buffer: SharedArrayBuffer
  readonly #until: BigInt64Array
  readonly #threshold: number
  readonly #spanMs: number
  readonly #lingerMs: number
  readonly #now: () => number
  #spanStart = Number.NEGATIVE_INFINITY
  #count = 0
  #written = 0

  constructor(buffer: SharedArrayBuffer = burstBuffer(), options: MeterOptions = {}) {
    this.buffer = buffer
    this.#until = new BigInt64Array(buffer)
    this.#spanMs = options.spanMs ?? BURST_SPAN_MS
    this.#threshold = Math.max(1, Math.round(((options.rate ?? BURST_RATE) * this.#spanMs) / 1000))
    this.#lingerMs = options.lingerMs ?? BURST_LINGER_MS
    this.#now = options.now ?? Date.now
  }

  /** Ingest is bursting now: the roles' threads hold their batches (bounded, see BurstGate). */
  bursting(): boolean {
    return Number(Atomics.load(this.#until, 0)) > this.#now()
  }

  /** `count` events were taken in now. */
  accepted(count: number): void {
    const now = this.#now()
    if (now - this.#spanStart >= this.#spanMs) {
      this.#spanStart = now
      this.#count = 0
    }
    this.#count += count
    if (this.#count < this.#threshold) return
    const until = now + this.#lingerMs
    // One store per 10 ms at most: a burst is hundreds of appends a second.
    if (until - this.#written < 10) return
    this.#written = until
    Atomics.store(this.#until, 0, BigInt(until))
  }
}

export interface GateOptions {
  maxHoldMs?: number
  pollMs?: number
  now?: () => number
}

/** A role thread's side: whether to hold, and a wait until the burst ends or the hold runs out. */
export class BurstGate {
  readonly #until: BigInt64Array
  readonly #maxHoldMs: number
  readonly #pollMs: number
  readonly #now: () => number
  /** Until when nothing is held after a hold (#free). */
  #freeUntil = 0
  #waiting: Promise<void> | undefined

  constructor(buffer: SharedArrayBuffer, options: GateOptions = {}) {
    this.#until = new BigInt64Array(buffer)
    this.#maxHoldMs = options.maxHoldMs ?? MAX_HOLD_MS
    this.#pollMs = options.pollMs ?? HOLD_POLL_MS
    this.#now = options.now ?? Date.now
  }

  /** Ingest is bursting now (the compactor's question). */
  holding(): boolean {
    return Number(Atomics.load(this.#until, 0)) > this.#now()
  }

  /** Undefined when the role may go on now; else resolves when it may. */
  wait(): Promise<void> | undefined {
    if (this.#waiting) return this.#waiting
    const now = this.#now()
    if (now < this.#freeUntil || !this.holding()) return undefined
    const holdEnd = now + this.#maxHoldMs
    this.#waiting = new Promise<void>((resolve) => {
      const look = () => {
        const at = this.#now()
        if (this.holding() && at < holdEnd) return void setTimeout(look, this.#pollMs)
        this.#free(at, at - now)
        this.#waiting = undefined
        resolve()
      }
      setTimeout(look, this.#pollMs)
    })
    return this.#waiting
  }

  /**
   * After a hold of `heldMs`, nothing is held for as long again, however the hold ended: the
   * roles get at least half of any stretch of bursts. (Free only after a hold that ran out, as
   * first built, bursts of just under maxHoldMs - lingerMs with a pause of just over lingerMs
   * between them held the roles ~95 % of the time: each pause ended the hold and the next burst
   * started a new one.)
   */
  #free(now: number, heldMs: number): void {
    this.#freeUntil = now + heldMs
  }
}

/** What /health and /metrics say of a role held by a burst (RoleReport.held). */
export const HELD_NOTE = `holding its batches while POST /events bursts (at least ${BURST_RATE} events/s): at most ${MAX_HOLD_MS / 1000} s at a time, then as long free; it reads what it skipped from the log after`

/**
 * A held role's reporter: says so while the meter marks a burst, so a lag rising during one is
 * explained on /health (roles[].held) and /metrics (strata_role_held), not only seen.
 */
export function burstAware(reporter: RoleReporter, meter: Pick<IngestBurstMeter, 'bursting'>): RoleReporter {
  return async () => {
    const report = await reporter()
    return meter.bursting() ? { ...report, held: HELD_NOTE } : report
  }
}

/** `sink`, each append metered first (the events are counted as they are taken in). */
export function meteredSink(sink: EventSink, meter: IngestBurstMeter): EventSink {
  return {
    append(records) {
      meter.accepted(records.length)
      return sink.append(records)
    },
  }
}
