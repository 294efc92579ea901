// The partitions one speed worker owns right now, whichever source hands them out (a Kafka
// consumer group, or every partition of the embedded log). Taking a partition claims it in the
// store; releasing one commits what is pending first, so the next owner resumes exactly there.
import type { StrataError } from '../core/errors.ts'
import { retryRetriable } from '../core/retry.ts'
import { type ClaimOptions, claimSpeedPartition } from './claim.ts'
import { defaultStoreRetryMs } from './partition-committer.ts'
import type { PartitionFolder, PartitionStats } from './partition-folder.ts'

export class PartitionSet {
  readonly #options: (partition: number) => ClaimOptions
  readonly #onError: (error: StrataError) => void
  readonly #folders = new Map<number, PartitionFolder>()
  // Counters of folders released earlier in this process, so the metrics only grow.
  readonly #released = new Map<number, { folded: number; skipped: number }>()

  constructor(options: (partition: number) => ClaimOptions, onError: (error: StrataError) => void) {
    this.#options = options
    this.#onError = onError
  }

  async take(partition: number): Promise<PartitionFolder> {
    this.#folders.get(partition)?.stop('claimed again')
    const options = this.#options(partition)
    // Through a store outage the claim is tried again: one that landed with its answer lost only
    // bumped the owner token once more, which fences nobody but an older claim of ours.
    const folder = await retryRetriable(
      () => claimSpeedPartition(options),
      { ...options.retry, totalMs: options.storeRetryMs ?? defaultStoreRetryMs },
      (retry) => options.onRetry?.(partition, 'claiming the partition', retry),
    )
    this.#folders.set(partition, folder)
    return folder
  }

  get(partition: number): PartitionFolder | undefined {
    return this.#folders.get(partition)
  }

  owned(): PartitionFolder[] {
    return [...this.#folders.values()]
  }

  /** Commits the partition's pending window, then gives the partition up. */
  async release(partition: number): Promise<void> {
    const folder = this.#folders.get(partition)
    if (folder === undefined) return
    try {
      await folder.flush()
    } catch (error) {
      this.#onError(error as StrataError)
    }
    folder.stop('released')
    this.#folders.delete(partition)
    const { folded, skipped } = folder.stats()
    const before = this.#released.get(partition) ?? { folded: 0, skipped: 0 }
    this.#released.set(partition, { folded: before.folded + folded, skipped: before.skipped + skipped })
  }

  async releaseAll(): Promise<void> {
    await Promise.all([...this.#folders.keys()].map((p) => this.release(p)))
  }

  /** Owned partitions as their folders see them, with the counters of this process so far. */
  stats(): PartitionStats[] {
    return this.owned()
      .map((folder) => {
        const stats = folder.stats()
        const before = this.#released.get(folder.partition)
        if (before) {
          stats.folded += before.folded
          stats.skipped += before.skipped
        }
        return stats
      })
      .sort((a, b) => a.partition - b.partition)
  }
}
