// Batch results pushed back into Kafka, so other consumers and serving replicas can follow:
//
// - `strata-batch-completions`: one record per committed batch view version, keyed by view:
//   { view, version, codeHash, horizon, events, groups, startedAt, completedAt, durationMs }.
// - `strata-results-<view>` (compacted): one record per (key, window) of the version, keyed by
//   JSON `[key, window]`: { view, version, key, window, state, value } where `state` is the
//   monoid's encoded state (mergeable) and `value` its result. Compaction keeps the newest record
//   per group. Protocol for followers: a group whose record carries a version older than the
//   newest completion of that view no longer exists in the served view (a changed definition
//   can drop groups), so ignore it.
//
// Records are written after the flip, with acks=all; the store stays the source of truth, so a
// crash between the flip and the publish loses only the announcement, which the next version
// repeats in full.
import type { CompiledView } from '../core/compiled-view.ts'
import { createAdmin, createProducer, type KafkaProducer } from '../log/kafka/index.ts'
import type { BatchViewMeta, ViewEntry } from '../store/store.ts'
import type { BatchPublisher } from './batch-run.ts'

/** Topic names start with a prefix (default `strata`), so several deployments can share a cluster. */
export const completionsTopic = (prefix = 'strata'): string => `${prefix}-batch-completions`
export const resultsTopic = (view: string, prefix = 'strata'): string => `${prefix}-results-${view}`

export interface KafkaPublisher extends BatchPublisher {
  close(): Promise<void>
}

export function createKafkaPublisher(options: {
  brokers: string
  replicationFactor?: number
  prefix?: string
}): KafkaPublisher {
  const { prefix } = options
  // Absent: the cluster's default.replication.factor.
  const replication =
    options.replicationFactor === undefined ? {} : { replicationFactor: options.replicationFactor }
  const admin = createAdmin({ brokers: options.brokers })
  let producer: KafkaProducer | undefined
  const ensured = new Set<string>()

  async function ensureTopic(topic: string, configs: Record<string, string>): Promise<void> {
    if (ensured.has(topic)) return
    const exists = await admin.describeTopic(topic).then(
      () => true,
      () => false,
    )
    if (!exists) await admin.createTopic({ topic, partitions: 1, ...replication, configs })
    ensured.add(topic)
  }

  return {
    async publish(meta: BatchViewMeta, entries: ViewEntry[], view: CompiledView<any, any>) {
      producer ??= createProducer({ brokers: options.brokers, clientId: 'strata-batch' })
      await ensureTopic(completionsTopic(prefix), {})
      await ensureTopic(resultsTopic(meta.view, prefix), { 'cleanup.policy': 'compact' })
      const records = entries.map(({ key, window, state }) => ({
        key: JSON.stringify([key, window]),
        value: JSON.stringify({
          view: meta.view,
          version: meta.version,
          key,
          window,
          state,
          value: view.result(view.monoid.decode(state as never)),
        }),
      }))
      await producer.send(resultsTopic(meta.view, prefix), records)
      await producer.send(completionsTopic(prefix), [
        { key: meta.view, value: JSON.stringify({ ...meta, durationMs: meta.completedAt - meta.startedAt }) },
      ])
    },
    async close() {
      await producer?.close()
      await admin.close()
    },
  }
}
