// Commits offsets to the group with the member's current generation, and nothing else.
//
// Why not platformatic's `consumer.commit()`: when the commit fails because the generation is
// stale, it rejoins the group and commits again with the new generation. That rejoin runs our
// revoke hook, which waits for the batch being delivered, which may be the very caller waiting on
// this commit: a deadlock. And a commit replayed in a new generation can overwrite the offset of
// the member that owns the partition now. Here a stale generation simply fails the commit
// (not retriable: those offsets are no longer ours to commit); the heartbeat notices the
// rebalance on its own and the revoke/assign callbacks follow.
import {
  type Connection,
  type Consumer,
  kGetApi,
  kGetConnection,
  type offsetCommitV9,
  protocolErrorsCodesById,
} from '@platformatic/kafka'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import { hasApiError, toStrataError } from './client-options.ts'
import type { PartitionOffset } from './start-offsets.ts'

type OffsetCommitApi = ((
  connection: Connection,
  groupId: string,
  generationId: number,
  memberId: string,
  groupInstanceId: string | null,
  topics: offsetCommitV9.OffsetCommitRequestTopic[],
  callback: (error: Error | null, response?: offsetCommitV9.OffsetCommitResponse) => void,
) => void) & { version: number }

// Errors that mean our membership is no longer valid for these offsets.
const FENCED = new Set([
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'REBALANCE_IN_PROGRESS',
  'FENCED_INSTANCE_ID',
])

export async function commitGroupOffsets(
  member: Consumer,
  offsets: readonly PartitionOffset[],
): Promise<void> {
  if (offsets.length === 0) return
  if (!member.memberId) {
    throw new StrataError(ErrorCodes.KAFKA, `Not a member of group ${member.groupId}: cannot commit`)
  }
  const generationId = member.generationId
  const memberId = member.memberId
  const topics = new Map<string, offsetCommitV9.OffsetCommitRequestTopic>()
  for (const { topic, partition, offset } of offsets) {
    const entry = topics.get(topic) ?? { name: topic, partitions: [] }
    entry.partitions.push({
      partitionIndex: partition,
      committedOffset: BigInt(offset),
      committedLeaderEpoch: -1,
      committedMetadata: null,
    })
    topics.set(topic, entry)
  }

  let response: offsetCommitV9.OffsetCommitResponse
  try {
    const coordinatorId = await member.findGroupCoordinator()
    const metadata = await member.metadata({ topics: [] })
    const broker = metadata.brokers.get(coordinatorId)
    if (!broker)
      throw new StrataError(ErrorCodes.KAFKA_UNAVAILABLE, `Coordinator ${coordinatorId} is unknown`)
    const connection = await new Promise<Connection>((resolve, reject) =>
      member[kGetConnection](broker, (error, connection) => (error ? reject(error) : resolve(connection!))),
    )
    const api = await new Promise<OffsetCommitApi>((resolve, reject) =>
      member[kGetApi]('OffsetCommit', (error, api) =>
        error ? reject(error) : resolve(api as OffsetCommitApi),
      ),
    )
    response = await new Promise((resolve, reject) =>
      api(
        connection,
        member.groupId,
        generationId,
        memberId,
        member.groupInstanceId,
        [...topics.values()],
        (e, r) => (e ? reject(e) : resolve(r!)),
      ),
    )
  } catch (error) {
    const fenced = [...FENCED].find((id) => hasApiError(error, id))
    if (fenced) {
      throw new StrataError(
        ErrorCodes.KAFKA,
        `Commit refused (${fenced}): generation ${generationId} is over`,
        {
          cause: error,
        },
      )
    }
    throw toStrataError(error, `Cannot commit offsets of group ${member.groupId}`)
  }
  for (const topic of response.topics) {
    for (const p of topic.partitions) {
      if (p.errorCode !== 0) {
        const id = protocolErrorsCodesById[p.errorCode as keyof typeof protocolErrorsCodesById] ?? p.errorCode
        throw new StrataError(
          ErrorCodes.KAFKA,
          `Commit of ${topic.name}[${p.partitionIndex}] failed: ${id}`,
          {
            retriable: !FENCED.has(String(id)),
          },
        )
      }
    }
  }
}
