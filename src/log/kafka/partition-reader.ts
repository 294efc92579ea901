// Reads one partition between two offsets, outside any consumer group: for replay (rebuilding
// realtime state from a horizon), for the archiver's catch-up checks, and for tests.
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import type { KafkaClientOptions } from './client-options.ts'
import { createFetcher, type FetchOptions } from './fetcher.ts'
import type { ConsumedRecord } from './records.ts'

export interface PartitionReader {
  /**
   * Batches of the records at `from <= offset < to`, in offset order. Without `to`, reads up to
   * the partition's end as of the first answer (its last stable offset), so it always finishes;
   * with `to` past the end, it waits for records to arrive.
   */
  read(topic: string, partition: number, from: number, to?: number): AsyncGenerator<ConsumedRecord[]>
  close(): Promise<void>
}

export function createPartitionReader(options: KafkaClientOptions & FetchOptions): PartitionReader {
  const fetcher = createFetcher(options)
  // A retriable failure (a leader election, a broker restarting) is tried again, as
  // platformatic's own fetch did before the fetcher sent its requests itself (decision 0001,
  // addendum of 2026-12-06): `retries` more times, `retryDelay` apart.
  async function fetchRetrying<T>(attempt: () => Promise<T>): Promise<T> {
    for (let failures = 0; ; failures++) {
      try {
        return await attempt()
      } catch (error) {
        if (!(error instanceof StrataError) || !error.retriable || failures >= (options.retries ?? 3))
          throw error
        fetcher.refresh()
        await new Promise((resolve) => setTimeout(resolve, options.retryDelay ?? 250))
      }
    }
  }
  return {
    async *read(topic, partition, from, to) {
      let offset = from
      let end = to
      while (end === undefined || offset < end) {
        const [batch] = await fetchRetrying(async () => {
          const [answer] = await fetcher.fetch([{ topic, partition, offset }], options)
          if (answer?.error) throw answer.error
          return [answer]
        })
        if (!batch)
          throw new StrataError(ErrorCodes.KAFKA, `No answer for ${topic}[${partition}] at ${offset}`)
        end ??= batch.highWatermark
        const records = batch.records.filter((record) => record.offset < end!)
        if (records.length > 0) yield records
        offset = Math.max(offset, batch.nextOffset)
      }
    },
    close: () => fetcher.close(),
  }
}

/** All records of `topic[partition]` at `from <= offset < to` (default: up to its current end). */
export async function readPartition(
  options: KafkaClientOptions &
    FetchOptions & { topic: string; partition: number; from?: number; to?: number },
): Promise<ConsumedRecord[]> {
  const reader = createPartitionReader(options)
  try {
    const records: ConsumedRecord[] = []
    for await (const batch of reader.read(options.topic, options.partition, options.from ?? 0, options.to)) {
      records.push(...batch)
    }
    return records
  } finally {
    await reader.close()
  }
}
