// Records on the source topic that are not events (written there by other producers: not JSON,
// no event time, too large) are never dropped silently: the archiver sends each to a dead-letter
// topic, with its original key and bytes, and headers that say why and where it came from:
//   strata-reason            the validation error
//   strata-origin-topic      the source topic
//   strata-origin-partition  its partition
//   strata-origin-offset     its offset
// The pipeline goes on; the record's offset becomes a gap in the master dataset's segment range.
// Delivery is at least once: a record rejected again after an archiver restart (its segment was
// not yet written) is sent again; (origin-partition, origin-offset) identifies duplicates.
import { createAdmin } from './admin.ts'
import { createProducer, type KafkaProducer } from './producer.ts'

/** A record that is not an event, where it came from and why (the archiver's Rejection fits). */
export interface DeadLetter {
  partition: number
  record: { offset: number; timestamp: number; key: Buffer | string | null; value: Buffer }
  reason: string
}

export const deadLetterTopic = (topic: string): string => `${topic}.dead-letter`

export interface DeadLetterWriter {
  write(rejection: DeadLetter): Promise<void>
  /** Resolves once every write so far is acknowledged (acks=all). */
  flush(): Promise<void>
  close(): Promise<void>
}

export function createDeadLetterWriter(options: { brokers: string; topic: string }): DeadLetterWriter {
  const target = deadLetterTopic(options.topic)
  let producer: Promise<KafkaProducer> | undefined
  const pending = new Set<Promise<void>>()

  async function connect(): Promise<KafkaProducer> {
    const admin = createAdmin({ brokers: options.brokers })
    try {
      const exists = await admin.describeTopic(target).then(
        () => true,
        () => false,
      )
      if (!exists) {
        // The cluster's default.replication.factor, as every topic Strata creates.
        await admin.createTopic({
          topic: target,
          partitions: 1,
          configs: { 'retention.ms': '-1' },
        })
      }
    } finally {
      await admin.close()
    }
    return createProducer({ brokers: options.brokers, clientId: 'strata-dead-letter' })
  }

  return {
    write(rejection) {
      producer ??= connect()
      const { record, partition, reason } = rejection
      const sent = producer
        .then((p) =>
          p.send(target, [
            {
              key: record.key,
              value: record.value,
              headers: {
                'strata-reason': reason,
                'strata-origin-topic': options.topic,
                'strata-origin-partition': String(partition),
                'strata-origin-offset': String(record.offset),
              },
            },
          ]),
        )
        .then(() => undefined)
      pending.add(sent)
      sent.finally(() => pending.delete(sent)).catch(() => undefined)
      return sent
    },
    async flush() {
      await Promise.all(pending)
    },
    async close() {
      await Promise.allSettled(pending)
      if (producer) await (await producer).close()
    },
  }
}
