// Where a keyed record goes. Kafka's Java producer (BuiltInPartitioner.partitionForKey), librdkafka
// with `partitioner=murmur2_random`, kafkajs's DefaultPartitioner and kafka-python all place a key at
//
//   toPositive(murmur2(keyBytes)) % numPartitions,   toPositive(h) = h & 0x7fffffff
//
// and so must we: the speed layer keeps one writer per partition, so a key produced by kcat and the
// same key produced by Strata must land in the same partition. String keys are hashed as UTF-8 (what
// Java's StringSerializer sends). @platformatic/kafka's default partitioner uses `murmur2 >>> 0`
// instead of `& 0x7fffffff`, which differs for half of all keys; hence our own function, and every
// keyed record we produce carries an explicit partition computed here.

const SEED = 0x9747b28c
const M = 0x5bd1e995

/** Kafka's `Utils.murmur2`: a signed 32-bit hash, byte-exact with Java (of `data`'s first `length` bytes). */
export function murmur2(data: Uint8Array, length: number = data.length): number {
  let h = SEED ^ length
  const length4 = length & ~3
  for (let i = 0; i < length4; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  // Java's switch falls through: 3 bytes left mixes in all three.
  switch (length & 3) {
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: the fall-through is Kafka's algorithm
    case 3:
      h ^= data[length4 + 2]! << 16
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: the fall-through is Kafka's algorithm
    case 2:
      h ^= data[length4 + 1]! << 8
    case 1:
      h ^= data[length4]!
      h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

/** Kafka's `Utils.toPositive`: clears the sign bit (not `Math.abs`, which overflows on MIN_VALUE). */
export function toPositive(hash: number): number {
  return hash & 0x7fffffff
}

// String keys are hashed from this scratch buffer (UTF-8), not from a new Buffer each.
const scratch = Buffer.allocUnsafe(4096)

/** The partition Kafka's default partitioner picks for this key. */
export function partitionForKey(key: string | Uint8Array, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new RangeError(`partitions must be a positive integer, got ${partitions}`)
  }
  if (typeof key !== 'string') return toPositive(murmur2(key)) % partitions
  if (key.length * 3 > scratch.length) return toPositive(murmur2(Buffer.from(key, 'utf8'))) % partitions
  return toPositive(murmur2(scratch, scratch.write(key, 0, 'utf8'))) % partitions
}

/**
 * Records without a key: each `send()` call sticks to one partition, and successive calls rotate
 * round-robin over the partitions (per topic). A keyless batch thus stays contiguous and in order
 * in one partition, one record batch per request instead of many small ones, while many calls
 * spread evenly. (Java's sticky partitioner does the same, switching when a batch fills.)
 */
export class StickyRoundRobin {
  #next = new Map<string, number>()

  /** The partition for the keyless records of the next batch sent to `topic`. */
  nextPartition(topic: string, partitions: number): number {
    const current = this.#next.get(topic) ?? Math.floor(Math.random() * partitions)
    this.#next.set(topic, (current + 1) % partitions)
    return current % partitions
  }
}
