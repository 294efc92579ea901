// The Kafka log: the only place Strata touches a Kafka client (@platformatic/kafka today), so the
// choice stays cheap to change (docs/decisions/0001-kafka-client.md).

// Clients
export {
  createAdmin,
  type GroupDescription,
  type KafkaAdmin,
  type PartitionOffsets,
  type TopicDescription,
  type TopicSpec,
} from './admin.ts'
// Options and errors shared by the clients
export { type KafkaClientOptions, parseBrokers } from './client-options.ts'
// Consuming in a group, offsets owned by the caller
export {
  type ConsumerOptions,
  createConsumer,
  type GroupInfo,
  type KafkaConsumer,
} from './consumer.ts'
export { createPartitionReader, type PartitionReader, readPartition } from './partition-reader.ts'
// Partitioning, byte-exact with Kafka's Java producer
export { murmur2, partitionForKey, StickyRoundRobin, toPositive } from './partitioner.ts'
export {
  type Compression,
  createProducer,
  type KafkaProducer,
  type ProducerOptions,
  type ProducerRecord,
  type RecordPosition,
} from './producer.ts'
// Reading without a group (replay, checks, tests)
export type { ConsumedRecord, PartitionBatch } from './records.ts'
export type { PartitionOffset, StartOffsets, TopicPartition } from './start-offsets.ts'
