// Topic and group administration: what the CLI, the tests and the lag figures need.
import { Admin, FetchIsolationLevels, ListOffsetTimestamps } from '@platformatic/kafka'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import {
  baseClientOptions,
  hasApiError,
  isUnknownTopic,
  type KafkaClientOptions,
  toOffset,
  toStrataError,
} from './client-options.ts'

export interface TopicSpec {
  topic: string
  partitions: number
  /** Copies of each partition; absent: the cluster's `default.replication.factor` (KIP-464). */
  replicationFactor?: number
  /** Topic configs, e.g. `{ 'min.insync.replicas': '2', 'retention.ms': '-1' }`. */
  configs?: Record<string, string>
}

export interface PartitionDescription {
  partition: number
  /** Broker id of the leader, -1 while there is none. */
  leader: number
  leaderEpoch: number
  replicas: number[]
  isr: number[]
  offlineReplicas: number[]
}

export interface TopicDescription {
  topic: string
  id: string
  /** The cluster's id: a recreated cluster has a new one, whatever its addresses. */
  clusterId: string
  /** Brokers in the cluster's metadata when described. */
  brokers: number
  partitions: PartitionDescription[]
  /**
   * From createTopic only: false when another client created the topic first (two roles
   * starting together on an empty cluster), so only the one that created it says so.
   */
  created?: boolean
}

/** The offsets that bound a partition: records live at `earliest <= offset < latest`. */
export interface PartitionOffsets {
  partition: number
  earliest: number
  /**
   * The last stable offset: what a read_committed reader (every Strata reader, fetcher.ts) can
   * reach. An open transaction's records are not there yet; counted as waiting, they made /health
   * call a caught-up speed partition stalled while an upstream transaction stayed open (r13-user).
   */
  latest: number
}

export interface GroupMemberDescription {
  memberId: string
  clientId: string
  /** topic → partitions assigned to this member */
  assignments: Map<string, number[]>
}

export interface GroupDescription {
  groupId: string
  state: string
  members: GroupMemberDescription[]
}

export interface KafkaAdmin {
  /** Creates the topic; succeeds when it already exists with the same partition count. */
  createTopic(spec: TopicSpec): Promise<TopicDescription>
  describeTopic(topic: string): Promise<TopicDescription>
  /** Deletes the topic; succeeds when it does not exist. */
  deleteTopic(topic: string): Promise<void>
  listOffsets(topic: string): Promise<PartitionOffsets[]>
  /** Deletes the records of a partition below `before` (what retention does; for tests and tools). */
  deleteRecords(topic: string, partition: number, before: number): Promise<void>
  /** partition → the group's committed offset (the next offset to read); absent when none. */
  committedOffsets(groupId: string, topic: string): Promise<Map<number, number>>
  describeGroup(groupId: string): Promise<GroupDescription>
  deleteGroup(groupId: string): Promise<void>
  close(): Promise<void>
}

export function createAdmin(options: KafkaClientOptions): KafkaAdmin {
  const admin = new Admin(baseClientOptions(options, 'admin'))

  async function describeTopic(topic: string): Promise<TopicDescription> {
    try {
      const metadata = await admin.metadata({ topics: [topic], forceUpdate: true })
      const found = metadata.topics.get(topic)
      if (!found) throw new StrataError(ErrorCodes.TOPIC, `Topic ${topic} does not exist`)
      return {
        topic,
        id: found.id,
        clusterId: metadata.id,
        brokers: metadata.brokers.size,
        partitions: found.partitions.map((p, partition) => ({
          partition,
          leader: p.leader,
          leaderEpoch: p.leaderEpoch,
          replicas: [...p.replicas],
          isr: [...p.isr],
          offlineReplicas: [...p.offlineReplicas],
        })),
      }
    } catch (error) {
      if (isUnknownTopic(error)) {
        throw new StrataError(ErrorCodes.TOPIC, `Topic ${topic} does not exist`, { cause: error })
      }
      throw toStrataError(error, `Cannot describe topic ${topic}`)
    }
  }

  // KRaft acknowledges CreateTopics once the controller has the topic; a broker's metadata follows
  // a moment later. Wait until every partition has a leader, so a produce right after succeeds.
  async function waitForLeaders(topic: string, partitions: number): Promise<TopicDescription> {
    let last: unknown
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        const description = await describeTopic(topic)
        if (
          description.partitions.length === partitions &&
          description.partitions.every((p) => p.leader >= 0)
        ) {
          return description
        }
      } catch (error) {
        last = error
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new StrataError(ErrorCodes.TOPIC, `Topic ${topic} has no leader for every partition yet`, {
      cause: last,
      retriable: true,
    })
  }

  return {
    async createTopic({ topic, partitions, replicationFactor, configs = {} }) {
      let created = true
      try {
        await admin.createTopics({
          topics: [topic],
          partitions,
          replicas: replicationFactor ?? -1,
          configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
        })
      } catch (error) {
        if (!hasApiError(error, 'TOPIC_ALREADY_EXISTS')) {
          throw toStrataError(error, `Cannot create topic ${topic}`, ErrorCodes.TOPIC)
        }
        created = false
        const existing = await describeTopic(topic)
        if (existing.partitions.length !== partitions) {
          throw new StrataError(
            ErrorCodes.TOPIC,
            `Topic ${topic} exists with ${existing.partitions.length} partitions, not ${partitions}`,
          )
        }
      }
      return { ...(await waitForLeaders(topic, partitions)), created }
    },

    describeTopic,

    async deleteTopic(topic) {
      try {
        await admin.deleteTopics({ topics: [topic] })
      } catch (error) {
        if (hasApiError(error, 'UNKNOWN_TOPIC_OR_PARTITION') || hasApiError(error, 'UNKNOWN_TOPIC_ID')) return
        throw toStrataError(error, `Cannot delete topic ${topic}`, ErrorCodes.TOPIC)
      }
    },

    async listOffsets(topic) {
      const { partitions } = await describeTopic(topic)
      const at = async (timestamp: bigint) => {
        const result = await admin.listOffsets({
          isolationLevel: FetchIsolationLevels.READ_COMMITTED,
          topics: [
            { name: topic, partitions: partitions.map((p) => ({ partitionIndex: p.partition, timestamp })) },
          ],
        })
        const offsets = new Map<number, number>()
        for (const p of result.find((t) => t.name === topic)?.partitions ?? []) {
          offsets.set(p.partitionIndex, toOffset(p.offset))
        }
        return offsets
      }
      try {
        const [earliest, latest] = await Promise.all([
          at(ListOffsetTimestamps.EARLIEST),
          at(ListOffsetTimestamps.LATEST),
        ])
        return partitions.map(({ partition }) => ({
          partition,
          earliest: earliest.get(partition) ?? 0,
          latest: latest.get(partition) ?? 0,
        }))
      } catch (error) {
        throw toStrataError(error, `Cannot list offsets of ${topic}`)
      }
    },

    async deleteRecords(topic, partition, before) {
      try {
        await admin.deleteRecords({
          topics: [{ name: topic, partitions: [{ partition, offset: BigInt(before) }] }],
        })
      } catch (error) {
        throw toStrataError(error, `Cannot delete records of ${topic}[${partition}]`, ErrorCodes.TOPIC)
      }
    },

    async committedOffsets(groupId, topic) {
      try {
        const [group] = await admin.listConsumerGroupOffsets({ groups: [groupId] })
        const committed = new Map<number, number>()
        for (const t of group?.topics ?? []) {
          if (t.name !== topic) continue
          for (const p of t.partitions) {
            if (p.committedOffset >= 0n) committed.set(p.partitionIndex, toOffset(p.committedOffset))
          }
        }
        return committed
      } catch (error) {
        throw toStrataError(error, `Cannot read the offsets of group ${groupId}`)
      }
    },

    async describeGroup(groupId) {
      try {
        const groups = await admin.describeGroups({ groups: [groupId] })
        const group = groups.get(groupId)
        return {
          groupId,
          state: String(group?.state ?? 'DEAD'),
          members: [...(group?.members.values() ?? [])].map((member) => ({
            memberId: member.id,
            clientId: member.clientId,
            assignments: new Map(
              [...(member.assignments?.values() ?? [])].map((a) => [
                a.topic,
                [...a.partitions].sort((x, y) => x - y),
              ]),
            ),
          })),
        }
      } catch (error) {
        throw toStrataError(error, `Cannot describe group ${groupId}`)
      }
    },

    async deleteGroup(groupId) {
      try {
        await admin.deleteGroups({ groups: [groupId] })
      } catch (error) {
        if (hasApiError(error, 'GROUP_ID_NOT_FOUND')) return
        throw toStrataError(error, `Cannot delete group ${groupId}`)
      }
    },

    async close() {
      await admin.close()
    },
  }
}
