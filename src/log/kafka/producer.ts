// The producer every Strata role writes with: idempotent, acks=all, retries on retriable errors,
// and for each record the partition and offset it was written at.
//
// One produce request in flight at a time; `send()` calls made meanwhile queue up and go out
// merged into the next request (within `maxRequestBytes`, and `maxBatchBytes` per partition). Under load this batches by itself, with
// no linger delay when idle, and it keeps records in call order per partition, which an
// idempotent producer needs: with several requests in flight a retried one can land behind a
// later one, and platformatic then resets the producer id, losing the broker's de-duplication.
//
// A call whose records exceed one request is written as several requests, in order; if a later
// one fails, the earlier ones stay written (all-or-nothing across requests would need a
// transactional producer). The error says so.
import { Producer } from '@platformatic/kafka'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import type { RecordPosition } from '../log.ts'
import {
  baseClientOptions,
  isUnknownTopic,
  type KafkaClientOptions,
  toOffset,
  toStrataError,
} from './client-options.ts'
import { StickyRoundRobin } from './partitioner.ts'
import {
  chunkRecords,
  type PreparedRecord,
  type ProducerRecord,
  positionsFromBaseOffsets,
  prepareRecords,
  RequestBudget,
  type RequestLimits,
} from './produce-batch.ts'

export type { ProducerRecord } from './produce-batch.ts'

export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'

export interface ProducerOptions extends KafkaClientOptions {
  compression?: Compression
  /** Largest produce request we build, bytes before compression (default 8 MiB). */
  maxRequestBytes?: number
  /**
   * Largest share of one partition in a request (default 900 KiB): the broker refuses a record
   * batch over its `message.max.bytes`, 1 MiB by default.
   */
  maxBatchBytes?: number
}

export interface KafkaProducer {
  /** Writes the records with acks=all; resolves, in input order, where each one was written. */
  send(topic: string, records: readonly ProducerRecord[]): Promise<RecordPosition[]>
  /** The topic's partition count, as the partitioner sees it. */
  partitionsFor(topic: string): Promise<number>
  /** Waits for queued sends, then closes the connections. */
  close(): Promise<void>
}

interface QueuedChunk {
  records: PreparedRecord[]
  settle: (error: unknown, positions?: RecordPosition[]) => void
}

export function createProducer(options: ProducerOptions): KafkaProducer {
  const producer = new Producer({
    ...baseClientOptions(options, 'producer'),
    idempotent: true, // implies acks=all, one in-flight request per connection, retries
    compression: options.compression ?? 'none',
    retries: options.retries ?? 10,
  })
  const limits: RequestLimits = {
    maxRequestBytes: options.maxRequestBytes ?? 8 * 1024 * 1024,
    maxBatchBytes: options.maxBatchBytes ?? 900 * 1024,
  }
  const sticky = new StickyRoundRobin()
  const queue: QueuedChunk[] = []
  let flushing: Promise<void> | undefined
  let closed = false

  async function partitionsFor(topic: string): Promise<number> {
    try {
      const metadata = await producer.metadata({ topics: [topic], retries: 3 })
      const count = metadata.topics.get(topic)?.partitionsCount
      if (!count) throw new StrataError(ErrorCodes.TOPIC, `Topic ${topic} does not exist`)
      return count
    } catch (error) {
      if (error instanceof StrataError) throw error
      if (isUnknownTopic(error)) {
        throw new StrataError(ErrorCodes.TOPIC, `Topic ${topic} does not exist`, { cause: error })
      }
      throw toStrataError(error, `Cannot read the metadata of ${topic}`)
    }
  }

  // Takes queued chunks (from any calls and topics) while they fit one request and sends them as
  // one; loops until the queue is empty.
  async function flush(): Promise<void> {
    while (queue.length > 0) {
      const taken: QueuedChunk[] = [queue.shift()!]
      const budget = new RequestBudget(limits)
      budget.add(taken[0]!.records)
      while (queue.length > 0 && budget.fits(queue[0]!.records)) {
        budget.add(queue[0]!.records)
        taken.push(queue.shift()!)
      }
      const records = taken.flatMap((chunk) => chunk.records)
      try {
        const result = await producer.send({
          messages: records.map(({ topic, partition, key, value, headers, timestamp }) => ({
            topic,
            partition,
            key,
            value,
            ...(headers ? { headers } : {}),
            ...(timestamp === undefined ? {} : { timestamp }),
          })),
        })
        const baseOffsets = new Map<string, number>()
        for (const { topic, partition, offset } of result.offsets ?? []) {
          baseOffsets.set(`${topic}:${partition}`, toOffset(offset))
        }
        const positions = positionsFromBaseOffsets(records, baseOffsets)
        let start = 0
        for (const chunk of taken) {
          chunk.settle(null, positions.slice(start, start + chunk.records.length))
          start += chunk.records.length
        }
      } catch (error) {
        const failure = toStrataError(error, 'Cannot produce')
        for (const chunk of taken) chunk.settle(failure)
      }
    }
  }

  function enqueue(chunk: QueuedChunk): void {
    queue.push(chunk)
    flushing ??= flush().finally(() => {
      flushing = undefined
    })
  }

  return {
    async send(topic, records) {
      if (closed) throw new StrataError(ErrorCodes.KAFKA, 'The producer is closed')
      if (records.length === 0) return []
      const partitions = await partitionsFor(topic)
      const prepared = prepareRecords(topic, records, partitions, sticky.nextPartition(topic, partitions))
      const chunks = chunkRecords(prepared, limits)
      const written: RecordPosition[][] = []
      // Chunks of one call are queued together, so they go out in order, back to back.
      const settled = chunks.map(
        (records) =>
          new Promise<RecordPosition[]>((resolve, reject) => {
            enqueue({
              records,
              settle: (error, positions) => (error ? reject(error) : resolve(positions!)),
            })
          }),
      )
      for (const [index, promise] of settled.entries()) {
        try {
          written.push(await promise)
        } catch (error) {
          await Promise.allSettled(settled)
          if (index === 0) throw error
          const done = written.reduce((sum, part) => sum + part.length, 0)
          throw new StrataError(
            ErrorCodes.KAFKA,
            `Only the first ${done} of ${records.length} records were written: ${(error as Error).message}`,
            { cause: error, retriable: (error as StrataError).retriable },
          )
        }
      }
      return written.flat()
    },

    partitionsFor,

    async close() {
      closed = true
      await flushing
      await producer.close()
    },
  }
}
