// The background compactor of the LMDB store's speed log (lmdb-speed-log.ts): folds logged
// commits into the state rows, in passes of one write transaction each, while the speed layer
// goes on committing. Queries read the log rows it has not folded yet, so when it runs changes
// only how much a query reads, never its answer.
//
// When: in the time the process has to spare. Every `checkMs` while the log holds deltas, the
// compactor looks at the event loop: when no commit landed for `quietMs`, or the loop was busy
// less than `busyAbove` of the last span of `quietMs`, it folds one pass of `passDeltas` deltas
// (and goes on at once while no commit comes). Both are judged over `quietMs` (1 s), not one
// look: a worker catching up commits in bursts, one partition's fetch at a time, and with one
// look (100 ms) as the span the compactor took the gaps between bursts for spare time and ran
// inside the catch-up (a third of the main thread's CPU at 12 partitions with fold threads:
// decision 0011, "Fold threads"). While the speed layer catches up the loop is busy and commits
// keep landing, so the log grows and is folded once it has caught up — unless it grows past
// `threshold` deltas, which are folded at once whatever the load (it bounds what a query reads
// and what the disk holds twice). How much: while commits land (one came within `quietMs`) and
// the log holds at most one whole pass, about `livePassMs` (5 ms) of deltas per pass, at the time
// per delta measured on earlier passes: a pass's transaction callback runs on this thread, the
// speed layer's, and a live commit queued behind it waits for all of it (passes of up to 23,000
// deltas held it 20–190 ms under load: BENCHMARKS.md, Freshness, session 11); the log is drained
// in such passes back to back, each after a turn of the event loop, down to one pass. When quiet,
// or when the log holds more (a catch-up left it), `passDeltas`. A pass merges the deltas of
// every commit it takes into one write per group (a catch-up's deltas rarely meet, so bigger passes measured no cheaper:
// docs/decisions/0011-speed-delta-log.md).
//
// After a catch-up (session 19): a log of more than one whole pass, while what commits is live
// traffic (at most a tenth of a whole pass logged a span), is drained whatever the loop's
// utilization, in passes of `drainPassMs` back to back; and while commits land, whole passes run
// only past the threshold. Waiting for spare time left a catch-up's log for as long as traffic
// came (decision 0011, "The drain after a catch-up").
//
// The compactor needs each view's combine; it learns them from the commits of this process
// (commitSpeed's `combine`), each for the definition (code hash) the commit carried: another
// process may since have redefined the view, and its deltas are not for this combine. A log left by a crash is folded after the next commit teaches it.
// It never waits on a view it does not know (loggedDeltaFate in speed-rules.ts): the deltas of a
// view no longer recorded are dropped with it, and those of a view another process runs are left
// in the log, in place, for that process to fold, while everything else is folded past them.
import { performance } from 'node:perf_hooks'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import type { RootDatabase } from 'lmdb'
import { compactLog, logKeys } from './lmdb-speed-log.ts'
import { type CombineEncoded, deltaCount, type SpeedCommit } from './store.ts'

type Key = (string | number | boolean)[]

export interface CompactorOptions {
  /** Deltas the log may hold, however busy the process (default 2,000,000). 0: fold after every commit. */
  threshold?: number
  /**
   * Deltas folded per whole pass, one write transaction (default 200,000, 50,000 until session 18):
   * a pass of random new keys dirties about one B-tree leaf each while the pass is small beside
   * the tree (at 10 M keys ~45,000 leaves for 50,000 deltas), and every dirtied leaf is a 4 KiB
   * page LMDB writes at the commit; a bigger pass shares leaves between more of its keys. At 10 M
   * keys 200,000 cut the bytes written per event ~4× and the CPU per event of bench/memory.ts
   * ~15% (docs/decisions/0011-speed-delta-log.md, "Bigger whole passes").
   */
  passDeltas?: number
  /**
   * While commits are landing (one came within `quietMs`), a pass folds about this many ms of
   * deltas instead of `passDeltas` (default 5; the pass size follows the measured time per delta):
   * the pass's transaction callback runs on the committing thread, and a live commit queued
   * behind it waits for all of it (BENCHMARKS.md, Freshness, session 11).
   */
  livePassMs?: number
  /**
   * After a catch-up, while live traffic commits (the log holds more than one whole pass and the
   * commits of the last `quietMs` logged at most a tenth of one), a pass folds about this many ms
   * of deltas (default 20), back to back, each after a turn of the event loop, whether or not the
   * loop looks busy: decision 0011, "The drain after a catch-up".
   */
  drainPassMs?: number
  /** How often the compactor looks whether the process has time to spare (ms, default 100). */
  checkMs?: number
  /** Event-loop utilization (0-1) above which the process is busy (default 0.5); 1: never busy. */
  busyAbove?: number
  /** The span over which "no commit" and the loop's utilization are judged (ms, default 10 × checkMs). */
  quietMs?: number
  /** False: fold only when compactSpeed is called (tests drive it). Default true. */
  auto?: boolean
  /**
   * True while the process has better use for its time (`strata start` while POST /events
   * bursts, runtime/ingest-burst.ts): no pass starts on spare time then; past `threshold` one
   * still does. Default: never.
   */
  held?: () => boolean
}

type Utilization = ReturnType<typeof performance.eventLoopUtilization>

/** Deltas per whole pass unless told (CompactorOptions.passDeltas). */
export const DEFAULT_PASS_DELTAS = 200_000
/** The smallest pass while commits land, whatever the measured time per delta. */
export const MIN_LIVE_PASS = 500
/** Passes of fewer deltas do not update the time per delta (a transaction's fixed cost). */
const MEASURED_FROM = 200

export class SpeedCompactor {
  readonly #db: RootDatabase<unknown, Key>
  /** Per view, the definition this process's commits carried and its combine. */
  readonly #combiners = new Map<string, { codeHash: string; combine: CombineEncoded }>()
  readonly #threshold: number
  readonly #passDeltas: number
  readonly #livePassMs: number
  readonly #drainPassMs: number
  /** Deltas logged since #spanStart, and over the last whole span (a catch-up logs many). */
  #spanLogged = 0
  #lastSpanLogged = 0
  /** Measured ms per delta folded, the pass's callback only (a moving average); a guess until one ran. */
  #msPerDelta = 0.005
  readonly #checkMs: number
  readonly #busyAbove: number
  readonly #quietMs: number
  readonly #auto: boolean
  readonly #held: (() => boolean) | undefined
  readonly #onError: (error: unknown) => void
  /** Deltas logged and not yet folded, as this process knows (a pass finds other processes' rows). */
  #logged = 0
  #running: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined
  #loop: Utilization = performance.eventLoopUtilization()
  #spanStart = performance.now()
  /** Utilization over the last whole span (1 until one has passed: busy). */
  #busy = 1
  #lastCommitAt = performance.now()
  #commits = 0
  #closed = false

  constructor(db: RootDatabase<unknown, Key>, options: CompactorOptions, onError: (error: unknown) => void) {
    this.#db = db
    this.#threshold = options.threshold ?? 2_000_000
    this.#passDeltas = options.passDeltas ?? DEFAULT_PASS_DELTAS
    this.#livePassMs = options.livePassMs ?? 5
    this.#drainPassMs = options.drainPassMs ?? 20
    this.#checkMs = options.checkMs ?? 100
    this.#busyAbove = options.busyAbove ?? 0.5
    this.#quietMs = options.quietMs ?? 10 * this.#checkMs
    this.#auto = options.auto ?? true
    this.#held = options.held
    this.#onError = onError
    // A log left by an earlier run (a crash, a close before it was folded) is folded once a
    // commit of this process teaches the combines.
    if (this.pendingRows() > 0) this.#logged = Number.MAX_SAFE_INTEGER
  }

  /** A commit landed: learn its combine; fold at once past the threshold, else when there is time. */
  committed(commit: SpeedCommit, combine: CombineEncoded): void {
    for (const [view, codeHash] of Object.entries(commit.hashes))
      this.#combiners.set(view, { codeHash, combine })
    const deltas = deltaCount(commit.deltas)
    this.#logged += deltas
    this.#spanLogged += deltas
    this.#commits++
    this.#lastCommitAt = performance.now()
    if (!this.#auto || this.#closed || this.#logged === 0) return
    if (this.#logged > this.#threshold) this.#start(() => this.#logged > this.#threshold)
    this.#arm(this.#checkMs)
  }

  /** Folds the whole log now, with `combine` (or, without one, the combines commits taught). */
  async compactAll(combine?: CombineEncoded): Promise<number> {
    await this.#running
    let folded = 0
    for (;;) {
      const { rows } = await compactLog(
        this.#db,
        (view, codeHash) => combine ?? this.#learned(view, codeHash),
        this.#passDeltas,
      )
      if (rows === 0) break
      folded += rows
    }
    this.#logged = 0
    return folded
  }

  /** The combine this process learned for that definition of the view, if it runs it. */
  #learned(view: string, codeHash: string | undefined): CombineEncoded | undefined {
    const known = this.#combiners.get(view)
    return known !== undefined && known.codeHash === codeHash ? known.combine : undefined
  }

  /** Log rows not folded yet (a cursor over their keys, no value read): store.speedLogRows. */
  pendingRows(): number {
    let rows = 0
    for (const _ of logKeys(this.#db, undefined)) rows++
    return rows
  }

  /** Resolves when no pass is running (a pass holds LMDB's write lock only inside its transaction). */
  async settled(): Promise<void> {
    await this.#running
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    await this.#running
  }

  #arm(ms: number): void {
    if (this.#timer !== undefined || this.#closed) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#look()
    }, ms)
    this.#timer.unref()
  }

  // Has the process time to spare? Then fold while no commit lands; else look again later.
  #look(): void {
    if (this.#logged <= 0 || this.#closed) return
    const now = performance.now()
    if (now - this.#spanStart >= this.#quietMs) {
      this.#busy = performance.eventLoopUtilization(this.#loop).utilization
      this.#loop = performance.eventLoopUtilization()
      this.#spanStart = now
      this.#lastSpanLogged = this.#spanLogged
      this.#spanLogged = 0
    }
    const quiet = now - this.#lastCommitAt >= this.#quietMs
    if (this.#running === undefined && this.#draining()) {
      // Whatever the loop's utilization: the queries of a long log keep the loop busy, and a
      // compactor waiting for spare time left it (and its cost) for as long as traffic came.
      this.#startUnlessHeld(() => this.#draining())
    } else if (this.#running === undefined && (quiet || this.#busy < this.#busyAbove)) {
      const commits = this.#commits
      // While commits land each pass is small (#passSize): a log of at most one whole pass is
      // drained in such passes back to back, each after a turn of the event loop, down to one
      // pass (queries read what is left); a longer one, one whole pass per look. Not the drain's
      // rule (#draining): that one is for a log past one whole pass under live traffic, and goes
      // on whatever the loop's utilization and however many commits land meanwhile.
      this.#startUnlessHeld(() =>
        keepCompacting(
          this.#commits === commits,
          this.#logged,
          this.#passSize(performance.now()),
          this.#passDeltas,
        ),
      )
    }
    this.#arm(this.#checkMs)
  }

  /**
   * A catch-up left a log of more than one whole pass, and what commits now is live traffic: at
   * most a tenth of a whole pass logged over the last span and this one so far (a catch-up begun
   * meanwhile logs that in a few commits, and the drain stops at once).
   */
  #draining(): boolean {
    const live = this.#passDeltas / 10
    return this.#logged > this.#passDeltas && this.#lastSpanLogged <= live && this.#spanLogged <= live
  }

  #passSize(now: number): number {
    return compactionPassSize({
      // While commits land, whole passes only past the threshold: one of 200,000 new keys held
      // the thread ~1 s right after a catch-up (decision 0011, "The drain after a catch-up").
      draining: this.#draining() || this.#logged <= this.#threshold,
      drainPassMs: this.#drainPassMs,
      sinceCommitMs: now - this.#lastCommitAt,
      quietMs: this.#quietMs,
      passDeltas: this.#passDeltas,
      livePassMs: this.#livePassMs,
      msPerDelta: this.#msPerDelta,
      logged: this.#logged,
    })
  }

  /**
   * The hold, in one place for both folds a look starts (the drain and spare time): while `held`
   * says POST /events is bursting in this process (runtime/ingest-burst.ts) no such pass starts,
   * and a run of them stops before its next pass. Past the threshold committed() folds whatever
   * `held` says (#start), so the hold never lets the log grow without bound.
   */
  #startUnlessHeld(more: () => boolean): void {
    const held = () => this.#held?.() === true
    if (held()) return
    this.#start(() => more() && !held())
  }

  /** Folds passes while `more()` says so and the log holds deltas. */
  #start(more: () => boolean): void {
    if (this.#running !== undefined) return
    this.#running = this.#drain(more)
      .catch((error) => this.#onError(error))
      .finally(() => {
        this.#running = undefined
      })
  }

  async #drain(more: () => boolean): Promise<void> {
    do {
      await yieldToLoop()
      if (this.#closed) return
      let held = 0
      let folded = 0
      const { rows, deltas } = await compactLog(
        this.#db,
        (view, codeHash) => this.#learned(view, codeHash),
        this.#passSize(performance.now()),
        (ms, count) => {
          held = ms
          folded = count
        },
      )
      // Nothing to do: an empty log, or only deltas left for another process.
      if (rows === 0) {
        this.#logged = 0
        return
      }
      this.#msPerDelta = nextMsPerDelta(this.#msPerDelta, held, folded)
      this.#logged = Math.max(0, this.#logged - deltas)
    } while (this.#logged > 0 && more())
  }
}

/**
 * The time per delta the live passes are sized by, after a pass that held the thread `heldMs` and
 * folded `folded` deltas: a moving average over passes of MEASURED_FROM folded deltas or more.
 * Only folded deltas count: dropped ones (a view redefined, an epoch collected) and ones kept for
 * another process cost next to nothing, and counting them would make a log of them look cheap and
 * the next live passes, of real deltas, hold the thread for long.
 */
export function nextMsPerDelta(msPerDelta: number, heldMs: number, folded: number): number {
  if (folded < MEASURED_FROM) return msPerDelta
  return 0.7 * msPerDelta + 0.3 * (heldMs / folded)
}

/**
 * The deltas of the next pass: while commits land (one came within quietMs) and the log holds at
 * most one whole pass, about livePassMs of them at the measured time per delta, at least
 * MIN_LIVE_PASS (the log still drains on a slow or loaded machine) and at most passDeltas. When
 * none came for quietMs, or the log holds more (a catch-up left it, or it passed the threshold),
 * passDeltas: each transaction has a cost of its own that grows with the store (the free list
 * LMDB rewrites at each commit: decision 0011, "The dirty-page list"), so a big log is not
 * drained in small passes.
 */
export function compactionPassSize(p: {
  /**
   * A log of more than one whole pass folded while commits land, not past the threshold (a
   * catch-up's log drained under live traffic: SpeedCompactor's #draining): drainPassMs of deltas.
   */
  draining?: boolean
  drainPassMs?: number
  sinceCommitMs: number
  quietMs: number
  passDeltas: number
  livePassMs: number
  msPerDelta: number
  /** Deltas in the log: past one whole pass (after a catch-up, past the threshold) whole passes. */
  logged: number
}): number {
  if (p.sinceCommitMs >= p.quietMs) return p.passDeltas
  if (p.logged > p.passDeltas && !p.draining) return p.passDeltas
  const ms = p.logged > p.passDeltas ? (p.drainPassMs ?? p.livePassMs) : p.livePassMs
  const fits = Math.round(ms / p.msPerDelta)
  return Math.min(p.passDeltas, Math.max(MIN_LIVE_PASS, Number.isFinite(fits) ? fits : p.passDeltas))
}

/**
 * After a pass of a look that found time to spare: go on while no commit came, or while the log
 * still holds more than the next pass (`passSize`, small while commits land) and at most one
 * whole pass (`passDeltas`): a log kept longer costs every query that reads it after a commit. A
 * log past one whole pass (a catch-up left it, or a crash) is folded one whole pass per look while
 * commits land, as before: back to back, each whole pass would hold the speed thread for all of
 * its deltas until the log was down to one pass, inside a catch-up begun meanwhile too (only a
 * look asks whether the loop is busy).
 */
export function keepCompacting(
  noCommitSince: boolean,
  logged: number,
  passSize: number,
  passDeltas: number,
): boolean {
  return noCommitSince || (logged > passSize && logged <= passDeltas)
}
