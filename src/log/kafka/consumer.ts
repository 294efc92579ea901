// A consumer-group member whose offsets the caller owns.
//
// Design (why not platformatic's consume() stream): the stream has no per-partition seek, keeps a
// partition's old position across rebalances, and keeps fetching the old assignment while the
// group rebalances. Here platformatic's Consumer does only the group protocol (JoinGroup,
// SyncGroup, heartbeats; classic protocol with the eager round-robin assignor), and we fetch
// ourselves (FetchLoop) at offsets we choose.
//
// Rebalances follow the eager protocol's contract, as Java's ConsumerRebalanceListener does:
//   - before this member sends JoinGroup (platformatic awaits the `protocolsMetadata` hook right
//     then), delivery stops, the batch in hand finishes, and `onRevoke` gets every owned
//     partition with its next offset; only after it returns does the member rejoin. The group
//     cannot hand those partitions to anyone before that JoinGroup, so their new owner starts
//     after our flush: one writer per partition.
//   - once SyncGroup gives the new assignment, `onAssign` says where each partition starts (the
//     offsets the caller stored with its state); partitions it leaves out start at the group's
//     committed offset, else at the earliest offset.
// Every onAssign is matched by an onRevoke for the same partitions (on rebalance, close, or a
// fatal error). A member that stalls past the session timeout is dropped by the coordinator
// before it can revoke: its late writes must be fenced by the caller's store (compare the
// stored offset, or the generation passed to the callbacks).
import { Consumer, ListOffsetTimestamps } from '@platformatic/kafka'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import {
  baseClientOptions,
  hasApiError,
  type KafkaClientOptions,
  toOffset,
  toStrataError,
} from './client-options.ts'
import { FetchLoop, type FetchTrouble } from './fetch-loop.ts'
import { createFetcher, type FetchOptions } from './fetcher.ts'
import { commitGroupOffsets } from './group-commit.ts'
import type { PartitionBatch } from './records.ts'
import {
  normalizeOffsets,
  type PartitionOffset,
  partitionKey,
  resolveStartOffsets,
  type StartOffsets,
  type TopicPartition,
} from './start-offsets.ts'

export interface GroupInfo {
  groupId: string
  memberId: string
  /** The group generation: grows with every rebalance, usable as a fencing token. */
  generationId: number
}

export interface ConsumerOptions extends KafkaClientOptions, FetchOptions {
  groupId: string
  topics: readonly string[]
  /** Each partition's records, in offset order; the next batch of that partition waits for this one. */
  onBatch(batch: PartitionBatch): Promise<void> | void
  onAssign?(
    partitions: TopicPartition[],
    group: GroupInfo,
  ): Promise<StartOffsets | undefined> | StartOffsets | undefined
  /** `offset` is the next offset not yet delivered: where the next owner should start. */
  onRevoke?(partitions: PartitionOffset[], group: GroupInfo): Promise<void> | void
  /** A fatal error (after it the consumer has left the group). Without it, the error is thrown. */
  onError?(error: StrataError): void
  sessionTimeoutMs?: number
  rebalanceTimeoutMs?: number
  heartbeatIntervalMs?: number
}

export interface KafkaConsumer {
  /** Joins the group; resolves once the first assignment is delivering. */
  start(): Promise<void>
  /** Commits to the group the next offsets to read, for partitions this member owns. */
  commit(offsets: StartOffsets): Promise<void>
  /** The owned partitions and their next offsets. */
  assignment(): PartitionOffset[]
  group(): GroupInfo
  /** Owned partitions whose fetches are failing now (retried with backoff meanwhile). */
  trouble(): FetchTrouble[]
  /** Revokes (onRevoke), leaves the group, closes the connections. */
  close(): Promise<void>
}

export function createConsumer(options: ConsumerOptions): KafkaConsumer {
  const topics = [...options.topics]
  if (topics.length === 0) throw new StrataError(ErrorCodes.INVALID_ARGUMENT, 'A consumer needs topics')
  const member = new Consumer({
    ...baseClientOptions(options, 'consumer'),
    groupId: options.groupId,
    autocommit: false,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    rebalanceTimeout: options.rebalanceTimeoutMs ?? 60_000,
    heartbeatInterval: options.heartbeatIntervalMs ?? 3_000,
    protocolsMetadata: () => beforeJoin(),
  })
  const fetcher = createFetcher(options)
  const loop = new FetchLoop(fetcher, options.onBatch, (error) => fail(error), {
    maxWaitMs: options.maxWaitMs ?? 500,
    ...(options.minBytes === undefined ? {} : { minBytes: options.minBytes }),
    ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    ...(options.maxBytesPerPartition === undefined
      ? {}
      : { maxBytesPerPartition: options.maxBytesPerPartition }),
    ...(options.recordSpans ? { recordSpans: true } : {}),
    ...(options.recordBuffer ? { recordBuffer: options.recordBuffer } : {}),
  })
  let chain: Promise<void> = Promise.resolve()
  let closing: Promise<void> | undefined
  let failed = false

  const group = (): GroupInfo => ({
    groupId: options.groupId,
    memberId: member.memberId ?? '',
    generationId: member.generationId,
  })

  // Rebalance steps run one at a time, in the order the group protocol raised them.
  function serial(step: () => Promise<void>): Promise<void> {
    chain = chain.then(step).catch((error) => fail(toStrataError(error, 'Rebalance callback failed')))
    return chain
  }

  async function revokeAll(): Promise<void> {
    const positions = await loop.pause()
    if (positions.length > 0) await options.onRevoke?.(positions, group())
    loop.clear()
  }

  async function beforeJoin(): Promise<Buffer> {
    await serial(revokeAll)
    return Buffer.alloc(0)
  }

  async function assign(assignments: { topic: string; partitions: number[] }[]): Promise<void> {
    const assigned = assignments
      .filter((a) => topics.includes(a.topic))
      .flatMap((a) =>
        [...a.partitions].sort((x, y) => x - y).map((partition) => ({ topic: a.topic, partition })),
      )
    if (assigned.length === 0 || closing) return
    const fromCaller = normalizeOffsets((await options.onAssign?.(assigned, group())) ?? undefined, topics)
    loop.assign(await resolveStartOffsets(assigned, fromCaller, { committed, earliest }))
  }

  async function committed(partitions: TopicPartition[]): Promise<Map<string, number>> {
    const answer = await member.listCommittedOffsets({ topics: byTopic(partitions) })
    return pick(partitions, answer, (offset) => offset >= 0n)
  }

  async function earliest(partitions: TopicPartition[]): Promise<Map<string, number>> {
    const list = byTopic(partitions)
    const answer = await member.listOffsets({
      topics: list.map((t) => t.topic),
      partitions: Object.fromEntries(list.map((t) => [t.topic, t.partitions])),
      timestamp: ListOffsetTimestamps.EARLIEST,
    })
    return pick(partitions, answer, (offset) => offset >= 0n)
  }

  function fail(error: StrataError): void {
    if (failed) return
    failed = true
    const report =
      options.onError ??
      ((e: StrataError) =>
        queueMicrotask(() => {
          throw e
        }))
    close()
      .catch(() => undefined)
      .finally(() => report(error))
  }

  member.on('consumer:group:join', (payload) => {
    void serial(() => assign(payload.assignments ?? []))
  })
  // platformatic emits 'error' when a rejoin failed for good: we are out of the group.
  member.on('error', (error) => fail(toStrataError(error, `Lost membership of group ${options.groupId}`)))

  async function close(): Promise<void> {
    closing ??= (async () => {
      await serial(revokeAll)
      await loop.stop()
      await member.close().catch(() => undefined)
      await fetcher.close()
    })()
    return closing
  }

  return {
    async start() {
      for (const topic of topics) member.topics.track(topic)
      // A cluster just started may not have its group coordinator yet (__consumer_offsets being
      // created, or moving after a broker died): those answers are tried again for up to
      // JOIN_RETRY_MS. Anything else (no broker at that address) fails at once, as before.
      const deadline = Date.now() + JOIN_RETRY_MS
      for (let attempt = 1; ; attempt++) {
        try {
          await member.joinGroup()
          break
        } catch (error) {
          const failure = toStrataError(error, `Cannot join group ${options.groupId}`)
          const coordinatorMoving = COORDINATOR_NOT_READY.some((id) => hasApiError(error, id))
          if (!coordinatorMoving || closing || Date.now() >= deadline) throw failure
          await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 250 * attempt)))
        }
      }
      await chain
    },

    async commit(offsets) {
      const wanted = normalizeOffsets(offsets, topics)
      const list: PartitionOffset[] = []
      for (const [key, offset] of wanted) {
        const [topic, partition] = splitKey(key)
        if (!loop.owns(topic, partition)) {
          throw new StrataError(ErrorCodes.KAFKA, `${topic}[${partition}] is not assigned to this member`)
        }
        list.push({ topic, partition, offset })
      }
      await commitGroupOffsets(member, list)
    },

    assignment: () => loop.positions(),
    trouble: () => loop.trouble(),
    group,
    close,
  }
}

const JOIN_RETRY_MS = 60_000
const COORDINATOR_NOT_READY = ['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS']

function byTopic(partitions: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const map = new Map<string, number[]>()
  for (const { topic, partition } of partitions) map.set(topic, [...(map.get(topic) ?? []), partition])
  return [...map].map(([topic, partitions]) => ({ topic, partitions }))
}

function pick(
  partitions: readonly TopicPartition[],
  answer: Map<string, bigint[]>,
  keep: (offset: bigint) => boolean,
): Map<string, number> {
  const result = new Map<string, number>()
  for (const { topic, partition } of partitions) {
    const offset = answer.get(topic)?.[partition]
    if (offset !== undefined && keep(offset)) result.set(partitionKey(topic, partition), toOffset(offset))
  }
  return result
}

function splitKey(key: string): [string, number] {
  const at = key.lastIndexOf(':')
  return [key.slice(0, at), Number(key.slice(at + 1))]
}
