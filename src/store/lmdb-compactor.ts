// The background compactor of the LMDB store's speed log (lmdb-speed-log.ts): folds logged
// commits into the state rows, in passes of one write transaction each, while the speed layer
// goes on committing. Queries read the log rows it has not folded yet, so when it runs changes
// only how much a query reads, never its answer.
//
// When: a commit that leaves more than `threshold` deltas in the log starts a drain, which folds
// passes of `passDeltas` deltas, yielding to the event loop between passes, until the log holds
// no more than `threshold`; a log left below it is folded once commits stop for `idleMs`. A
// pass merges the deltas of every commit it takes into one write per group, so the fewer the
// passes, the fewer the B-tree writes (measured in docs/decisions/0011-speed-delta-log.md).
//
// The compactor needs each view's combine; it learns them from the commits of this process
// (commitSpeed's `combine`). A log left by a crash is folded after the next commit teaches it.
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import type { RootDatabase } from 'lmdb'
import { compactLog, logKeys } from './lmdb-speed-log.ts'
import type { CombineEncoded, SpeedCommit } from './store.ts'

type Key = (string | number | boolean)[]

export interface CompactorOptions {
  /** Deltas the log may hold before a drain starts (default 200,000). 0: after every commit. */
  threshold?: number
  /** Deltas folded per pass, one write transaction (default 100,000). */
  passDeltas?: number
  /** A log below the threshold is folded after this long without a commit (ms, default 200). */
  idleMs?: number
  /** False: fold only when compactSpeed is called (tests drive it). Default true. */
  auto?: boolean
}

export class SpeedCompactor {
  readonly #db: RootDatabase<unknown, Key>
  readonly #combiners = new Map<string, CombineEncoded>()
  readonly #threshold: number
  readonly #passDeltas: number
  readonly #idleMs: number
  readonly #auto: boolean
  readonly #onError: (error: unknown) => void
  /** Deltas logged by this process and not yet folded (other processes' are found by a pass). */
  #logged = 0
  #running: Promise<void> | undefined
  #idle: NodeJS.Timeout | undefined
  /** A drain asked for while one runs. */
  #next: number | undefined
  #closed = false

  constructor(db: RootDatabase<unknown, Key>, options: CompactorOptions, onError: (error: unknown) => void) {
    this.#db = db
    this.#threshold = options.threshold ?? 200_000
    this.#passDeltas = options.passDeltas ?? 100_000
    this.#idleMs = options.idleMs ?? 200
    this.#auto = options.auto ?? true
    this.#onError = onError
    // A log left by an earlier run (a crash, a close before the idle fold) is folded by the
    // first drain after a commit teaches the combines.
    if (this.pendingRows() > 0) this.#logged = Number.MAX_SAFE_INTEGER
  }

  /** A commit landed: learn its combine, and fold when the log has grown past the threshold. */
  committed(commit: SpeedCommit, combine: CombineEncoded): void {
    for (const view of Object.keys(commit.hashes)) this.#combiners.set(view, combine)
    this.#logged += commit.deltas.length
    if (!this.#auto || this.#closed) return
    if (this.#logged > this.#threshold) this.#start(this.#threshold)
    // Whatever is left once commits stop is folded then.
    clearTimeout(this.#idle)
    this.#idle = setTimeout(() => this.#start(0), this.#idleMs)
    this.#idle.unref()
  }

  /** Folds the whole log now, with `combine` (or, without one, the combines commits taught). */
  async compactAll(combine?: CombineEncoded): Promise<number> {
    await this.#running
    let folded = 0
    for (;;) {
      const { rows } = await compactLog(
        this.#db,
        (view) => combine ?? this.#combiners.get(view),
        this.#passDeltas,
      )
      if (rows === 0) break
      folded += rows
    }
    this.#logged = 0
    return folded
  }

  /** Log rows not folded yet (for tests and benchmarks). */
  pendingRows(): number {
    let rows = 0
    for (const _ of logKeys(this.#db, undefined)) rows++
    return rows
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#idle)
    await this.#running
  }

  #start(leave: number): void {
    if (this.#running !== undefined) {
      // A drain is on: the one asked for now runs after it (the least `leave` wins).
      this.#next = Math.min(this.#next ?? leave, leave)
      return
    }
    this.#running = this.#drain(leave)
      .catch((error) => this.#onError(error))
      .finally(() => {
        this.#running = undefined
        const next = this.#next
        this.#next = undefined
        if (next !== undefined && !this.#closed) this.#start(next)
      })
  }

  async #drain(leave: number): Promise<void> {
    while (!this.#closed && this.#logged > leave) {
      await yieldToLoop()
      const { rows, deltas } = await compactLog(
        this.#db,
        (view) => this.#combiners.get(view),
        this.#passDeltas,
      )
      // Nothing foldable (an empty log, or a view this process does not know at its head).
      if (rows === 0) {
        this.#logged = 0
        return
      }
      this.#logged = Math.max(0, this.#logged - deltas)
    }
  }
}
