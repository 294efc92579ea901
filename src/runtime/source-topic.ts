// The source topic, as every role finds it at start. Roles create it from the config when it is
// missing, so the README's production shape starts on an empty cluster whichever role comes
// first; a principal not allowed to create topics waits for it instead, saying so. A topic whose
// partition count is not the config's is refused: keys map to partitions by that count, and every
// offset the store and the master dataset hold is per partition.
import type { StrataConfig } from '../core/config.ts'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { hasApiError } from '../log/kafka/client-options.ts'
import { createAdmin, type KafkaAdmin, type TopicDescription } from '../log/kafka/index.ts'
import type { Logger } from './logger.ts'

/** What a data folder and a store were built from (source-identity.ts records and compares it). */
export type SourceIdentity =
  | { kind: 'embedded'; topic: string; partitions: number }
  | { kind: 'kafka'; clusterId: string; topic: string; topicId: string; partitions: number }

export interface SourceTopicContext {
  config: StrataConfig
  brokers?: string
  logger: Logger
}

/** What a role without brokers reads: the embedded log. */
export function embeddedSource(config: StrataConfig): SourceIdentity {
  return { kind: 'embedded', topic: config.source.topic, partitions: config.source.partitions }
}

function kafkaSource(description: TopicDescription): SourceIdentity {
  return {
    kind: 'kafka',
    clusterId: description.clusterId,
    topic: description.topic,
    topicId: description.id,
    partitions: description.partitions.length,
  }
}

// Kafka's answer to a principal without the Create ACL (on the topic or the cluster).
// createTopic wraps the client's error in a StrataError: look at it and at its cause.
const isNotAllowed = (error: unknown) =>
  [error, (error as Error | undefined)?.cause].some(
    (e) => hasApiError(e, 'TOPIC_AUTHORIZATION_FAILED') || hasApiError(e, 'CLUSTER_AUTHORIZATION_FAILED'),
  )

export interface EnsureOptions {
  /** How long to wait for a topic this principal may not create (default 2 min). */
  waitMs?: number
  pollMs?: number
  /** The admin client (tests); by default one on `context.brokers`, closed after. */
  admin?: KafkaAdmin
  /**
   * Called when the topic is missing, before it is created; throwing refuses the start with the
   * cluster untouched (a data folder or store already recorded from a source: a new topic would
   * be another source, so it would be refused right after creating it).
   */
  beforeCreate?: () => Promise<void>
}

/**
 * The source topic of the config, created when missing with the config's partitions and
 * replication factor; returns its identity. Refuses (STRATA_ERR_SOURCE_MISMATCH) a topic with
 * another partition count.
 */
export async function ensureSourceTopic(
  context: SourceTopicContext,
  options: EnsureOptions = {},
): Promise<SourceIdentity> {
  const { source } = context.config
  const admin = options.admin ?? createAdmin({ brokers: context.brokers! })
  try {
    let description = await describeIfExists(admin, source.topic)
    if (!description) {
      await options.beforeCreate?.()
      try {
        description = await admin.createTopic({
          topic: source.topic,
          partitions: source.partitions,
          ...(source.replicationFactor === undefined ? {} : { replicationFactor: source.replicationFactor }),
        })
        context.logger.info(
          description.created === false
            ? `topic ${source.topic} was created meanwhile by another client (${description.partitions.length} partitions, replication ${replicationOf(description)})`
            : `created topic ${source.topic} (${source.partitions} partitions, replication ${replicationOf(description)}${source.replicationFactor === undefined ? ", the cluster's default" : ''})`,
        )
      } catch (error) {
        if (!isNotAllowed(error)) throw error
        description = await waitForTopic(admin, context, options)
      }
    }
    if (description.partitions.length !== source.partitions) {
      throw new StrataError(
        ErrorCodes.SOURCE_MISMATCH,
        `topic ${source.topic} has ${description.partitions.length} partitions and the config says ${source.partitions}: ` +
          'keys map to partitions by that count, so the data folder and the store would no longer match the topic. ' +
          `Set source.partitions to ${description.partitions.length} and start on a new --data and --store (or strata reset them), or use another topic`,
      )
    }
    warnIfUnderReplicated(description, context)
    return kafkaSource(description)
  } finally {
    if (!options.admin) await admin.close()
  }
}

async function describeIfExists(admin: KafkaAdmin, topic: string): Promise<TopicDescription | undefined> {
  try {
    return await admin.describeTopic(topic)
  } catch (error) {
    if (error instanceof StrataError && error.code === ErrorCodes.TOPIC) return undefined
    throw error
  }
}

async function waitForTopic(
  admin: KafkaAdmin,
  context: SourceTopicContext,
  { waitMs = 120_000, pollMs = 2_000 }: EnsureOptions,
): Promise<TopicDescription> {
  const { topic } = context.config.source
  context.logger.warn(
    `topic ${topic} does not exist and this principal may not create it: waiting up to ${Math.round(waitMs / 1000)} s for it to be created`,
  )
  const deadline = Date.now() + waitMs
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, pollMs))
    const description = await describeIfExists(admin, topic)
    if (description) return description
  }
  throw new StrataError(
    ErrorCodes.TOPIC,
    `topic ${topic} still does not exist after ${Math.round(waitMs / 1000)} s: create it (${context.config.source.partitions} partitions), or let this principal create topics`,
  )
}

function replicationOf(description: TopicDescription): number {
  return Math.min(...description.partitions.map((p) => p.replicas.length))
}

// Fewer copies than the cluster could hold is a choice only the operator can make, and an easy
// one to make by accident (a config written for a one-node cluster): acks=all then holds an
// acknowledged event on one broker only. Said at every start, never refused.
function warnIfUnderReplicated(description: TopicDescription, context: SourceTopicContext): void {
  const copies = replicationOf(description)
  const possible = Math.min(3, description.brokers)
  if (copies >= possible) return
  context.logger.warn(
    `topic ${description.topic} keeps ${copies} ${copies === 1 ? 'copy' : 'copies'} of each partition on a cluster of ${description.brokers} brokers: ` +
      `losing ${copies === 1 ? 'that broker' : `${copies} brokers`} loses acknowledged events. Raise its replication (kafka-reassign-partitions), ` +
      'or for a new topic leave source.replicationFactor out (docs/operations.md#high-availability)',
  )
}
