// The SDK call: send events from a Node.js service to Strata's source topic, with the same
// validation as POST /events and `strata produce` (one validator for every door).
//
//   const events = createEventProducer({ brokers: '127.0.0.1:9092', topic: 'events' })
//   await events.send({ type: 'page_view', url: '/a', user: 'u1', ts: Date.now() })
//   await events.close()
import type { EventLimits, StrataEvent } from '../core/event.ts'
import { createIngest, type IngestResult } from './ingest.ts'
import { createKafkaSink } from './kafka-sink.ts'

export interface EventProducerOptions {
  brokers: string
  topic: string
  /** Event-time field (default `ts`). */
  time?: string
  /** Event field used as the record key, so one key stays in one partition. */
  keyField?: string
  /** Partitions if the topic has to be created (default 6). */
  partitions?: number
  limits?: EventLimits
}

export interface EventProducer {
  /** Validates then writes (acks=all); resolves with the partition and offset of each event. */
  send(events: StrataEvent | StrataEvent[]): Promise<IngestResult>
  close(): Promise<void>
}

export function createEventProducer(options: EventProducerOptions): EventProducer {
  const sink = createKafkaSink({
    brokers: options.brokers,
    topic: options.topic,
    partitions: options.partitions ?? 6,
  })
  const ingest = createIngest({
    sink,
    timeField: options.time,
    keyField: options.keyField,
    limits: options.limits,
  })
  return {
    send: (events) => ingest.ingestEvents(events),
    close: () => sink.close(),
  }
}
