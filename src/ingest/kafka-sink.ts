// Ingest's sink in Kafka mode: the project's idempotent producer (acks=all) bound to a topic,
// which it creates when missing (an existing topic is used as it is, whatever its partition
// count) unless told the caller ensured it: the roles of a deployment ensure their config's
// source topic once, with its checks (runtime/source-topic.ts), and pass `createTopic: false`.
// Connects on first use, so input that fails validation never opens a connection. The producer
// splits large inputs into requests under message.max.bytes.
import { createAdmin, createProducer, type KafkaProducer } from '../log/kafka/index.ts'
import type { RecordPosition } from '../log/log.ts'
import type { EventSink, SinkRecord } from './ingest.ts'

export interface KafkaSinkOptions {
  brokers: string
  topic: string
  /** Used only when the topic has to be created. */
  partitions: number
  /** Used only when the topic has to be created; default min(3, brokers given). */
  replicationFactor?: number
  /** False: the caller ensured the topic (ensureSourceTopic); the sink only writes. Default true. */
  createTopic?: boolean
}

export interface KafkaSink extends EventSink {
  close(): Promise<void>
}

export function createKafkaSink(options: KafkaSinkOptions): KafkaSink {
  let connected: KafkaProducer | undefined
  let ready: Promise<KafkaProducer> | undefined

  async function connect(): Promise<KafkaProducer> {
    if (options.createTopic !== false) await createIfMissing(options)
    connected = createProducer({ brokers: options.brokers, clientId: 'strata-ingest' })
    return connected
  }

  return {
    async append(records: SinkRecord[]): Promise<RecordPosition[]> {
      ready ??= connect()
      const producer = await ready
      return producer.send(options.topic, records)
    },
    async close() {
      if (ready) await ready.catch(() => undefined)
      await connected?.close()
    },
  }
}

async function createIfMissing(options: KafkaSinkOptions): Promise<void> {
  const admin = createAdmin({ brokers: options.brokers })
  try {
    const exists = await admin.describeTopic(options.topic).then(
      () => true,
      () => false,
    )
    if (!exists)
      await admin.createTopic({
        topic: options.topic,
        partitions: options.partitions,
        // Absent: the cluster's default.replication.factor.
        ...(options.replicationFactor === undefined ? {} : { replicationFactor: options.replicationFactor }),
      })
  } finally {
    await admin.close()
  }
}
