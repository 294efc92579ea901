// The speed layer's partition folder: what it takes in (a source's batches), how it is tuned
// (its commit policy) and what it reports (its stats). The folder itself: partition-folder.ts.
import type { CompiledView } from '../core/compiled-view.ts'
import type { StrataError } from '../core/errors.ts'
import type { RetryAttempt, RetryPolicy } from '../core/retry.ts'
import type { ViewFoldError } from '../core/view-errors.ts'
import type { RecordSpans } from '../log/partition-source.ts'
import type { SpeedStore } from '../store/store.ts'
import type { FoldThread } from './fold-threads.ts'

/** The part of a log record the speed layer reads (Kafka's ConsumedRecord and LogRecord fit). */
export interface SpeedRecord {
  offset: number
  value: Buffer
}

export interface SpeedBatch {
  records: readonly SpeedRecord[]
  /**
   * The same records as spans of their values (a Kafka source asked for them: fold threads only),
   * which a folder with a fold thread copies from without reading `records` (packSpans).
   */
  spans?: RecordSpans
  /** Where the next batch starts (past skipped offsets such as transaction markers). */
  nextOffset: number
  /**
   * The partition's end when the source read the batch (Kafka: the fetch's last stable offset),
   * if the source knows it. A batch that reaches it leaves the folder caught up.
   */
  highWatermark?: number
}

export interface FolderPolicy {
  commitEveryMs: number
  commitEveryRecords: number
  /**
   * Commit right after a batch that reaches the partition's end (its `highWatermark`): nothing
   * more is waiting, so batching would only add latency. Under load (catching up, or a fetch cut
   * by its size limit) batches stop short of the end and the two limits above batch the commits.
   * Default true.
   */
  commitWhenCaughtUp?: boolean
  sealEveryMs: number
}

export const defaultFolderPolicy: FolderPolicy = {
  commitEveryMs: 100,
  commitEveryRecords: 20_000,
  commitWhenCaughtUp: true,
  sealEveryMs: 5_000,
}

export interface PartitionStats {
  partition: number
  owner: number
  /** The consumed offset in the store: realtime states cover everything below it. */
  consumed: number
  /** The offset after the last record taken in (committed or not). */
  position: number
  folded: number
  skipped: number
  commits: number
  /** Windows refolded because a batch run required a boundary among records already folded. */
  rebuilds: number
  /** Commits refused for a missing required boundary, then sealed and sent again. */
  retries: number
  lastCommitAt: number | null
  /** Why the folder stopped (fenced, redefined, failed), or null while it runs. */
  stopped: string | null
  /**
   * The code of what stopped it: STRATA_ERR_FENCED when another owner took the partition (not a
   * failure of this worker), null when it was released or revoked, or for a plain stop().
   */
  stoppedCode: string | null
  /** Stopped by a view defined with onError('stop'): the event it threw on; else null. */
  viewFailure?: ViewFoldError | null
  /** Commits that failed in a row (not fencing: those stop the folder); 0 once one lands. */
  commitFailures: number
  /** The last failed commit's error ("message [CODE]") while commitFailures > 0. */
  lastCommitError: string | null
  /** When the current run of failed commits began, epoch ms. */
  failingSince: number | null
}

export interface FolderOptions {
  store: SpeedStore
  views: ReadonlyArray<CompiledView<any, any>>
  partition: number
  timeField: string
  policy?: Partial<FolderPolicy>
  now?: () => number
  onCommit?(partition: number, offset: number): void
  onSkip?(partition: number, offset: number, reason: string): void
  /** A commit recorded events a view's code threw on (core/view-errors.ts). */
  onViewErrors?(errors: readonly ViewFoldError[]): void
  /** A commit failed for a reason other than fencing (it is retried), or the folder stopped. */
  onError?(error: StrataError): void
  /** A store call failed retriably and is tried again (once per retry; `doing` says which). */
  onRetry?(partition: number, doing: string, retry: RetryAttempt): void
  /** The store stayed unavailable past `storeRetryMs`: the folder stopped; the worker should go. */
  onFailed?(error: StrataError): void
  /** How long a store call is retried through an outage (default defaultStoreRetryMs). */
  storeRetryMs?: number
  /** Backoff timing (tests inject the clock and the wait); the budget is storeRetryMs. */
  retry?: Omit<RetryPolicy, 'totalMs'>
  /**
   * The fold thread that parses, checks and folds this partition's records (fold-threads.ts);
   * without one they are folded on this thread. What is committed is the same either way.
   */
  thread?: FoldThread
}
