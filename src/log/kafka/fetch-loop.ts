// The delivery loop of the group consumer: fetches the partitions this member owns, at the offsets
// it tracks, and hands each partition's records to the caller one batch at a time.
//
// Two offsets per partition: `offset`, the next record not yet handled by the caller (what a
// revoke or a commit reports), and `fetchOffset`, where the next fetch starts. While the caller
// handles a fetch's batches the next fetch is already on the wire (one fetch of read-ahead), so
// the network and the caller's work overlap. Every assignment change bumps `#epoch`; a fetch
// answer from an older epoch is dropped unread, so a revoked partition is never delivered again
// and a reassigned one restarts exactly where the new assignment says.
//
// A retriable failure is asked again with backoff, for ever: a leader election or a broker
// restart heals by itself. Meanwhile each partition that could not be read is in `trouble()`
// (since when, how many times, why), which the roles' health turns into degraded, then stalled;
// a partition with no leader fails alone, the others go on.
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import type { Fetcher, FetchOptions } from './fetcher.ts'
import type { PartitionBatch } from './records.ts'
import { type PartitionOffset, partitionKey } from './start-offsets.ts'

/** A partition whose reads are failing now. */
export interface FetchTrouble {
  topic: string
  partition: number
  failures: number
  since: number
  reason: string
}

interface Owned {
  topic: string
  partition: number
  offset: number
  fetchOffset: number
}

type FetchResult =
  | { epoch: number; from: Map<string, number>; batches: PartitionBatch[] }
  | { epoch: number; error: StrataError }

export class FetchLoop {
  #fetcher: Fetcher
  #onBatch: (batch: PartitionBatch) => Promise<void> | void
  #onFatal: (error: StrataError) => void
  #options: FetchOptions
  #owned = new Map<string, Owned>()
  #trouble = new Map<string, FetchTrouble>()
  // When each troubled partition may be asked for again. A partition-level error comes back at
  // once (the broker answers without waiting when a partition fails), so asking again at the next
  // fetch spun the loop, and the broker, as fast as they could go while the other partitions were
  // idle: a troubled partition sits out the fetches until its own backoff has passed.
  #retryAt = new Map<string, number>()
  // The trouble of the partitions revoked last, for a rebalance that gives them back: every
  // rebalance revokes and reassigns everything, and a partition unreadable through rebalances
  // closer than STALLED_AFTER_MS (a member crash-looping, scaling) would otherwise be reported
  // degraded, its `since` reset each time, and never stalled.
  #revokedTrouble = { at: 0, trouble: new Map<string, FetchTrouble>() }
  #epoch = 0
  #paused = true
  #stopped = false
  #delivering: Promise<void> | undefined
  #wake: (() => void) | undefined
  #running: Promise<void> | undefined

  constructor(
    fetcher: Fetcher,
    onBatch: (batch: PartitionBatch) => Promise<void> | void,
    onFatal: (error: StrataError) => void,
    options: FetchOptions,
  ) {
    this.#fetcher = fetcher
    this.#onBatch = onBatch
    this.#onFatal = onFatal
    this.#options = options
  }

  /** Starts delivering these partitions from these offsets (replacing any previous assignment). */
  assign(partitions: readonly PartitionOffset[]): void {
    this.#epoch++
    this.#owned = new Map(
      partitions.map((p) => [partitionKey(p.topic, p.partition), { ...p, fetchOffset: p.offset }]),
    )
    this.#trouble.clear()
    this.#retryAt.clear()
    if (Date.now() - this.#revokedTrouble.at < KEEP_REVOKED_TROUBLE_MS) {
      for (const [key, trouble] of this.#revokedTrouble.trouble) {
        if (this.#owned.has(key)) this.#trouble.set(key, trouble)
      }
    }
    this.#revokedTrouble.trouble.clear()
    this.#paused = false
    this.#running ??= this.#run().catch((error) => {
      this.#stopped = true
      this.#onFatal(new StrataError(ErrorCodes.INTERNAL, 'The fetch loop failed', { cause: error }))
    })
    this.#notify()
  }

  /** Stops delivering; resolves once no batch is being handled, with where each partition stands. */
  async pause(): Promise<PartitionOffset[]> {
    this.#paused = true
    this.#epoch++
    this.#notify()
    await this.#delivering?.catch(() => undefined)
    return this.positions()
  }

  /** Forgets every partition (after the caller was told they are revoked). */
  clear(): void {
    this.#epoch++
    this.#owned.clear()
    this.#revokedTrouble = { at: Date.now(), trouble: this.#trouble }
    this.#trouble = new Map()
    this.#retryAt.clear()
  }

  /** Owned partitions whose last reads failed, with since when and why. */
  trouble(): FetchTrouble[] {
    return [...this.#trouble.values()].map((t) => ({ ...t }))
  }

  #troubled(topic: string, partition: number, error: StrataError): void {
    const key = partitionKey(topic, partition)
    if (!this.#owned.has(key)) return
    const last = this.#trouble.get(key)
    const failures = (last?.failures ?? 0) + 1
    this.#retryAt.set(key, Date.now() + backOffMs(failures))
    this.#trouble.set(key, {
      topic,
      partition,
      failures,
      since: last?.since ?? Date.now(),
      reason: `${error.message} [${error.code}]`,
    })
  }

  owns(topic: string, partition: number): boolean {
    return this.#owned.has(partitionKey(topic, partition))
  }

  positions(): PartitionOffset[] {
    return [...this.#owned.values()].map(({ topic, partition, offset }) => ({ topic, partition, offset }))
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#paused = true
    this.#epoch++
    this.#notify()
    await this.#delivering?.catch(() => undefined)
  }

  #notify(): void {
    this.#wake?.()
    this.#wake = undefined
  }

  async #fetchOnce(): Promise<FetchResult> {
    const epoch = this.#epoch
    const now = Date.now()
    let owned = [...this.#owned.values()]
    const waiting = owned.filter((p) => (this.#retryAt.get(partitionKey(p.topic, p.partition)) ?? 0) > now)
    // Every partition backing off: the soonest is asked for, as a fetch of them all would be.
    if (waiting.length < owned.length) owned = owned.filter((p) => !waiting.includes(p))
    const from = new Map(owned.map((p) => [partitionKey(p.topic, p.partition), p.fetchOffset]))
    try {
      const positions = owned.map(({ topic, partition, fetchOffset }) => ({
        topic,
        partition,
        offset: fetchOffset,
      }))
      return { epoch, from, batches: await this.#fetcher.fetch(positions, this.#options) }
    } catch (error) {
      const failure =
        error instanceof StrataError
          ? error
          : new StrataError(ErrorCodes.KAFKA, 'Fetch failed', { cause: error })
      return { epoch, error: failure }
    }
  }

  async #run(): Promise<void> {
    let inflight: Promise<FetchResult> | undefined
    let failures = 0
    while (!this.#stopped) {
      if (this.#paused || this.#owned.size === 0) {
        inflight = undefined
        await new Promise<void>((resolve) => {
          this.#wake = resolve
        })
        continue
      }
      const result = await (inflight ?? this.#fetchOnce())
      inflight = undefined
      if (result.epoch !== this.#epoch || this.#paused) continue
      if ('error' in result) {
        if (!result.error.retriable) {
          this.#stopped = true
          this.#onFatal(result.error)
          return
        }
        for (const owned of this.#owned.values()) this.#troubled(owned.topic, owned.partition, result.error)
        failures++
        await backOff(failures)
        continue
      }
      let read = 0
      for (const batch of result.batches) {
        if (batch.error) {
          this.#troubled(batch.topic, batch.partition, batch.error)
          continue
        }
        read++
        this.#trouble.delete(partitionKey(batch.topic, batch.partition))
        this.#retryAt.delete(partitionKey(batch.topic, batch.partition))
        const owned = this.#owned.get(partitionKey(batch.topic, batch.partition))
        if (owned && owned.fetchOffset === result.from.get(partitionKey(batch.topic, batch.partition))) {
          owned.fetchOffset = Math.max(owned.fetchOffset, batch.nextOffset)
        }
      }
      // Nothing could be read (every partition without a leader, say): ask again after a pause,
      // not at once in a tight loop.
      if (read === 0 && result.batches.length > 0) {
        failures++
        await backOff(failures)
        continue
      }
      failures = 0
      inflight = this.#fetchOnce()
      for (const batch of result.batches) {
        if (result.epoch !== this.#epoch || this.#paused) break
        if (batch.error) continue
        const owned = this.#owned.get(partitionKey(batch.topic, batch.partition))
        const from = result.from.get(partitionKey(batch.topic, batch.partition))
        if (!owned || owned.offset !== from) continue
        this.#delivering = this.#deliver(owned, batch)
        try {
          await this.#delivering
        } catch (error) {
          this.#stopped = true
          this.#onFatal(
            new StrataError(
              ErrorCodes.INTERNAL,
              `The batch handler failed on ${batch.topic}[${batch.partition}]`,
              {
                cause: error,
              },
            ),
          )
          return
        } finally {
          this.#delivering = undefined
        }
      }
    }
  }

  // The offset moves inside the same promise the revoke path awaits, so a revoke that waited
  // for this batch always reports the offset after it.
  async #deliver(owned: Owned, batch: PartitionBatch): Promise<void> {
    if ((batch.spans?.count ?? batch.records.length) > 0) await this.#onBatch(batch)
    owned.offset = batch.nextOffset
  }
}

const KEEP_REVOKED_TROUBLE_MS = 60_000

function backOffMs(failures: number): number {
  return Math.min(2000, 50 * 2 ** Math.min(failures, 6))
}

function backOff(failures: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, backOffMs(failures)))
}
