// Fetches chosen partitions at chosen offsets. platformatic's consumer stream has no per-partition
// seek, so the group consumer and the replay reader both fetch through this instead: they own the
// offsets, this turns them into Fetch requests (one per leader, in parallel) and decodes the
// answer into per-partition batches.
//
// It runs on a Consumer instance of its own that never joins a group: its connections carry only
// fetches, so a fetch waiting up to maxWaitMs never delays a heartbeat or a commit.
import { Consumer, FetchIsolationLevels, type fetchV17 } from '@platformatic/kafka'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import {
  baseClientOptions,
  hasApiError,
  type KafkaClientOptions,
  toOffset,
  toStrataError,
} from './client-options.ts'
import { decodeBatches, type PartitionBatch } from './records.ts'
import { outOfRange } from './retention.ts'
import type { PartitionOffset } from './start-offsets.ts'

export interface FetchOptions {
  /** How long the broker may wait for `minBytes` before answering (the idle latency bound). */
  maxWaitMs?: number
  minBytes?: number
  maxBytes?: number
  maxBytesPerPartition?: number
}

export interface Fetcher {
  /** One fetch of every position; partitions with nothing new come back with no records. */
  fetch(positions: readonly PartitionOffset[], options?: FetchOptions): Promise<PartitionBatch[]>
  /** Forgets cached metadata (after a leader change or a new topic). */
  refresh(): void
  close(): Promise<void>
}

/**
 * A failed Fetch as a StrataError. When the leader we fetched from dies, platformatic reports the
 * failed connection and then, with fresh metadata that no longer lists that broker, a UserError
 * "Cannot find broker with node id N", which alone would read as not retriable: the archiver and
 * the speed layer then left their group for good on a broker kill. Any network failure in the
 * chain (the code is KAFKA_UNAVAILABLE; refused credentials or certificates get codes of their
 * own) means an election will name a new leader: retriable, the fetch loop backs off and asks again.
 */
export function fetchFailure(error: unknown): StrataError {
  const failure = toStrataError(error, 'Cannot fetch')
  if (failure.code !== ErrorCodes.KAFKA_UNAVAILABLE || failure.retriable) return failure
  return new StrataError(failure.code, failure.message, { cause: error, retriable: true })
}

export function createFetcher(options: KafkaClientOptions): Fetcher {
  const client = new Consumer({
    ...baseClientOptions(options, 'fetcher'),
    groupId: `strata-fetcher-unused`, // required by the constructor; this client never joins it
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  })

  async function fetchFromNode(
    node: number,
    topicIds: Map<string, string>,
    positions: PartitionOffset[],
    fetchOptions: FetchOptions,
  ): Promise<PartitionBatch[]> {
    const byTopic = new Map<string, PartitionOffset[]>()
    for (const position of positions) {
      const list = byTopic.get(position.topic) ?? []
      list.push(position)
      byTopic.set(position.topic, list)
    }
    let response: fetchV17.FetchResponse
    try {
      response = await client.fetch({
        node,
        maxWaitTime: fetchOptions.maxWaitMs ?? 500,
        minBytes: fetchOptions.minBytes ?? 1,
        maxBytes: fetchOptions.maxBytes ?? 16 * 1024 * 1024,
        topics: [...byTopic].map(([topic, list]) => ({
          topicId: topicIds.get(topic)!,
          partitions: list.map(({ partition, offset }) => ({
            partition,
            fetchOffset: BigInt(offset),
            partitionMaxBytes: fetchOptions.maxBytesPerPartition ?? 4 * 1024 * 1024,
            currentLeaderEpoch: -1,
            lastFetchedEpoch: -1,
          })),
        })),
      })
    } catch (error) {
      client.clearMetadata()
      if (hasApiError(error, 'OFFSET_OUT_OF_RANGE')) throw await outOfRange(client, positions, error)
      throw fetchFailure(error)
    }
    const wanted = new Map(positions.map((p) => [`${p.topic}:${p.partition}`, p.offset]))
    const names = new Map([...topicIds].map(([name, id]) => [id, name]))
    const batches: PartitionBatch[] = []
    for (const topicResponse of response.responses) {
      const topic = names.get(topicResponse.topicId) ?? topicResponse.topicId
      for (const p of topicResponse.partitions) {
        const from = wanted.get(`${topic}:${p.partitionIndex}`)
        // An incremental fetch session can also answer for partitions we did not ask about now.
        if (from === undefined || p.errorCode !== 0) continue
        const { records, nextOffset } = decodeBatches(topic, p.partitionIndex, p.records ?? [], from)
        const end = p.lastStableOffset >= 0n ? p.lastStableOffset : p.highWatermark
        batches.push({
          topic,
          partition: p.partitionIndex,
          records,
          nextOffset,
          highWatermark: toOffset(end),
        })
      }
    }
    return batches
  }

  return {
    async fetch(positions, fetchOptions = {}) {
      if (positions.length === 0) return []
      const topics = [...new Set(positions.map((p) => p.topic))]
      let metadata: Awaited<ReturnType<typeof client.metadata>>
      try {
        metadata = await client.metadata({ topics })
      } catch (error) {
        throw toStrataError(error, `Cannot read the metadata of ${topics.join(', ')}`)
      }
      const topicIds = new Map<string, string>()
      const byNode = new Map<number, PartitionOffset[]>()
      for (const position of positions) {
        const topic = metadata.topics.get(position.topic)
        const leader = topic?.partitions[position.partition]?.leader
        if (!topic || leader === undefined) {
          throw new StrataError(ErrorCodes.TOPIC, `No partition ${position.topic}[${position.partition}]`)
        }
        if (leader < 0) {
          // An election is under way: ask again soon, with fresh metadata.
          client.clearMetadata()
          throw new StrataError(
            ErrorCodes.KAFKA_UNAVAILABLE,
            `${position.topic}[${position.partition}] has no leader right now`,
            { retriable: true },
          )
        }
        topicIds.set(position.topic, topic.id)
        const list = byNode.get(leader) ?? []
        list.push(position)
        byNode.set(leader, list)
      }
      const answers = await Promise.all(
        [...byNode].map(([node, list]) => fetchFromNode(node, topicIds, list, fetchOptions)),
      )
      return answers.flat()
    },

    refresh() {
      client.clearMetadata()
    },

    async close() {
      await client.close()
    },
  }
}
