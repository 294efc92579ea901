// Fetches chosen partitions at chosen offsets. platformatic's consumer stream has no per-partition
// seek, so the group consumer and the replay reader both fetch through this instead: they own the
// offsets, this turns them into Fetch requests (one per leader, in parallel) and decodes the
// answer into per-partition batches.
//
// The Fetch request goes out on platformatic's connection to the leader, but its answer is parsed
// here (parseFetchResponse): each partition's record set is kept as one contiguous Buffer and
// decoded by records.ts, not by platformatic's record decoder (decision 0001, addendum of
// 2026-12-06: that decoder was most of the main thread's time per event in the speed catch-up).
// No fetch session: a full fetch every time, so every partition asked for is in every answer.
//
// It runs on a Consumer instance of its own that never joins a group: its connections carry only
// fetches, so a fetch waiting up to maxWaitMs never delays a heartbeat or a commit.
import {
  type Broker,
  Consumer,
  FetchIsolationLevels,
  fetchV17,
  kGetApi,
  type Reader,
  ResponseError,
} from '@platformatic/kafka'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import {
  baseClientOptions,
  hasApiError,
  type KafkaClientOptions,
  toOffset,
  toStrataError,
} from './client-options.ts'
import { decodeRecordSpans } from './record-spans.ts'
import { type AbortedTransaction, decodeRecordSet, type PartitionBatch } from './records.ts'
import { outOfRange } from './retention.ts'
import type { PartitionOffset } from './start-offsets.ts'

export interface FetchOptions {
  /** How long the broker may wait for `minBytes` before answering (the idle latency bound). */
  maxWaitMs?: number
  minBytes?: number
  maxBytes?: number
  maxBytesPerPartition?: number
  /**
   * Decode each partition's records as spans of their values (PartitionBatch.spans, records.ts
   * decodeRecordSpans), no object per record; `records` is then decoded only when read. For a
   * reader that copies the values on (the speed layer's fold threads).
   */
  recordSpans?: boolean
  /**
   * With recordSpans: the buffer (at least `bytes` long) a partition's record set is copied into,
   * which the batch alone then holds (RecordSpans.owned). The speed layer hands out reused ones
   * (src/speed/batch-buffers.ts): a new buffer's pages are faulted in and cleared by the kernel at
   * first touch, which cost ~8 times the copy itself (session 17). A new one of the size when unset.
   */
  recordBuffer?: (partition: number, bytes: number) => ArrayBuffer
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

  // The Fetch version both sides speak (platformatic asks the broker once): 15 to 17 have the
  // layout parseFetchResponse reads, and v17's request is v15's and v16's plus a tagged field it
  // leaves out. Older brokers (before Kafka 3.5) are refused with a clear error.
  let version: Promise<number> | undefined
  function fetchVersion(): Promise<number> {
    version ??= new Promise<number>((resolve, reject) =>
      client[kGetApi]('Fetch', (error, api) => (error || !api ? reject(error) : resolve(api.version))),
    ).then((v) => {
      if (v < MIN_FETCH_VERSION) {
        throw new StrataError(
          ErrorCodes.KAFKA,
          `The broker speaks Fetch v${v}; Strata reads with Fetch v${MIN_FETCH_VERSION}-${MAX_FETCH_VERSION} (Kafka 3.5 or later)`,
        )
      }
      return Math.min(v, MAX_FETCH_VERSION)
    })
    version.catch(() => {
      version = undefined
    })
    return version
  }

  // The broker fills an answer in the order the request lists the partitions, and only the first
  // partition with records may exceed the size limits (KIP-74): with the same order every time, a
  // partition listed late gets nothing while the earlier ones have records. A fetch session had
  // the broker move the partitions that returned records to the end; without one, the order
  // rotates by one partition per fetch.
  let rotation = 0

  // While one partition cannot be read the others still fetch, as fast as their records come: its
  // metadata is asked for again at most every METADATA_RETRY_MS, not once per fetch.
  let clearedAt = 0
  function refreshSoon(): void {
    const now = Date.now()
    if (now - clearedAt < METADATA_RETRY_MS) return
    clearedAt = now
    client.clearMetadata()
  }

  async function fetchFromNode(
    broker: Broker,
    topicIds: Map<string, string>,
    positions: PartitionOffset[],
    fetchOptions: FetchOptions,
  ): Promise<PartitionBatch[]> {
    const byTopic = new Map<string, PartitionOffset[]>()
    const first = rotation % positions.length
    for (const position of [...positions.slice(first), ...positions.slice(0, first)]) {
      const list = byTopic.get(position.topic) ?? []
      list.push(position)
      byTopic.set(position.topic, list)
    }
    const topics = [...byTopic].map(([topic, list]) => ({
      topicId: topicIds.get(topic)!,
      partitions: list.map(({ partition, offset }) => ({
        partition,
        fetchOffset: BigInt(offset),
        partitionMaxBytes: fetchOptions.maxBytesPerPartition ?? 4 * 1024 * 1024,
        currentLeaderEpoch: -1,
        lastFetchedEpoch: -1,
      })),
    }))
    let response: RawFetchResponse
    try {
      const version = await fetchVersion()
      const connection = await client.connections.get(broker)
      response = await new Promise<RawFetchResponse>((resolve, reject) => {
        connection.send(
          FETCH_API,
          version,
          () =>
            fetchV17.createRequest(
              fetchOptions.maxWaitMs ?? 500,
              fetchOptions.minBytes ?? 1,
              fetchOptions.maxBytes ?? 16 * 1024 * 1024,
              FetchIsolationLevels.READ_COMMITTED,
              0, // no fetch session (KIP-227): every answer lists every partition asked for
              -1,
              topics,
              [],
              '',
            ),
          fetchOptions.recordSpans ? ownedParser(fetchOptions.recordBuffer) : parseFetchResponse,
          true,
          true,
          (error, answer) => (error || answer === undefined ? reject(error) : resolve(answer)),
        )
      })
    } catch (error) {
      client.clearMetadata()
      if (hasApiError(error, 'OFFSET_OUT_OF_RANGE')) throw await outOfRange(client, positions, error)
      throw fetchFailure(error)
    }
    const wanted = new Map(positions.map((p) => [`${p.topic}:${p.partition}`, p.offset]))
    const names = new Map([...topicIds].map(([name, id]) => [id, name]))
    const batches: PartitionBatch[] = []
    // Out of range, judged together once the answer is read (below).
    const outOfRangeAt: PartitionOffset[] = []
    let outOfRangeCause: unknown
    for (const topicResponse of response.responses) {
      const topic = names.get(topicResponse.topicId) ?? topicResponse.topicId
      for (const p of topicResponse.partitions) {
        const from = wanted.get(`${topic}:${p.partitionIndex}`)
        if (from === undefined) continue
        if (p.errorCode !== 0) {
          const error = partitionFailure(topic, p.partitionIndex, p.errorCode, response)
          if (hasApiError(error.cause, 'OFFSET_OUT_OF_RANGE')) {
            outOfRangeAt.push({ topic, partition: p.partitionIndex, offset: from })
            outOfRangeCause ??= error.cause
            continue
          }
          // Not retriable (no right to read the topic, say): the role stops, as for a failed fetch.
          if (!error.retriable) throw error
          refreshSoon()
          batches.push(troubled({ topic, partition: p.partitionIndex, offset: from }, error))
          continue
        }
        let decoded: PartitionBatch
        try {
          decoded = fetchOptions.recordSpans
            ? spannedBatch(topic, p, from)
            : {
                topic,
                partition: p.partitionIndex,
                ...decodeRecordSet(topic, p.partitionIndex, p.records, from, p.abortedTransactions),
                highWatermark: 0,
              }
        } catch (error) {
          // A damaged batch: this partition waits and is reported; the others go on.
          if (!(error instanceof StrataError) || !error.retriable) throw error
          batches.push(troubled({ topic, partition: p.partitionIndex, offset: from }, error))
          continue
        }
        const end = p.lastStableOffset >= 0n ? p.lastStableOffset : p.highWatermark
        decoded.highWatermark = toOffset(end)
        batches.push(decoded)
      }
    }
    if (outOfRangeAt.length > 0) {
      // Retention outran us or the topic was recreated: the role stops, naming every partition of
      // the answer it happened to (and the sum of records lost), not only the first one read. Or
      // the offsets came back in range meanwhile (a leader change): only these partitions wait for
      // the next round, not every partition of this broker.
      const meaning = await outOfRange(client, outOfRangeAt, outOfRangeCause)
      if (!meaning.retriable) throw meaning
      refreshSoon()
      for (const position of outOfRangeAt) batches.push(troubled(position, meaning))
    }
    return batches
  }

  return {
    async fetch(positions, fetchOptions = {}) {
      if (positions.length === 0) return []
      rotation = (rotation + 1) % 1_000_000_000
      const topics = [...new Set(positions.map((p) => p.topic))]
      let metadata: Awaited<ReturnType<typeof client.metadata>>
      try {
        metadata = await client.metadata({ topics })
      } catch (error) {
        throw toStrataError(error, `Cannot read the metadata of ${topics.join(', ')}`)
      }
      const topicIds = new Map<string, string>()
      const byNode = new Map<number, PartitionOffset[]>()
      // Partitions that cannot be read right now, each answered with its error (PartitionBatch.error).
      const unreadable: PartitionBatch[] = []
      for (const position of positions) {
        const topic = metadata.topics.get(position.topic)
        const leader = topic?.partitions[position.partition]?.leader
        if (!topic || leader === undefined) {
          throw new StrataError(ErrorCodes.TOPIC, `No partition ${position.topic}[${position.partition}]`)
        }
        topicIds.set(position.topic, topic.id)
        if (leader < 0) {
          // An election is under way (or the leader's broker is gone with no replica to take
          // over): this partition waits, with fresh metadata soon; the others go on.
          refreshSoon()
          unreadable.push(
            troubled(
              position,
              new StrataError(
                ErrorCodes.KAFKA_UNAVAILABLE,
                `${position.topic}[${position.partition}] has no leader right now`,
                { retriable: true },
              ),
            ),
          )
          continue
        }
        const list = byNode.get(leader) ?? []
        list.push(position)
        byNode.set(leader, list)
      }
      // Every leader's broker is found before any request goes out: a throw half-way through
      // would leave the requests already sent with nobody to catch their failures.
      const requests: { broker: Broker; list: PartitionOffset[] }[] = []
      for (const [node, list] of byNode) {
        const broker = metadata.brokers.get(node)
        if (broker !== undefined) {
          requests.push({ broker, list })
          continue
        }
        refreshSoon()
        const error = new StrataError(
          ErrorCodes.KAFKA_UNAVAILABLE,
          `Cannot find broker with node id ${node}`,
          {
            retriable: true,
          },
        )
        for (const position of list) unreadable.push(troubled(position, error))
      }
      // A broker that cannot be reached (killed, restarting) costs its own partitions only: theirs
      // come back unreadable, the other brokers' answers are delivered.
      const answers = await Promise.allSettled(
        requests.map(({ broker, list }) => fetchFromNode(broker, topicIds, list, fetchOptions)),
      )
      const batches: PartitionBatch[] = []
      for (const [i, answer] of answers.entries()) {
        if (answer.status === 'fulfilled') {
          batches.push(...answer.value)
          continue
        }
        const failure = answer.reason instanceof StrataError ? answer.reason : fetchFailure(answer.reason)
        if (!failure.retriable) throw failure
        for (const position of requests[i]!.list) unreadable.push(troubled(position, failure))
      }
      return [...batches, ...unreadable]
    },

    refresh() {
      client.clearMetadata()
    },

    async close() {
      await client.close()
    },
  }
}

const FETCH_API = 1
const MIN_FETCH_VERSION = 15
const MAX_FETCH_VERSION = 17
const METADATA_RETRY_MS = 200

export interface RawPartition {
  partitionIndex: number
  errorCode: number
  highWatermark: bigint
  lastStableOffset: bigint
  abortedTransactions: AbortedTransaction[] | null
  /** The record set as the broker sent it (whole batches, the last one possibly cut off). */
  records: Buffer
  /** `records` is the one view of a buffer of its own (parseFetchResponseOwned). */
  owned?: boolean
}

export interface RawFetchResponse {
  errorCode: number
  responses: { topicId: string; partitions: RawPartition[] }[]
}

const NO_RECORDS = Buffer.alloc(0)

/**
 * A partition's records as spans (FetchOptions.recordSpans); `records`, read only by a reader that
 * needs the objects, decoded from the same bytes then (the same walk: the same records).
 */
export function spannedBatch(topic: string, p: RawPartition, from: number): PartitionBatch {
  const { spans, nextOffset } = decodeRecordSpans(
    topic,
    p.partitionIndex,
    p.records,
    from,
    p.abortedTransactions,
  )
  // One part in the record set's own buffer (copied out of the connection for this batch alone,
  // parseFetchResponseOwned; not a decompressed body): a reader may take it (RecordSpans.owned).
  if (p.owned === true && spans.parts.length === 1 && spans.parts[0]!.buffer === p.records.buffer)
    spans.owned = p.records.buffer as ArrayBuffer
  let records: PartitionBatch['records'] | undefined
  return {
    topic,
    partition: p.partitionIndex,
    spans,
    get records() {
      if ((p.records.buffer as ArrayBuffer).detached) {
        // The spans' buffer was taken (handed to a fold thread): these bytes are gone from here,
        // and records decoded before would read as empty values.
        throw new StrataError(
          ErrorCodes.INTERNAL,
          `${topic}[${p.partitionIndex}]: records read after their buffer was handed on`,
        )
      }
      records ??= decodeRecordSet(topic, p.partitionIndex, p.records, from, p.abortedTransactions).records
      return records
    },
    nextOffset,
    highWatermark: 0,
  }
}

/** A partition that could not be read this time: no records, the offset unchanged, and why. */
function troubled(position: PartitionOffset, error: StrataError): PartitionBatch {
  const { topic, partition, offset } = position
  return { topic, partition, records: [], nextOffset: offset, highWatermark: -1, error }
}

/** A partition's error code in a Fetch answer, as the StrataError a whole failed fetch would be. */
function partitionFailure(topic: string, partition: number, code: number, response: unknown): StrataError {
  const cause = new ResponseError(
    FETCH_API,
    MAX_FETCH_VERSION,
    { [`${topic}[${partition}]`]: [code, null] },
    response,
  )
  return fetchFailure(cause)
}

/**
 * A Fetch v15-v17 answer (the layout in @platformatic/kafka's fetch-v17.js, which this follows
 * field for field; v15 and v16 differ only in tagged fields, skipped here) with each partition's
 * records left as bytes: one copy out of the connection's chunks when they span several, none
 * otherwise. A top-level error comes out as platformatic's parser reports it (a ResponseError);
 * a partition's error stays in its `errorCode`, for fetchFromNode to decide per partition.
 */
export function parseFetchResponse(
  _correlationId: number,
  apiKey: number,
  apiVersion: number,
  reader: Reader,
): RawFetchResponse {
  return parseFetch(apiKey, apiVersion, reader, undefined)
}

/**
 * parseFetchResponse, each partition's record set always copied into a buffer of its own (the
 * copy the connection's chunks need anyway when a record set spans several), so that the batch
 * alone holds it and a reader may take it whole (FetchOptions.recordSpans, RecordSpans.owned):
 * the speed layer hands it to a fold thread instead of copying the values again (session 17).
 */
export function parseFetchResponseOwned(
  _correlationId: number,
  apiKey: number,
  apiVersion: number,
  reader: Reader,
): RawFetchResponse {
  return parseFetch(apiKey, apiVersion, reader, newBuffer)
}

/** parseFetchResponseOwned, the record sets copied into buffers from `take` (FetchOptions.recordBuffer). */
export function ownedParser(
  take: ((partition: number, bytes: number) => ArrayBuffer) | undefined,
): typeof parseFetchResponse {
  if (take === undefined) return parseFetchResponseOwned
  return (_correlationId, apiKey, apiVersion, reader) => parseFetch(apiKey, apiVersion, reader, take)
}

const newBuffer = (_partition: number, bytes: number): ArrayBuffer => new ArrayBuffer(bytes)

/** Bytes [from, from + size) of the connection's chunks, copied into the start of `buffer`. */
function ownedCopy(reader: Reader, from: number, size: number, buffer: ArrayBuffer): Buffer {
  if (buffer.byteLength < size)
    throw new StrataError(ErrorCodes.INTERNAL, `a buffer of ${buffer.byteLength} bytes for ${size}`)
  const out = Buffer.from(buffer, 0, size)
  let at = 0
  for (const chunk of reader.buffer.subarray(from, from + size).buffers) {
    out.set(chunk, at)
    at += chunk.length
  }
  if (at !== size) throw new StrataError(ErrorCodes.INTERNAL, `a record set of ${at} bytes, said ${size}`)
  return out
}

function parseFetch(
  apiKey: number,
  apiVersion: number,
  reader: Reader,
  owned: ((partition: number, bytes: number) => ArrayBuffer) | undefined,
): RawFetchResponse {
  const errors: [string, [number, null]][] = []
  reader.readInt32() // throttle time
  const errorCode = reader.readInt16()
  if (errorCode !== 0) errors.push(['', [errorCode, null]])
  reader.readInt32() // session id
  const response: RawFetchResponse = {
    errorCode,
    responses: reader.readArray((r) => ({
      topicId: r.readUUID(),
      partitions: r.readArray(
        (r) => {
          const partitionIndex = r.readInt32()
          const partitionError = r.readInt16()
          const highWatermark = r.readInt64()
          const lastStableOffset = r.readInt64()
          r.readInt64() // log start offset
          const abortedTransactions = r.readNullableArray((r) => ({
            producerId: r.readInt64(),
            firstOffset: r.readInt64(),
          }))
          r.readInt32() // preferred read replica
          // COMPACT_RECORDS: length + 1, 0 for null.
          let size = r.readUnsignedVarInt()
          let records: Buffer = NO_RECORDS
          if (size > 1) {
            size--
            records = owned
              ? ownedCopy(r, r.position, size, owned(partitionIndex, size))
              : r.buffer.slice(r.position, r.position + size)
            r.skip(size)
          }
          r.readTaggedFields()
          return {
            partitionIndex,
            errorCode: partitionError,
            highWatermark,
            lastStableOffset,
            abortedTransactions,
            records,
            ...(owned && records !== NO_RECORDS ? { owned: true } : {}),
          }
        },
        true,
        false,
      ), // the tagged fields of a partition are read above
    })),
  }
  reader.readTaggedFields()
  if (errors.length > 0) throw new ResponseError(apiKey, apiVersion, Object.fromEntries(errors), response)
  return response
}
