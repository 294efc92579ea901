// The Kafka log: the only place Strata touches a Kafka client (@platformatic/kafka today), so the
// choice stays cheap to change (docs/decisions/0001-kafka-client.md). Exports sorted by file.

// Topics, offsets and groups
export {
  createAdmin,
  type GroupDescription,
  type KafkaAdmin,
  type PartitionOffsets,
  type TopicDescription,
  type TopicSpec,
} from './admin.ts'
// Options every client takes
export { type KafkaClientOptions, parseBrokers } from './client-options.ts'
// A consumer-group member whose offsets the caller owns
export { type ConsumerOptions, createConsumer, type GroupInfo, type KafkaConsumer } from './consumer.ts'
// Where the archiver sends records that are not events
export {
  createDeadLetterWriter,
  type DeadLetter,
  type DeadLetterWriter,
  deadLetterTopic,
} from './dead-letter.ts'
// The consumer group as a PartitionSource (src/log/partition-source.ts)
export { consumerGroupSource, type GroupSourceOptions } from './group-source.ts'
// Reading a partition without a group (replay, checks, tests)
export { createPartitionReader, type PartitionReader, readPartition } from './partition-reader.ts'
// Partitioning, byte-exact with Kafka's Java producer
export { murmur2, partitionForKey, StickyRoundRobin, toPositive } from './partitioner.ts'
// The idempotent producer with per-record offsets
export {
  type Compression,
  createProducer,
  type KafkaProducer,
  type ProducerOptions,
  type ProducerRecord,
} from './producer.ts'
// What consumers and readers deliver
export type { ConsumedRecord, PartitionBatch } from './records.ts'
// Partitions and offsets in callbacks and commits
export type { PartitionOffset, StartOffsets, TopicPartition } from './start-offsets.ts'
