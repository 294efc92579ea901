// Where a newly assigned partition starts. Strata's roles keep their own offsets (the speed layer
// stores the offset with the state it produced, in one store transaction), so their answer comes
// first; then the group's committed offset (Kafka's convention: the next offset to read); then
// the partition's earliest offset, so nothing accepted is ever skipped.
import { ErrorCodes, StrataError } from '../../core/errors.ts'

export interface TopicPartition {
  topic: string
  partition: number
}

export interface PartitionOffset extends TopicPartition {
  offset: number
}

/**
 * Offsets from the caller: `partition → offset` when the consumer reads one topic, or a list of
 * `{ topic, partition, offset }`. Partitions left out fall back as described above.
 */
export type StartOffsets = ReadonlyMap<number, number> | readonly PartitionOffset[]

export function partitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`
}

/** Normalizes StartOffsets to `topic:partition → offset`, checking every offset. */
export function normalizeOffsets(
  offsets: StartOffsets | undefined,
  topics: readonly string[],
): Map<string, number> {
  const result = new Map<string, number>()
  if (offsets === undefined) return result
  const entries: PartitionOffset[] = []
  if (offsets instanceof Map) {
    if (topics.length !== 1) {
      throw new StrataError(
        ErrorCodes.INVALID_ARGUMENT,
        'A partition → offset map needs a consumer of exactly one topic; give { topic, partition, offset } instead',
      )
    }
    for (const [partition, offset] of offsets) entries.push({ topic: topics[0]!, partition, offset })
  } else {
    entries.push(...(offsets as readonly PartitionOffset[]))
  }
  for (const { topic, partition, offset } of entries) {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new StrataError(
        ErrorCodes.INVALID_ARGUMENT,
        `Offset of ${topic}[${partition}] must be >= 0, got ${offset}`,
      )
    }
    result.set(partitionKey(topic, partition), offset)
  }
  return result
}

export interface OffsetLookups {
  /** The group's committed offsets of these partitions (absent when none). */
  committed(partitions: TopicPartition[]): Promise<Map<string, number>>
  /** The earliest offsets still in the log. */
  earliest(partitions: TopicPartition[]): Promise<Map<string, number>>
}

/** One start offset per assigned partition: the caller's, else committed, else earliest. */
export async function resolveStartOffsets(
  assigned: readonly TopicPartition[],
  fromCaller: Map<string, number>,
  lookups: OffsetLookups,
): Promise<PartitionOffset[]> {
  const missing = assigned.filter((p) => !fromCaller.has(partitionKey(p.topic, p.partition)))
  const committed = missing.length > 0 ? await lookups.committed(missing) : new Map<string, number>()
  const stillMissing = missing.filter((p) => !committed.has(partitionKey(p.topic, p.partition)))
  const earliest = stillMissing.length > 0 ? await lookups.earliest(stillMissing) : new Map<string, number>()
  return assigned.map(({ topic, partition }) => {
    const key = partitionKey(topic, partition)
    const offset = fromCaller.get(key) ?? committed.get(key) ?? earliest.get(key)
    if (offset === undefined) {
      throw new StrataError(ErrorCodes.KAFKA, `No start offset for ${topic}[${partition}]`, {
        retriable: true,
      })
    }
    return { topic, partition, offset }
  })
}
