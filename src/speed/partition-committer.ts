// The committer of one partition (docs/speed-layer.md, "How it commits", "Through a store
// outage", "How it is fenced"): it turns a folder's pending window into ONE store.commitSpeed and
// sees it through. The folder (partition-folder.ts) decides what to fold and when a commit is due.
//
// Contract:
// - A store outage (an error marked retriable: PostgreSQL restarting, a lost connection) is
//   ridden out: the SAME commit (same from, offset, deltas and seals) is sent again with backoff
//   for up to `storeRetryMs` (60 s). Nothing more is folded into the window meanwhile (in process
//   the partition's next batch waits on the folder's queue; with a fold thread it folds into the
//   next window), so it changes between attempts only when the window before it, in flight as it
//   was sent, was resealed to land (`after`: the folder reopens it there). Reads of the partition
//   go through the same retry.
// - In order: with a fold thread a window's commit may be sent while the one before it is in
//   flight (`after`). Its `from` is that one's `offset`, so the store cannot take it first; a
//   refusal is put down to the one before until that one has landed.
// - In doubt: a failed attempt may have landed with only its answer lost; the store then refuses
//   the resend (its `from` is no longer the stored offset). When the stored offset is this
//   commit's offset or past it under our owner token, nobody but this commit can have put it there (only
//   this committer commits with that token, one window after the other), so it is known applied:
//   taken as committed, never sent again nor read as fencing.
// - Fencing (STRATA_ERR_FENCED): the partition is read back. Another owner, or an offset another
//   writer moved: stopped for good (rule 2). Ours still: the store wants a required boundary the
//   window has not sealed (rule 3); the folder reseals the window and the commit is sent again.
//   A refusal that resealing does not answer stops it too.
// - Views recorded in the store other than this worker's (STRATA_ERR_CONFIG_CHANGED: a worker
//   started with an edited config redefined, added or dropped one): stopped with that code, which health reports as failed, so the supervisor
//   restarts this worker with the current config (Kafka still assigns the partition to it).
// - Past the budget the committer fails (`failure`, and `onFailed` is told): the folder stops,
//   and its window is re-read by the next owner from the stored offset.
import type { CompiledView } from '../core/compiled-view.ts'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { trace, tracing } from '../core/fresh-trace.ts'
import { isRetriable, type RetryAttempt, type RetryPolicy, retryRetriable } from '../core/retry.ts'
import { fenced } from '../store/speed-rules.ts'
import type { CombineEncoded, SpeedCommit, SpeedPartition, SpeedStore } from '../store/store.ts'
import type { WindowContents } from './pending-window.ts'

/** What the committer reads of a window: PendingWindow in process, RemoteWindow (fold threads). */
export interface CommitWindow {
  readonly from: number
  readonly end: number
  readonly seals: readonly number[]
  contents(): WindowContents | Promise<WindowContents>
}

/** How long a store call is retried through an outage before the folder gives up (ms). */
export const defaultStoreRetryMs = 60_000

/** The wait before the next commit after `failures` failed ones in a row: 100 ms doubling, up to 30 s. */
export function commitBackoffMs(failures: number): number {
  return failures <= 0 ? 0 : Math.min(30_000, 100 * 2 ** Math.min(failures - 1, 20))
}

/** Refusals answered by resealing, per commit, before the committer stops. */
const MAX_REBUILDS = 8

export interface CommitterOptions {
  store: SpeedStore
  views: ReadonlyArray<CompiledView<any, any>>
  partition: number
  /** Our owner token, from the claim. */
  owner: number
  /** How long a store call is retried through an outage (default defaultStoreRetryMs). */
  storeRetryMs?: number
  /** Backoff timing (tests inject the clock and the wait); the budget is storeRetryMs. */
  retry?: Omit<RetryPolicy, 'totalMs'>
  /** A store call failed retriably and is tried again (once per retry; `doing` says which). */
  onRetry?(partition: number, doing: string, retry: RetryAttempt): void
  /** The store stayed unavailable past the budget: the committer failed. */
  onFailed(failure: StrataError): void
}

/**
 * The store refused a commit for a boundary while the partition is still ours: make the window
 * seal at the partition's `required` boundaries. False when that changes nothing (the refusal
 * is about something else).
 */
export type Reseal = (required: readonly number[]) => boolean

/**
 * `behind`: the commit was refused while the one before it had not landed, and that one did not
 * land: it is to be sent again once the one before has.
 */
export type CommitOutcome = { landed: SpeedCommit } | { stopped: StrataError } | { behind: true }

/** A commit sent while the one before it was in flight (PartitionCommitter.commit, `after`). */
export interface InFlight {
  /** Resolves once it settled: true if it landed. */
  landed: Promise<boolean>
  /** Refused for reaching the store first, it waits for the one before it to land. */
  waiting: boolean
}

export class PartitionCommitter {
  readonly partition: number
  readonly owner: number
  readonly #store: SpeedStore
  readonly #hashes: Record<string, string>
  readonly #combine: CombineEncoded
  readonly #retryMs: number
  readonly #options: CommitterOptions
  #failure: StrataError | undefined

  constructor(options: CommitterOptions) {
    this.partition = options.partition
    this.owner = options.owner
    this.#options = options
    this.#store = options.store
    this.#hashes = Object.fromEntries(options.views.map((v) => [v.name, v.codeHash]))
    const monoids = new Map(options.views.map((v) => [v.name, v.monoid]))
    this.#combine = (view, stored, delta) => {
      const m = monoids.get(view)
      if (m === undefined) throw new StrataError(ErrorCodes.INTERNAL, `no monoid for view ${view}`)
      return m.encode(m.combine(m.decode(stored as never), m.decode(delta as never)))
    }
    this.#retryMs = options.storeRetryMs ?? defaultStoreRetryMs
  }

  /** Why the committer gave up (the store stayed unavailable past the budget), if it did. */
  get failure(): StrataError | undefined {
    return this.#failure
  }

  /** This partition's stored state, read through an outage. */
  read(doing: string): Promise<SpeedPartition | undefined> {
    return this.#storeCall(doing, () => this.#store.speedPartition(this.partition))
  }

  /**
   * Sends the window as one commit until it lands, is known applied, or is refused for good.
   * Store errors other than fencing are thrown (the window stays for a later commit).
   *
   * `after`: the landing of the window before this one (true if it landed), when its commit was
   * still in flight as this one was sent. This commit's `from` is that one's `offset`, so the store
   * takes it only after that one (lmdb-js runs its transactions in the order they were asked for;
   * a store with a pool of connections may run this one first, and refuse it). An attempt that
   * fails in any way is therefore first put down to the one before: once that one landed, this one
   * is sent again as it stands (the folder has reopened it where that one left the epochs); if that
   * one did not, `behind`. Only after that is a failure this commit's own. While the one before
   * waits to be sent again (`after.waiting`), this one is not sent: it would reach the store
   * before that resend and be refused in turn, and each commit due while the refused one waits
   * with it (on PostgreSQL about every other commit of a live stream was refused). `self` is this
   * commit's own state, for the one after it.
   */
  async commit(
    window: CommitWindow,
    reseal: Reseal,
    after?: InFlight,
    self?: InFlight,
  ): Promise<CommitOutcome> {
    // Set once an attempt failed in a way that may hide a landed commit (a lost answer). Every
    // attempt carries the same `offset` (window.end does not move while we commit).
    let inDoubt = false
    for (let attempt = 0; ; attempt++) {
      const { deltas, errors, events } = await window.contents()
      if (tracing) trace({ e: 'contents', p: this.partition, off: window.end })
      const commit: SpeedCommit = {
        partition: this.partition,
        owner: this.owner,
        hashes: this.#hashes,
        from: window.from,
        offset: window.end,
        deltas,
        seals: [...window.seals],
        ...(errors.length > 0 ? { errors: [...errors], offered: events } : {}),
      }
      if (after?.waiting) {
        if (!(await behind(after, self))) return { behind: true }
        after = undefined
        // Its contents again: the window may have been reopened where the one before left the epochs.
        attempt--
        continue
      }
      try {
        await this.#storeCall(`committing offset ${commit.offset}`, async () => {
          try {
            await this.#store.commitSpeed(commit, this.#combine)
          } catch (error) {
            if (isRetriable(error)) inDoubt = true
            throw error
          }
        })
      } catch (error) {
        if (this.#failure) throw error
        if (after !== undefined) {
          if (!(await behind(after, self))) return { behind: true }
          after = undefined
          // In doubt or not, the resend says: refused if this one landed (below), else it lands.
          attempt--
          continue
        }
        if (tracing) trace({ e: 'refused', p: this.partition, off: commit.offset })
        if (inDoubt && (await this.#landedEarlier(commit))) return { landed: commit }
        // Another definition of a view is recorded: no retry or reseal can commit this window.
        if ((error as StrataError)?.code === ErrorCodes.CONFIG_CHANGED)
          return { stopped: error as StrataError }
        if ((error as StrataError)?.code !== ErrorCodes.FENCED) throw error
        // Refused: may we try again (rule 3) or must we stop for good (rule 2)?
        const state = await this.read('re-reading a refused partition')
        if (!isOurs(state, this.owner, window.from)) {
          return { stopped: fencedBy(this.partition, state, window.from) }
        }
        if (attempt >= MAX_REBUILDS || !reseal(state.required)) return { stopped: error as StrataError }
        continue
      }
      if (tracing) trace({ e: 'landed', p: this.partition, off: commit.offset })
      return { landed: commit }
    }
  }

  // After an attempt whose answer was lost, the store refused the resend: did the lost one land?
  // Only this committer commits under its owner token, each window from the offset the one before
  // ends at, so a stored offset at or past this commit's (past its `from`) can only be there if
  // this commit landed (the commits after it, sent while it was in flight, land only after it).
  async #landedEarlier(commit: SpeedCommit): Promise<boolean> {
    const state = await this.read('checking whether a commit landed')
    if (!isOurs(state, this.owner) || state.offset < commit.offset) return false
    return commit.offset > commit.from || commit.seals.every((seal) => state.epochs.includes(seal))
  }

  // A store call through an outage: retried while its error is retriable, up to the budget; past
  // it the committer fails (the folder stops, its state dropped: the next owner re-reads from the
  // stored offset).
  async #storeCall<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await retryRetriable(fn, { ...this.#options.retry, totalMs: this.#retryMs }, (retry) =>
        this.#options.onRetry?.(this.partition, doing, retry),
      )
    } catch (error) {
      if (isRetriable(error)) this.#fail(error, doing)
      throw error
    }
  }

  #fail(error: StrataError, doing: string): void {
    if (this.#failure) return
    this.#failure = new StrataError(
      ErrorCodes.STORE_UNAVAILABLE,
      `partition ${this.partition}: ${doing}: the store stayed unavailable for ${this.#retryMs} ms; stopped (the next owner resumes from the stored offset): ${error.message}`,
      { cause: error, retriable: true },
    )
    this.#options.onFailed(this.#failure)
  }
}

// Waits for the commit before to settle, `self` marked waiting meanwhile; true if it landed.
async function behind(before: InFlight, self: InFlight | undefined): Promise<boolean> {
  if (self) self.waiting = true
  try {
    return await before.landed
  } finally {
    if (self) self.waiting = false
  }
}

/** Whether the stored partition is still ours: our owner token, and (given `from`) not moved. */
export function isOurs(
  state: SpeedPartition | undefined,
  owner: number,
  from?: number,
): state is SpeedPartition {
  return state !== undefined && state.owner === owner && (from === undefined || state.offset === from)
}

/** Why a partition is no longer ours (read back after a refusal, or before a batch). */
export function fencedBy(partition: number, state: SpeedPartition | undefined, from?: number): StrataError {
  const why =
    state === undefined
      ? 'it is gone from the store'
      : from !== undefined && state.offset !== from
        ? `another writer moved it to offset ${state.offset}`
        : `owner token ${state.owner} took it over`
  return fenced(`partition ${partition}: no longer ours (${why}); stopped`)
}
