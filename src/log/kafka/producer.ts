// The producer every Strata role writes with: idempotent, acks=all, retries on retriable errors,
// and for each record the partition and offset it was written at.
//
// `send()` queues its records per partition, in call order; sender.ts sends them with up to five
// produce requests in flight per broker (as Java's producer with idempotence), merging whatever
// is queued into each request (up to `maxRequestBytes`, and `maxBatchBytes` per partition), with
// no linger delay when idle. Every batch keeps its idempotent sequence number across retries, and
// a partition with a batch to retry sends nothing new until the earlier batches are answered, so
// a retry neither duplicates nor reorders (partition-lane.ts; decision 0017).
//
// A call whose records span several batches can fail in part: the batches that were
// acknowledged stay written (all-or-nothing would need a transactional producer). The error says
// how many records were written.
import { Producer } from '@platformatic/kafka'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import type { RecordPosition } from '../log.ts'
import {
  baseClientOptions,
  isUnknownTopic,
  type KafkaClientOptions,
  toStrataError,
} from './client-options.ts'
import { type LaneEntry, MAX_IN_FLIGHT, type RecordSink } from './partition-lane.ts'
import { StickyRoundRobin } from './partitioner.ts'
import { type PreparedRecord, type ProducerRecord, prepareRecords } from './produce-batch.ts'
import { Sender } from './sender.ts'

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
  /**
   * Upper bound in ms on the time from send() to its outcome (Kafka's `delivery.timeout.ms`,
   * default 120 s): time waiting for metadata and in the partition's queue, requests and their
   * retries included. A record not acknowledged by then fails with STRATA_ERR_KAFKA_DELIVERY_TIMEOUT
   * (written or not, as the message says). A request on the wire is never abandoned midway: a
   * deadline that falls during one is applied to its answer, so the bound can be passed by at most
   * one request `timeout`. `retries` still gives up sooner when they run out.
   */
  deliveryTimeout?: number
}

export interface KafkaProducer {
  /** Writes the records with acks=all; resolves, in input order, where each one was written. */
  send(topic: string, records: readonly ProducerRecord[]): Promise<RecordPosition[]>
  /** The topic's partition count, as the partitioner sees it. */
  partitionsFor(topic: string): Promise<number>
  /** Waits for queued sends, then closes the connections. */
  close(): Promise<void>
}

// One send() call: settles once every record is written or failed.
class PendingCall implements RecordSink {
  readonly settled: Promise<RecordPosition[]>
  #records: PreparedRecord[]
  #positions: RecordPosition[]
  #remaining: number
  #failed = 0
  #error: Error | undefined
  #resolve!: (positions: RecordPosition[]) => void
  #reject!: (error: Error) => void

  constructor(records: PreparedRecord[]) {
    this.#records = records
    this.#positions = new Array(records.length)
    this.#remaining = records.length
    this.settled = new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
  }

  written(index: number, offset: number): void {
    this.#positions[index] = { partition: this.#records[index]!.partition, offset }
    if (--this.#remaining === 0) this.#settle()
  }

  failed(_index: number, error: Error): void {
    this.#failed++
    this.#error ??= error
    if (--this.#remaining === 0) this.#settle()
  }

  #settle(): void {
    const total = this.#records.length
    const error = this.#error
    if (!error) this.#resolve(this.#positions)
    else if (this.#failed === total) this.#reject(error)
    else
      this.#reject(
        new StrataError(
          (error as StrataError).code === ErrorCodes.KAFKA_DELIVERY_TIMEOUT
            ? ErrorCodes.KAFKA_DELIVERY_TIMEOUT
            : ErrorCodes.KAFKA,
          `Only ${total - this.#failed} of ${total} records were written: ${error.message}`,
          { cause: error, retriable: (error as StrataError).retriable },
        ),
      )
  }
}

/** Kafka's default `delivery.timeout.ms`. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 120_000

export function createProducer(options: ProducerOptions): KafkaProducer {
  const deliveryTimeout = options.deliveryTimeout ?? DEFAULT_DELIVERY_TIMEOUT_MS
  if (!(deliveryTimeout > 0)) {
    throw new StrataError(
      ErrorCodes.INVALID_ARGUMENT,
      `deliveryTimeout must be a number of ms > 0, not ${options.deliveryTimeout}`,
      { field: 'deliveryTimeout' },
    )
  }
  // Not platformatic's idempotent mode: sender.ts keeps the producer id and the sequences itself
  // (platformatic would force one request in flight per connection).
  const producer = new Producer({
    ...baseClientOptions(options, 'producer'),
    maxInflights: MAX_IN_FLIGHT,
  })
  const sender = new Sender({
    client: producer,
    compression: options.compression ?? 'none',
    timeout: options.timeout ?? 5000,
    retries: options.retries ?? 10,
    retryDelay: options.retryDelay ?? 250,
    maxRequestBytes: options.maxRequestBytes ?? 8 * 1024 * 1024,
    maxBatchBytes: options.maxBatchBytes ?? 900 * 1024,
    deliveryTimeout,
  })
  const sticky = new StickyRoundRobin()
  const pending = new Set<Promise<unknown>>()
  let admission: Promise<void> = Promise.resolve()
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

  return {
    async send(topic, records) {
      if (closed) throw new StrataError(ErrorCodes.KAFKA, 'The producer is closed')
      if (records.length === 0) return []
      const deadline = Date.now() + deliveryTimeout
      // Calls are queued in the order they were made, whatever order their metadata arrives in:
      // per partition, records land in call order.
      const partitions = partitionsFor(topic)
      const admitted = admission.then(async () => {
        const count = await partitions
        const prepared = prepareRecords(topic, records, count, sticky.nextPartition(topic, count))
        const call = new PendingCall(prepared)
        const entries: LaneEntry[] = prepared.map((record, index) => ({
          record,
          sink: call,
          index,
          deadline,
        }))
        const settled = call.settled
        pending.add(settled)
        settled.then(
          () => pending.delete(settled),
          () => pending.delete(settled),
        )
        sender.enqueue(entries)
        return { settled } // wrapped: the admission of the next call waits for this enqueue only
      })
      admission = admitted.then(
        () => {},
        () => {},
      )
      return (await admitted).settled
    },

    partitionsFor,

    async close() {
      closed = true
      // A send() made before close() may still wait for its metadata (admission): it is not in
      // `pending` until enqueued, and would otherwise reach a closed client.
      await admission
      await Promise.allSettled([...pending])
      sender.close()
      await producer.close()
    },
  }
}
