// The wire half of the idempotent producer: up to MAX_IN_FLIGHT produce requests in flight per
// broker, each holding at most one batch per partition, built from the partition lanes
// (partition-lane.ts keeps the sequence rules). Runs on platformatic's connection layer
// (kGetConnection, kGetApi('Produce')) rather than its Producer.send, which keeps one request in
// flight with idempotence and, after a failed request, takes a new producer id and resends with
// fresh sequences, which would reorder (or, with several in flight, duplicate) what was already
// on the wire (docs/decisions/0017-producer-in-flight.md).
import {
  type Connection,
  findErrorBy,
  kGetApi,
  kGetConnection,
  type Producer,
  produceV9,
  produceV10,
  produceV11,
  protocolErrors,
  protocolErrorsCodesById,
  Writer,
} from '@platformatic/kafka'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import { toOffset, toStrataError } from './client-options.ts'
import {
  type Batch,
  type Failure,
  type LaneEntry,
  MAX_IN_FLIGHT,
  PartitionLane,
  type ProducerIdentity,
} from './partition-lane.ts'
import { asBuffer, type RequestLimits } from './produce-batch.ts'
import { encodeProduceRequest } from './produce-request.ts'

interface WireMessage {
  topic: string
  partition: number
  key: Buffer | undefined
  value: Buffer
  headers: Map<Buffer, Buffer> | undefined
  timestamp: bigint | undefined
}

interface PartitionResponse {
  index: number
  errorCode: number
  baseOffset: bigint
  errorMessage?: string | null
}

interface ProduceResponse {
  responses: { name: string; partitionResponses: PartitionResponse[] }[]
}

// Our own encoding (produce-request.ts) for these versions; platformatic's otherwise.
const OWN_PARSERS = new Map([
  [9, produceV9.parseResponse],
  [10, produceV10.parseResponse],
  [11, produceV11.parseResponse],
])

type ProduceApi = ((
  connection: Connection,
  acks: number,
  timeout: number,
  messages: WireMessage[],
  options: {
    producerId: bigint
    producerEpoch: number
    sequences: { getWithDefault(key: string, fallback: number): number }
    compression: string
  },
  callback: (error: Error | null, response?: ProduceResponse) => void,
) => void) & { version: number }

type Broker = { host: string; port: number }

// Kafka's answers that concern the producer's sequence state rather than the batch.
const SEQUENCE_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
])

/** Requests on the wire to a broker from which a small request waits for an answer. */
export const COALESCE_AFTER = 2
/** Queued bytes for a broker that go at once whatever is on the wire. */
export const COALESCE_BYTES = 256 * 1024

/**
 * Coalescing, with no linger timer: true when a new request to a broker (`inFlight` requests on
 * the wire to it, `lanes` its partitions) waits for an answer. While COALESCE_AFTER requests are on
 * the wire it does, unless COALESCE_BYTES are queued. The records of many concurrent send() calls
 * (one per POST /events, each to one partition) then leave in one request of several batches, as
 * one large send's do, not in one small request each: traced, POST /events made 1.4 batches a
 * request against the producer bench's 6 (BENCHMARKS.md, Ingest, session 20). Every answer
 * drains again, so a record waits at most one request's round trip longer; below COALESCE_AFTER
 * nothing waits. Acknowledgement is untouched: a send() still settles on its own batches' answers.
 */
export function holdsForCoalescing(inFlight: number, lanes: readonly { queuedBytes: number }[]): boolean {
  if (inFlight < COALESCE_AFTER) return false
  let bytes = 0
  for (const lane of lanes) {
    bytes += lane.queuedBytes
    if (bytes >= COALESCE_BYTES) return false
  }
  return true
}

/** What a partition's error code means for its batch. */
export function classifyErrorCode(code: number): Failure {
  const id = protocolErrorsCodesById[code as keyof typeof protocolErrorsCodesById]
  if (id !== undefined && SEQUENCE_ERRORS.has(id)) return 'sequence'
  // DUPLICATE_SEQUENCE_NUMBER: written, but the broker no longer knows where (it keeps five
  // batches; we never have more than five unanswered): reported, not retried.
  const known = id === undefined ? undefined : protocolErrors[id as keyof typeof protocolErrors]
  return known?.canRetry ? 'retry' : 'fatal'
}

/** What a failed request (no answer per partition: network, timeout) means for its batches. */
export function classifyRequestError(error: unknown): Failure {
  if (!(error instanceof Error)) return 'fatal'
  if ((error as { code?: string }).code === 'PLT_KFK_USER') return 'fatal'
  return findErrorBy(error, 'canRetry', false) === null ? 'retry' : 'fatal'
}

export interface SenderOptions extends RequestLimits {
  client: Producer
  compression: string
  /** Per-request timeout the broker waits for the in-sync replicas (ms). */
  timeout: number
  /** Failed attempts of a batch (retriable errors) before it is given up. */
  retries: number
  retryDelay: number
  /** The producer's delivery timeout (ms), for the message of a record that outlived it. */
  deliveryTimeout?: number
}

export class Sender {
  #options: SenderOptions
  #lanes = new Map<string, PartitionLane[]>()
  #active = new Set<PartitionLane>()
  #inFlight = new Map<number, number>()
  #leaders = new Map<string, number[]>()
  #brokers = new Map<number, Broker>()
  #identity: ProducerIdentity | undefined
  #identityPending: Promise<ProducerIdentity> | undefined
  #resetting = new Set<PartitionLane>()
  #refreshing: Promise<void> | undefined
  #refreshFailures = 0
  #refreshNotBefore = 0
  #api: ProduceApi | undefined
  #timer: NodeJS.Timeout | undefined
  #wakeAt = Number.POSITIVE_INFINITY
  #draining = false
  #drainAgain = false

  constructor(options: SenderOptions) {
    this.#options = options
  }

  /** Queues the entries (one partition each, in send order) and sends them as soon as it may. */
  enqueue(entries: readonly LaneEntry[]): void {
    for (const entry of entries) {
      const lane = this.#lane(entry.record.topic, entry.record.partition)
      lane.enqueue(entry)
      this.#active.add(lane)
    }
    this.#drain()
  }

  get idle(): boolean {
    return this.#active.size === 0
  }

  close(): void {
    clearTimeout(this.#timer)
  }

  #lane(topic: string, partition: number): PartitionLane {
    let lanes = this.#lanes.get(topic)
    if (!lanes) {
      lanes = []
      this.#lanes.set(topic, lanes)
    }
    let lane = lanes[partition]
    if (!lane) {
      lane = new PartitionLane(topic, partition)
      lanes[partition] = lane
    }
    return lane
  }

  // Builds and sends every request the rules allow now. Re-entrant calls (from answers that
  // arrive synchronously) are folded into one more pass.
  #drain(): void {
    if (this.#draining) {
      this.#drainAgain = true
      return
    }
    this.#draining = true
    try {
      do {
        this.#drainAgain = false
        this.#drainOnce()
      } while (this.#drainAgain)
    } finally {
      this.#draining = false
    }
  }

  #drainOnce(): void {
    const now = Date.now()
    let wakeAt = Number.POSITIVE_INFINITY
    for (const lane of this.#active) {
      this.#expire(lane, now)
      if (lane.idle) this.#active.delete(lane)
      const deadline = lane.nextDeadline
      if (deadline !== undefined) wakeAt = Math.min(wakeAt, deadline)
    }
    if (this.#active.size === 0) {
      // Nothing waits: no wake-up is due (a deadline's would keep the process alive for nothing).
      clearTimeout(this.#timer)
      this.#timer = undefined
      this.#wakeAt = Number.POSITIVE_INFINITY
      return
    }
    const identity = this.#identity
    if (!identity) {
      // A failure has already failed the waiting records (in #newIdentity).
      this.#newIdentity(undefined).catch(() => {})
      if (wakeAt < Number.POSITIVE_INFINITY) this.#wake(wakeAt)
      return
    }
    const byLeader = new Map<number, PartitionLane[]>()
    let needMetadata = false
    for (const lane of this.#active) {
      if (lane.idle) {
        this.#active.delete(lane)
        continue
      }
      if (lane.resettable) {
        this.#reset(lane)
        continue
      }
      const leader = this.#leaders.get(lane.topic)?.[lane.partition]
      if (leader === undefined || leader < 0 || !this.#brokers.has(leader)) {
        needMetadata = true
        continue
      }
      const at = lane.wakeAt
      if (at !== undefined && at > now) wakeAt = Math.min(wakeAt, at)
      let lanes = byLeader.get(leader)
      if (!lanes) {
        lanes = []
        byLeader.set(leader, lanes)
      }
      lanes.push(lane)
    }
    if (needMetadata) {
      if (now >= this.#refreshNotBefore) this.#refreshMetadata()
      else wakeAt = Math.min(wakeAt, this.#refreshNotBefore)
    }
    for (const [leader, lanes] of byLeader) {
      while ((this.#inFlight.get(leader) ?? 0) < MAX_IN_FLIGHT) {
        if (holdsForCoalescing(this.#inFlight.get(leader) ?? 0, lanes)) break
        const batches = this.#buildRequest(lanes, identity, now)
        if (batches.length === 0) break
        this.#send(leader, batches)
      }
    }
    if (wakeAt < Number.POSITIVE_INFINITY) this.#wake(wakeAt)
  }

  // One request: at most one batch per partition, all under one producer identity, within the
  // request and batch limits.
  #buildRequest(lanes: PartitionLane[], current: ProducerIdentity, now: number): Batch[] {
    const batches: Batch[] = []
    let identity: ProducerIdentity | undefined
    let room = this.#options.maxRequestBytes
    for (const lane of lanes) {
      const candidate = lane.nextIdentity(current, now)
      if (!candidate) continue
      if (identity && candidate !== identity) continue
      const batch = lane.next(current, now, Math.min(room, this.#options.maxBatchBytes), batches.length === 0)
      if (!batch) continue
      identity = batch.identity
      batches.push(batch)
      room -= batch.bytes
      if (room <= 0) break
    }
    return batches
  }

  #send(leader: number, batches: Batch[]): void {
    this.#inFlight.set(leader, (this.#inFlight.get(leader) ?? 0) + 1)
    const { producerId, producerEpoch } = batches[0]!.identity
    const done = (error: Error | null, response?: ProduceResponse) => {
      this.#inFlight.set(leader, (this.#inFlight.get(leader) ?? 1) - 1)
      this.#answer(batches, error, response ?? (error as { response?: ProduceResponse } | null)?.response)
      this.#drain()
    }
    const broker = this.#brokers.get(leader)!
    this.#produceApi((error, api) => {
      if (error) {
        done(error)
        return
      }
      this.#options.client[kGetConnection](broker, (error, connection) => {
        if (error) {
          done(error)
          return
        }
        const parser = this.#options.compression === 'none' ? OWN_PARSERS.get(api!.version) : undefined
        if (parser) {
          let body: Buffer
          try {
            body = encodeProduceRequest(
              batches.map((batch) => ({
                topic: batch.lane.topic,
                partition: batch.lane.partition,
                records: batch.entries.map((entry) => entry.record),
                producerId,
                producerEpoch,
                sequence: batch.sequence,
              })),
              this.#options.timeout,
            )
          } catch (error) {
            done(error as Error)
            return
          }
          connection!.send(
            0, // Produce
            api!.version,
            () => Writer.create().append(body),
            parser as (...args: Parameters<typeof produceV11.parseResponse>) => ProduceResponse,
            true,
            true,
            done,
          )
          return
        }
        // Compressed, or a broker older than Produce v9: platformatic's encoding.
        const sequences = new Map<string, number>()
        const messages: WireMessage[] = []
        for (const batch of batches) {
          sequences.set(`${batch.lane.topic}:${batch.lane.partition}`, batch.sequence)
          for (const { record } of batch.entries) {
            messages.push({ ...record, key: asBuffer(record.key), value: asBuffer(record.value)! })
          }
        }
        api!(
          connection!,
          -1, // acks=all
          this.#options.timeout,
          messages,
          {
            producerId,
            producerEpoch,
            sequences: { getWithDefault: (key, fallback) => sequences.get(key) ?? fallback },
            compression: this.#options.compression,
          },
          done,
        )
      })
    })
  }

  #produceApi(callback: (error: Error | null, api?: ProduceApi) => void): void {
    if (this.#api) {
      callback(null, this.#api)
      return
    }
    this.#options.client[kGetApi]('Produce', (error, api) => {
      if (!error) this.#api = api as unknown as ProduceApi
      callback(error, this.#api)
    })
  }

  #answer(batches: Batch[], error: Error | null, response: ProduceResponse | undefined): void {
    const now = Date.now()
    const byPartition = new Map<string, PartitionResponse>()
    for (const topic of response?.responses ?? []) {
      for (const p of topic.partitionResponses) byPartition.set(`${topic.name}:${p.index}`, p)
    }
    let stale = false
    for (const batch of batches) {
      const answer = byPartition.get(`${batch.lane.topic}:${batch.lane.partition}`)
      if (answer && answer.errorCode === 0) {
        batch.lane.succeeded(batch, now)
        const base = toOffset(answer.baseOffset)
        const entries = batch.entries
        for (let k = 0; k < entries.length; k++) entries[k]!.sink.written(entries[k]!.index, base + k)
        continue
      }
      let failure: Failure
      let cause: unknown
      if (answer) {
        failure = classifyErrorCode(answer.errorCode)
        const id = protocolErrorsCodesById[answer.errorCode as keyof typeof protocolErrorsCodesById]
        cause = new StrataError(
          ErrorCodes.KAFKA,
          `${id ?? `error ${answer.errorCode}`}${answer.errorMessage ? ` (${answer.errorMessage})` : ''}`,
          { retriable: failure !== 'fatal' },
        )
      } else {
        failure = error ? classifyRequestError(error) : 'retry'
        cause = error ?? new Error('no answer for the partition')
      }
      const lane = batch.lane
      // Retries are counted per batch: a retriable error, or a refused sequence at the head of
      // the partition (a reset follows); a batch waiting behind an earlier one is not charged.
      const charged = failure === 'retry' || (failure === 'sequence' && lane.window[0] === batch)
      const exhausted = charged && batch.failures + 1 > this.#options.retries
      if (failure === 'retry') stale = true
      if (charged) lane.lastError = cause instanceof Error ? cause : undefined
      if (exhausted) failure = 'fatal'
      lane.failed(batch, failure, now, this.#options.retryDelay)
      if (failure === 'fatal') {
        const reason = toStrataError(cause, `Cannot produce to ${lane.topic}[${lane.partition}]`)
        for (const entry of batch.entries) entry.sink.failed(entry.index, reason)
        // Retries used up: what waits on the partition would meet the same fate, one batch after
        // another; it fails now (none of it is acknowledged; a batch waiting for a resend may
        // have been written, as a failed send always may).
        if (exhausted) this.#failAll(lane, reason)
      }
    }
    if (stale) this.#refreshMetadata(true)
  }

  // A fresh producer identity for the lanes that need one (all of them at the start, one whose
  // sequences the broker refused later). `stale` is the identity the asking lane holds: when it is
  // no longer the current one, the current one is new enough.
  #newIdentity(stale: ProducerIdentity | undefined): Promise<ProducerIdentity> {
    if (this.#identity && this.#identity !== stale) return Promise.resolve(this.#identity)
    this.#identityPending ??= this.#options.client
      .initIdempotentProducer({})
      .then(({ producerId, producerEpoch }) => {
        this.#identity = { producerId, producerEpoch }
        return this.#identity
      })
      .catch((error: unknown) => {
        const reason = toStrataError(error, 'Cannot get a producer id')
        for (const lane of this.#active) {
          if (!this.#identity || lane.needsReset) this.#failAll(lane, reason)
        }
        throw reason
      })
      .finally(() => {
        this.#identityPending = undefined
        this.#drain()
      })
    return this.#identityPending
  }

  #reset(lane: PartitionLane): void {
    if (this.#resetting.has(lane)) return
    this.#resetting.add(lane)
    this.#newIdentity(lane.identity)
      .then((identity) => {
        if (lane.resettable) lane.reset(identity)
      })
      .catch(() => {}) // the lane's records were failed above
      .finally(() => {
        this.#resetting.delete(lane)
        this.#drain()
      })
  }

  // Leaders of every topic in use, after a leader moved or a broker failed. Consecutive failures
  // past the retries give up what is waiting (records never sent are not written; batches waiting
  // for a resend may be).
  #refreshMetadata(force = false): void {
    if (this.#refreshing) return
    // Only the topics with records waiting: one deleted since does not hold the others back.
    const topics = [...new Set([...this.#active].map((lane) => lane.topic))]
    if (topics.length === 0) return
    this.#refreshing = this.#options.client
      .metadata({ topics, forceUpdate: force || topics.some((topic) => this.#leaders.has(topic)) })
      .then((metadata) => {
        for (const [id, broker] of metadata.brokers) this.#brokers.set(id, broker)
        let leaderless = false
        for (const topic of topics) {
          const partitions = metadata.topics.get(topic)?.partitions ?? []
          const leaders = partitions.map((p) => p?.leader ?? -1)
          if (leaders.some((l) => l < 0)) leaderless = true
          this.#leaders.set(topic, leaders)
        }
        if (leaderless) throw new StrataError(ErrorCodes.KAFKA_UNAVAILABLE, 'A partition has no leader')
        this.#refreshFailures = 0
      })
      .catch((error: unknown) => {
        this.#refreshFailures++
        if (this.#refreshFailures > this.#options.retries) {
          this.#refreshFailures = 0
          const reason = toStrataError(error, 'Cannot find the partition leaders')
          for (const lane of this.#active) {
            const leader = this.#leaders.get(lane.topic)?.[lane.partition]
            if (leader === undefined || leader < 0) this.#failAll(lane, reason)
          }
        }
        this.#refreshNotBefore = Date.now() + this.#options.retryDelay
        this.#wake(this.#refreshNotBefore)
      })
      .finally(() => {
        this.#refreshing = undefined
        this.#drain()
      })
  }

  // Records past their send()'s delivery timeout, and not on the wire, fail now (partition-lane.ts,
  // expire()): never sent, they were not written; sent before, they may have been.
  #expire(lane: PartitionLane, now: number): void {
    const { unsent, unanswered } = lane.expire(now)
    if (unsent.length === 0 && unanswered.length === 0) return
    const timeout = this.#options.deliveryTimeout
    const within =
      timeout === undefined ? 'within the delivery timeout' : `within ${timeout} ms (deliveryTimeout)`
    const last = lane.lastError ? `; last error: ${lane.lastError.message}` : ''
    const failure = (written: string) =>
      new StrataError(
        ErrorCodes.KAFKA_DELIVERY_TIMEOUT,
        `Not acknowledged by Kafka ${within} on ${lane.topic}[${lane.partition}]: ${written}${last}`,
        { retriable: true },
      )
    if (unanswered.length > 0) {
      const reason = failure('sent and not answered, it may have been written')
      for (const entry of unanswered) entry.sink.failed(entry.index, reason)
    }
    if (unsent.length > 0) {
      const reason = failure('never sent, so not written')
      for (const entry of unsent) entry.sink.failed(entry.index, reason)
    }
  }

  #failAll(lane: PartitionLane, reason: Error): void {
    for (const entry of lane.drop()) entry.sink.failed(entry.index, reason)
  }

  #wake(at: number): void {
    if (at >= this.#wakeAt) return
    clearTimeout(this.#timer)
    this.#wakeAt = at
    this.#timer = setTimeout(
      () => {
        this.#wakeAt = Number.POSITIVE_INFINITY
        this.#timer = undefined
        this.#drain()
      },
      Math.max(0, at - Date.now()),
    )
  }
}
