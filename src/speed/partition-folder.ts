// One partition of the speed layer in the hands of one worker (docs/horizon.md, rules 1-3): the
// folding and the sealing. Seeing a commit through the store is the committer's part
// (partition-committer.ts).
//
// Contract:
// - claimFolder() takes the partition in the store (bumping its owner token, which fences the
//   previous owner) and reading resumes at `folder.offset`, the consumed offset stored with the
//   realtime states. Nothing else decides where to read: not the group offset, not memory.
// - add(batch) takes the partition's records in offset order. Records that are not valid events
//   (the archiver's predicate, so batch and speed agree on what an event is) are skipped and
//   counted; valid ones are folded into the pending window's delta tables.
// - A commit is ONE store.commitSpeed: the window's deltas, from = the stored offset, offset =
//   the window's end, and its seals. It happens as soon as a batch brings the window to the
//   partition's end as the source last saw it (`commitWhenCaughtUp`: a live stream commits each
//   fetch, so events become visible within a fetch and a commit), otherwise every
//   `commitEveryMs` or `commitEveryRecords` (catching up batches), on flush() and on the worker's
//   timer (flushIfDue). When is the only thing the policy changes: what is committed is the same.
// - Seals: before a record at offset o is folded, the window seals at every required boundary
//   b <= o (the partition re-read from the store before each batch), and every `sealEveryMs` at
//   its position.
// - A refused commit: when a batch run recorded a required boundary inside the window meanwhile,
//   the window is rebuilt from its kept events with a seal there and committed again. Another
//   owner or an offset another writer moved (fenced), or a newer worker that redefined, added or dropped
//   views (STRATA_ERR_CONFIG_CHANGED, reported as failed): the folder stops for good (drops its state,
//   never writes again).
// - Through a store outage the committer sends the same commit again, up to `storeRetryMs`;
//   past it the folder fails: it stops (its window is re-read by the next owner from the stored
//   offset) and `onFailed` is told, so the worker can exit and be restarted.
// - Any other store error keeps the window, is reported, and the commit is tried again after a
//   backoff (commitBackoffMs). One reading the partition before a fold is reported and the batch
//   folded with the boundaries known (the commit is checked against the stored ones). A batch
//   that cannot be folded stops the folder: no later batch's commit may pass over its offsets.

import type { CompiledView } from '../core/compiled-view.ts'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { trace, tracing } from '../core/fresh-trace.ts'
import { type RecordReader, recordReaderFor } from '../core/projected-check.ts'
import { failureOf } from '../core/view-errors.ts'
import type { SpeedCommit, SpeedPartition, SpeedStore } from '../store/store.ts'
import { type PackedRecords, packRecords, takeSpans } from './batch-buffers.ts'
import type { FoldThread } from './fold-threads.ts'
import {
  defaultFolderPolicy,
  type FolderOptions,
  type FolderPolicy,
  type PartitionStats,
  type SpeedBatch,
} from './folder-options.ts'
import {
  type CommitOutcome,
  commitBackoffMs,
  fencedBy,
  type InFlight,
  isOurs,
  PartitionCommitter,
} from './partition-committer.ts'
import { PendingWindow } from './pending-window.ts'
import { type FoldReport, RemoteWindow } from './remote-window.ts'

// The types live in folder-options.ts; they are the folder's, so they are exported from here too.
export {
  defaultFolderPolicy,
  type FolderOptions,
  type FolderPolicy,
  type PartitionStats,
  type SpeedBatch,
  type SpeedRecord,
} from './folder-options.ts'

/** Claims the partition in the store and returns its folder, positioned at the stored offset. */
export async function claimFolder(options: FolderOptions, initial: number): Promise<PartitionFolder> {
  const claimed = await options.store.claimPartition(options.partition, initial)
  return new PartitionFolder(options, claimed)
}

/**
 * Record bytes of a partition's batches that may wait to be folded without holding the source
 * (fold threads only; see take): two catching-up fetches' worth of the partition
 * (maxBytesPerPartition, 1 MiB), far more than a live stream's fetch brings. It was 256 KiB,
 * which a catching-up fetch always passed: the source then stopped at each partition's commit in
 * flight, every other partition and the fold thread waiting with it (decision 0011, "The
 * source held at each commit").
 */
export const WAITING_BYTES = 2 * 1024 * 1024

/**
 * And at most this many batches. It was set when a waiting batch's records were views of their
 * whole fetch answer (up to maxBytes, 16 MiB), which many small batches of a partition whose
 * commit is stuck would each keep alive far past WAITING_BYTES; a waiting batch now holds only its
 * packed copy (batch-buffers.ts: its bytes, or at most twice them from 64 KiB up), which
 * WAITING_BYTES counts by its records' bytes.
 */
export const WAITING_BATCHES = 64

export class PartitionFolder {
  readonly partition: number
  readonly owner: number
  readonly #views: ReadonlyArray<CompiledView<any, any>>
  readonly #read: RecordReader
  readonly #policy: FolderPolicy
  readonly #now: () => number
  readonly #options: FolderOptions
  readonly #committer: PartitionCommitter
  #required: number[]
  #window: PendingWindow | RemoteWindow
  /**
   * Fold threads: the windows whose commits started and have not landed (in flight, or failed and
   * kept to be sent again), oldest first, at most landingLimit (MAX_LANDING, or one with a store
   * that may run commits out of order). #window was opened when the last
   * one's commit started and takes the partition's next batches meanwhile: the thread folds them
   * while the store commits (decision 0011, "The next window while a commit lands"), and its commit
   * is sent as soon as it is due, without waiting for the ones before it to land (addendum
   * "Commits sent while the one before lands"). They land in order all the same: each commit's
   * `from` is the one before's `offset`, and the store takes a commit only from its stored offset;
   * one that reached the store first is refused and sent again once the one before landed
   * (PartitionCommitter.commit, `after`). Each is reopened at the epoch the one before it left
   * open when that one lands (#committed).
   */
  #landing: Landing[] = []
  /** Settles once every commit started so far has landed or failed (never rejects). */
  #inFlight: Promise<void> = Promise.resolve()
  /** Fold threads: the last batch taken, which the next one waits for (take). */
  #queued: Promise<void> = Promise.resolve()
  /** Batches taken and not folded yet, and their records' bytes. */
  #waiting = 0
  #waitingBytes = 0
  /** Settles when the fold thread has answered every batch sent (fold threads only). */
  #reported: Promise<void> = Promise.resolve()
  #lastCommitAt: number
  #lastSealAt: number
  #stats: PartitionStats
  #chain: Promise<void> = Promise.resolve()
  /** The store recording that a view stopped this partition (#stop); flush() waits for it. */
  #recordingStop: Promise<void> = Promise.resolve()
  /** No commit is tried before this time (backoff after failed commits). */
  #retryCommitAt = 0

  constructor(options: FolderOptions, claimed: SpeedPartition) {
    this.partition = options.partition
    this.owner = claimed.owner
    this.#options = options
    this.#views = options.views
    this.#committer = new PartitionCommitter({
      store: options.store,
      views: options.views,
      partition: this.partition,
      owner: this.owner,
      ...(options.storeRetryMs === undefined ? {} : { storeRetryMs: options.storeRetryMs }),
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.onRetry ? { onRetry: options.onRetry } : {}),
      onFailed: (failure) => {
        this.#stop(failure)
        this.#options.onFailed?.(failure)
      },
    })
    this.#read = recordReaderFor(options.views, options.timeField)
    this.#policy = { ...defaultFolderPolicy, ...options.policy }
    this.#now = options.now ?? Date.now
    this.#required = [...claimed.required]
    this.#window = this.#newWindow(claimed.offset, claimed.epochs.at(-1) ?? claimed.offset)
    this.#lastCommitAt = this.#now()
    this.#lastSealAt = this.#lastCommitAt
    this.#stats = {
      partition: this.partition,
      owner: this.owner,
      consumed: claimed.offset,
      position: claimed.offset,
      folded: 0,
      skipped: 0,
      commits: 0,
      rebuilds: 0,
      retries: 0,
      lastCommitAt: null,
      stopped: null,
      stoppedCode: null,
      viewFailure: null,
      commitFailures: 0,
      lastCommitError: null,
      failingSince: null,
    }
  }

  /** The stored consumed offset: where the log is read from after a claim. */
  get offset(): number {
    return (this.#landing[0]?.window ?? this.#window).from
  }

  get stopped(): boolean {
    return this.#stats.stopped !== null
  }

  /** Why the folder gave up (the store stayed unavailable past the budget), if it did. */
  get failure(): StrataError | undefined {
    return this.#committer.failure
  }

  stats(): PartitionStats {
    return { ...this.#stats, position: this.#window.end, consumed: this.offset }
  }

  /** Folds the batch and, when a commit falls due, commits; resolves once both are done. */
  async add(batch: SpeedBatch): Promise<void> {
    const { committed } = await this.take(batch)
    await committed
    // With a fold thread, the batch's stats (folded, skipped) arrive with its answer.
    await this.#reported
  }

  /**
   * Folds the batch; a commit that falls due is queued on this folder right behind it. Resolves
   * once the records are folded, with the commit's promise (which never rejects: failures go to
   * onError). A source that reads several partitions (one Kafka fetch brings them all) folds the
   * next partition's records while this one's commit is in LMDB's writer thread, and the commits
   * that queue meanwhile share one LMDB transaction (lmdb-js batches them): fewer page copies and
   * fsyncs per record. The next batch of this partition is folded after the commit (on the
   * folder's queue), so each window still goes to the store with its offset, one after the other.
   */
  async take(source: SpeedBatch): Promise<{ committed: Promise<void> }> {
    if (tracing) trace({ e: 'take', p: this.partition, to: source.nextOffset, hw: source.highWatermark })
    let due = false
    // With a fold thread the records are copied at once into the buffer they go to the thread
    // in (batch-buffers.ts): the source's record objects are not kept while the batch waits.
    const thread = this.#options.thread
    const batch: Taken = thread ? packBatch(source, thread) : source
    let bytes = 0
    if ('packed' in batch) bytes = batch.packed.values.length
    else for (const record of batch.records) bytes += record.value.length
    this.#waiting++
    this.#waitingBytes += bytes
    const folded = this.#serial(async () => {
      this.#waiting--
      this.#waitingBytes -= bytes
      if (tracing) trace({ e: 'fold', p: this.partition, to: batch.nextOffset })
      try {
        due = await this.#foldBatch(batch)
      } catch (error) {
        // A batch that could not be folded must never be passed over by a later one's commit
        // (with a fold thread nobody awaits this fold: the source has gone on): the folder stops,
        // the worker is told it failed (it should exit), and the next owner reads from the
        // stored offset.
        const failure =
          error instanceof StrataError
            ? error
            : new StrataError(
                ErrorCodes.INTERNAL,
                `partition ${this.partition}: folding a batch failed: ${(error as Error)?.message ?? error}`,
                { cause: error },
              )
        if (!this.stopped) {
          this.#stop(failure)
          this.#options.onFailed?.(failure)
        }
        throw error
      }
    })
    // With a fold thread the commit task returns once the commit started (the next batch then
    // folds into the next window): `committed` settles once it landed, or failed.
    let landed: Promise<void> = Promise.resolve()
    const committed = this.#serial(async () => {
      if (!due) return
      await this.#commitReporting()
      landed = this.#inFlight
    }).then(() => landed)
    if (this.#options.thread !== undefined) {
      // With a fold thread, the source may go on while this batch waits behind the partition's
      // commit in flight: that commit waits for the thread to fold what was sent, and awaiting
      // it here would hold every other partition's batch (the source delivers one at a time)
      // and leave the thread idle meanwhile. Batches of a live stream are small: while the
      // batches waiting here hold at most WAITING_BYTES, none holds the source, so one
      // partition's slow commit does not hold the fetches of the others (nor the next fetch
      // request: decision 0011, "Freshness"), and while catching up the other partitions' batches
      // keep the fold thread busy. Past that the next batch is held until this one is folded.
      const previous = this.#queued
      this.#queued = folded
      folded.catch(() => undefined)
      if (this.#waitingBytes > WAITING_BYTES || this.#waiting > WAITING_BATCHES) await previous
    } else await folded
    if (this.failure) throw this.failure
    return { committed }
  }

  // Folds one batch; returns whether a commit is due after it.
  async #foldBatch(batch: Taken): Promise<boolean> {
    try {
      await this.#refreshRequired()
    } catch (error) {
      if (this.stopped) return false
      // A store error (not an outage: the committer stops the folder past its budget) is
      // reported and the batch folded with the boundaries known: the commit is checked against
      // the stored ones and resealed if one is missing (#reseal), and fenced if not ours.
      this.#options.onError?.(
        asStrataError(error, `partition ${this.partition}: reading the partition before a fold failed`),
      )
    }
    if (this.stopped) return false
    const now = this.#now()
    if (now - this.#lastSealAt >= this.#policy.sealEveryMs) {
      this.#window.seal(this.#window.end)
      this.#lastSealAt = now
    }
    try {
      this.#fold(batch)
    } catch (error) {
      // Views that throw are skipped per event and recorded (core/view-errors.ts); what gets
      // here is a view defined with onError('stop') (VIEW_FAILED, which names the view and the
      // offset), and the batch layer stops on the same event. Anything else is a bug of ours.
      this.#stop(
        (error as StrataError)?.code === ErrorCodes.VIEW_FAILED
          ? (error as StrataError)
          : new StrataError(
              ErrorCodes.INTERNAL,
              `partition ${this.partition}: folding failed: ${(error as Error)?.message ?? error}`,
              { cause: error },
            ),
      )
      return false
    }
    return (
      this.#window.taken >= this.#policy.commitEveryRecords ||
      this.#now() - this.#lastCommitAt >= this.#policy.commitEveryMs ||
      // Caught up, unless a later batch of this partition waits to be folded: the commit after
      // it takes both (one commit instead of two in a row, when a commit was slow).
      (this.#policy.commitWhenCaughtUp !== false &&
        this.#waiting === 0 &&
        batch.highWatermark !== undefined &&
        this.#window.end >= batch.highWatermark)
    )
  }

  /**
   * Commits the pending window now (on revoke, on close). Store errors are thrown. Stopped, it
   * commits nothing but still returns only once a commit in flight settled and its view stop is in
   * the store: the worker's close() (which releases every folder) must not return, nor its caller
   * close the store (or exit), while a commit or a stop of ours may still be written.
   */
  async flush(): Promise<void> {
    try {
      await this.#serial(() => this.#commit())
      await this.#inFlight
    } finally {
      await this.#recordingStop
    }
  }

  /** Commits when the window is older than the policy allows (the worker's timer). */
  flushIfDue(now: number): Promise<void> {
    return this.#serial(async () => {
      // Commits in flight land by themselves; one that failed is sent again here, after its backoff.
      const failed = this.#landing.some((l) => l.failed)
      if (this.#window.empty && !failed) return
      if (now - this.#lastCommitAt < this.#policy.commitEveryMs) return
      await this.#commitReporting()
    })
  }

  /** Drops the pending window and never writes again (revoked without flush, or a crash stand-in). */
  stop(reason = 'stopped'): void {
    if (this.#stats.stopped === null) this.#stats.stopped = reason
    if (this.#window instanceof RemoteWindow) this.#window.drop()
    // A commit in flight may still land (it is one store transaction, offset and deltas: the next
    // owner reads from whatever is stored); nothing of it is used here any more (#land). It stays
    // in #landing: `offset` is its `from`, the last offset known stored, not the next window's.
    for (const { window } of this.#landing) window.drop()
  }

  #fold(taken: Taken): void {
    const window = this.#window
    if (window instanceof RemoteWindow) {
      this.#send(window, 'packed' in taken ? taken : packBatch(taken, this.#options.thread!))
      return
    }
    // In process (a folder with a fold thread folds in process only once stopped, and then not at
    // all): the records as the source gave them.
    if ('packed' in taken) throw new StrataError(ErrorCodes.INTERNAL, 'a packed batch folded in process')
    const batch = taken
    for (const record of batch.records) {
      // A source may deliver again what we already took in (a refetch from an older position).
      if (record.offset < window.end) continue
      this.#sealRequired(record.offset)
      const event = this.#read(record.value, 0, record.value.length)
      if (typeof event === 'string') {
        window.advance(record.offset + 1)
        this.#stats.skipped++
        this.#options.onSkip?.(this.partition, record.offset, event)
      } else {
        window.fold(record.offset, event, record.value)
        this.#stats.folded++
      }
    }
    window.advance(batch.nextOffset)
  }

  // Fold threads: the records go to the thread as they are (it checks and folds them); the seals
  // are decided here, on the offsets, exactly as for the in-process window.
  #send(window: RemoteWindow, batch: PackedBatch): void {
    const { packed } = batch
    const { offsets } = packed
    const n = offsets.length
    // A source may deliver again what we already took in (a refetch from an older position):
    // those records come first (offsets grow within a batch).
    let i = 0
    while (i < n && offsets[i]! < window.end) i++
    if (i < n) {
      const required = this.#required[0]
      if (required === undefined || required > offsets[n - 1]!) {
        // No required boundary at or below any of them (the usual case): taken in one step.
        window.takeRun(packed, i, n)
      } else {
        for (; i < n; i++) {
          this.#sealRequired(offsets[i]!)
          window.take(packed, i)
        }
      }
    }
    window.advance(batch.nextOffset)
    const answer = window.send()
    if (answer === undefined) return
    const reported = answer.then(
      (report) => this.#report(report),
      (error) => this.#threadFailed(window, error),
    )
    this.#reported = Promise.all([this.#reported, reported]).then(() => undefined)
  }

  #report(report: FoldReport): void {
    this.#stats.folded += report.folded
    this.#stats.skipped += report.skipped.length
    for (const [offset, reason] of report.skipped) this.#options.onSkip?.(this.partition, offset, reason)
  }

  // The fold thread refused a batch (a view with onError('stop'): VIEW_FAILED, as in process) or
  // is gone. Either way the window lacks records and must never be committed: the folder stops;
  // a thread that is gone is a failure of the worker (onFailed: it should exit and be restarted).
  #threadFailed(window: RemoteWindow, error: unknown): void {
    if ((window !== this.#window && !this.#landing.some((l) => l.window === window)) || this.stopped) return
    const failure =
      error instanceof StrataError
        ? error
        : new StrataError(ErrorCodes.INTERNAL, `partition ${this.partition}: fold thread failed: ${error}`)
    this.#stop(failure)
    if (this.#options.thread?.failure !== undefined) this.#options.onFailed?.(failure)
  }

  #newWindow(from: number, open: number): PendingWindow | RemoteWindow {
    const thread = this.#options.thread
    if (thread === undefined) return new PendingWindow(this.#views, this.#read, from, open, this.partition)
    return new RemoteWindow(thread, this.#views, from, open, this.partition, () => this.#stats.rebuilds++)
  }

  /** Makes every known required boundary up to `offset` a boundary of the window. */
  #sealRequired(offset: number): void {
    // None due (the usual case, checked per record): require([]) would keep the window as it is.
    const first = this.#required[0]
    if (first === undefined || first > offset) return
    const due: number[] = []
    for (const b of this.#required) {
      if (b > offset) break
      due.push(b)
    }
    if (this.#window.require(due) === 'rebuilt') this.#stats.rebuilds++
  }

  // The boundaries batch runs required since the last batch; and whether we still own the
  // partition (one partition's row, not the whole speed state).
  async #refreshRequired(): Promise<void> {
    const state = await this.#committer.read('reading the partition')
    if (!isOurs(state, this.owner)) {
      this.#stop(fencedBy(this.partition, state))
      return
    }
    this.#required = state.required
  }

  // A commit that failed (not fenced: that stops the folder) is tried again after a backoff, not
  // on every fetch: the failures are counted in the stats (health calls the partition stalled
  // while they last and its lag grows).
  async #commitReporting(): Promise<void> {
    if (this.#now() < this.#retryCommitAt) return
    try {
      await this.#commit(true)
    } catch (error) {
      this.#commitFailed(error)
    }
  }

  #commitFailed(error: unknown): void {
    const failure = asStrataError(error, `partition ${this.partition}: speed commit failed`)
    const stats = this.#stats
    stats.commitFailures++
    stats.failingSince ??= this.#now()
    stats.lastCommitError = `${failure.message} [${failure.code}]`
    this.#retryCommitAt = this.#now() + commitBackoffMs(stats.commitFailures)
    this.#options.onError?.(failure)
  }

  /**
   * Commits the pending window. With a fold thread and `overlap`, returns once the commit
   * started: the window is handed over to #landing, the next one opened, and the store's answer
   * awaited in the background (#inFlight; a failure is reported and the window kept there).
   * Otherwise returns once it and every commit before it landed; store errors are thrown.
   */
  async #commit(overlap = false): Promise<void> {
    if (this.stopped) return
    // Windows land in order: one whose commit failed is sent again, and lands, before anything
    // after it is sent (and a flush waits for every commit in flight).
    if (!overlap || this.#landing.some((l) => l.failed)) {
      await this.#inFlight
      for (const landing of [...this.#landing]) {
        if (this.stopped) return
        if (landing !== this.#landing[0]) break
        await this.#land(landing.window)
      }
    }
    if (this.stopped) return
    const window = this.#window
    this.#sealRequired(window.end)
    if (window.empty) return
    if (window instanceof RemoteWindow) {
      // At most landingLimit in flight: past it, the oldest lands first (the batches that arrive
      // meanwhile wait on the folder's queue and go into one window). With a store that may run
      // commits out of order that is one: this window's commit waits for the one before to land.
      if (this.#landing.length >= landingLimit(this.#options.store)) {
        await this.#landing[0]!.settled
        if (this.stopped) return
        if (this.#landing.some((l) => l.failed)) return this.#commit(overlap)
      }
      // The deltas are asked for at once: the thread answers them right behind the folds sent,
      // and before anything sent for the next window (a thread answers in order).
      window.askContents()
      if (tracing)
        trace({ e: 'send', p: this.partition, from: window.from, off: window.end, n: this.#landing.length })
      const after = this.#landing.at(-1)
      this.#window = this.#newWindow(window.end, window.epoch)
      // The commit period is the window's age: the next window commits at most commitEveryMs
      // after it opened, whenever the ones before it land (counted from their landings, a window
      // opened while they land would wait for them and then a period more; counted from nothing,
      // every batch while they land would be a commit of its own).
      this.#lastCommitAt = this.#now()
      if (!overlap) {
        const landing = {
          window,
          failed: false,
          waiting: false,
          landed: Promise.resolve(false),
          settled: Promise.resolve(),
        }
        this.#landing.push(landing)
        return this.#land(window)
      }
      let landed!: (yes: boolean) => void
      const landing: Landing = {
        window,
        failed: false,
        waiting: false,
        landed: new Promise<boolean>((resolve) => {
          landed = resolve
        }),
        settled: Promise.resolve(),
      }
      this.#landing.push(landing)
      landing.settled = this.#land(window, after)
        .catch((error) => {
          landing.failed = true
          if (!this.stopped) this.#commitFailed(error)
        })
        .finally(() => landed(!landing.failed && !this.#landing.includes(landing)))
      this.#inFlight = Promise.all([this.#inFlight, landing.settled]).then(() => undefined)
      return
    }
    const outcome = await this.#committer.commit(window, (required) => this.#reseal(window, required))
    if ('landed' in outcome) this.#committed(window, outcome.landed)
    else if ('stopped' in outcome) this.#stop(outcome.stopped)
  }

  // Sees the commit of a window handed over to #landing through: landed, or the folder stopped.
  // Store errors are thrown (the window stays in #landing, to be sent again first). `after`: the
  // landing of the window before it, when that commit was in flight as this one was sent.
  async #land(window: RemoteWindow, after?: InFlight): Promise<void> {
    const landing = this.#landing.find((l) => l.window === window)
    if (landing === undefined) return
    landing.failed = false
    // Every batch sent must be folded before the window may be committed.
    try {
      await window.answered()
    } catch (error) {
      this.#threadFailed(window, error)
    }
    if (this.stopped || !this.#landing.includes(landing)) return
    let outcome: CommitOutcome
    try {
      outcome = await this.#committer.commit(
        window,
        (required) => this.#reseal(window, required),
        after,
        landing,
      )
    } catch (error) {
      landing.failed = true
      throw error
    }
    // Stopped meanwhile (revoked, claimed again, fenced): what landed or not is the store's to say.
    if (this.stopped || !this.#landing.includes(landing)) return
    if ('landed' in outcome) this.#committed(window, outcome.landed)
    else if ('stopped' in outcome) this.#stop(outcome.stopped)
    // The one before did not land: this one is sent again after it (#commit).
    else landing.failed = true
  }

  // The store refused the window for a required boundary a batch run recorded meanwhile
  // (docs/horizon.md, rule 3): seal there, refolding the kept events if it falls among them. (The
  // next window, if one was opened when this commit started, is reopened once this one lands.)
  #reseal(window: PendingWindow | RemoteWindow, required: readonly number[]): boolean {
    this.#required = [...required]
    const outcome = window.require(required.filter((b) => b <= window.end))
    if (outcome === 'kept') return false
    if (outcome === 'rebuilt') this.#stats.rebuilds++
    this.#stats.retries++
    return true
  }

  #committed(window: PendingWindow | RemoteWindow, commit: SpeedCommit): void {
    const open = commit.seals.at(-1) ?? window.open
    this.#required = this.#required.filter((b) => b > commit.offset)
    if (window instanceof RemoteWindow) {
      // Its batch buffers go back to the pool now, not before: until it landed a reseal could
      // refold it from them.
      window.drop()
      this.#landing = this.#landing.filter((l) => l.window !== window)
      // The windows after it were opened at the epoch open when its commit started; resealed to
      // land, this window may have left a later one open (a required boundary sealed inside it),
      // and each of them then opens where the one before it now ends.
      let epoch = open
      for (const next of [...this.#landing.map((l) => l.window), this.#window]) {
        if (!(next instanceof RemoteWindow)) break
        next.reopen(epoch)
        epoch = next.epoch
      }
    } else {
      this.#window = this.#newWindow(commit.offset, open)
      this.#lastCommitAt = this.#now()
    }
    this.#stats.commits++
    this.#stats.lastCommitAt = this.#now()
    this.#stats.commitFailures = 0
    this.#stats.lastCommitError = null
    this.#stats.failingSince = null
    this.#retryCommitAt = 0
    this.#options.onCommit?.(this.partition, commit.offset)
    if (commit.errors) this.#options.onViewErrors?.(commit.errors)
  }

  #stop(reason: StrataError): void {
    if (this.stopped) return
    const base = this.#landing[0]?.window ?? this.#window
    this.stop(`${reason.message} [${reason.code}]`)
    this.#stats.stoppedCode = reason.code
    const failure = failureOf(reason)
    this.#stats.viewFailure = failure ?? null
    // A view defined with onError('stop') stopped us: the store records where, so that every
    // process serving it says the view stopped (view-errors.ts, currentStops), not only this one.
    if (failure) {
      // (A promise around the call: a store closing beside us may throw before it returns one.)
      this.#recordingStop = Promise.resolve()
        .then(() => this.#options.store.recordViewStop(failure))
        .catch((error) =>
          this.#options.onError?.(
            asStrataError(
              error,
              `partition ${this.partition}: recording that view '${failure.view}' stopped it`,
            ),
          ),
        )
    }
    // A stopped folder never folds again: its thread's copies of the windows are dropped (stop()),
    // and an empty in-process window stands in, at the stored offset.
    this.#window = new PendingWindow(this.#views, this.#read, base.from, base.open, this.partition)
    this.#options.onError?.(reason)
  }

  #serial(task: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(() => (this.stopped ? undefined : task()))
    this.#chain = run.catch(() => {})
    return run
  }
}

/**
 * Commits of a partition in flight at once (fold threads): a live stream commits each fetch, and
 * the store (lmdb-js) takes the ones sent meanwhile in one transaction; more would only keep more
 * windows' batch buffers for a reseal.
 */
export const MAX_LANDING = 4

/**
 * Commits of a partition the folder keeps in flight at once with this store: MAX_LANDING where the
 * store runs commits in the order they were asked for (SpeedStore.commitsInOrder: LMDB), else one,
 * each window's commit sent once the one before landed (PostgreSQL: a pool may run a later commit
 * first; the store refuses it, exactly, but 7-13 % of the commits sent were such refusals, and a
 * window that only seals, followed by one with no deltas, both start at the same stored offset: the
 * second landing first, the first would read as fenced). The one rule; nothing else asks.
 */
export function landingLimit(store: Pick<SpeedStore, 'commitsInOrder'>): number {
  return store.commitsInOrder === true ? MAX_LANDING : 1
}

/** A window whose commit started (partition-folder.ts, #landing). */
interface Landing extends InFlight {
  window: RemoteWindow
  /** Its commit failed (or the one before it did): it is sent again first (#commit). */
  failed: boolean
  /** Settles once its commit settled (never rejects). */
  settled: Promise<void>
}

/** A batch as a folder with a fold thread keeps it: its records packed (batch-buffers.ts). */
interface PackedBatch {
  packed: PackedRecords
  nextOffset: number
  highWatermark?: number
}

type Taken = SpeedBatch | PackedBatch

function packBatch(batch: SpeedBatch, thread: FoldThread): PackedBatch {
  // Spans (a Kafka fetch decoded without an object per record) when the source has them: the
  // fetch's own buffer taken as it is when it may be (takeSpans), else copied.
  const packed = batch.spans
    ? takeSpans(batch.spans, thread.buffers)
    : packRecords(batch.records, thread.buffers)
  return batch.highWatermark === undefined
    ? { packed, nextOffset: batch.nextOffset }
    : { packed, nextOffset: batch.nextOffset, highWatermark: batch.highWatermark }
}

function asStrataError(error: unknown, message: string): StrataError {
  return error instanceof StrataError
    ? error
    : new StrataError(ErrorCodes.STORE, message, { cause: error, retriable: true })
}
