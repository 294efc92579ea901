// One partition's share of the idempotent producer: the records queued in send order, the batches
// sent and not yet answered (each with its producer identity and sequence number), and the rules
// that keep a retry from duplicating or reordering anything. Pure: sender.ts does the I/O.
//
// The broker accepts a batch of producer P on partition p only when its first sequence follows
// the last one it appended for (P, p), and answers a batch it already holds (one of the last five)
// with the offset it was written at. So, as in Java's producer (RecordAccumulator and
// TransactionManager, max.in.flight.requests.per.connection=5):
// - a batch keeps its sequence for life, across every retry: a retry of a batch that did land is
//   answered with its first offset, never written twice;
// - at most MAX_IN_FLIGHT batches of a partition are unanswered at once (the broker remembers five);
// - once a batch must be retried, nothing new is sent on the partition: the unanswered batches
//   are resent one at a time, lowest sequence first, until none is left, so none lands out of order;
//   and nothing new goes until every resent batch is answered (else newer batches could push a
//   resent one that did land out of the broker's five, and its next retry would write it twice);
// - OUT_OF_ORDER_SEQUENCE_NUMBER for a batch with an earlier one unanswered means "after that one":
//   it waits its turn. For the lowest unanswered batch it means the broker will take nothing that
//   follows (an earlier batch was given up, or the broker forgot the producer), and so none of the
//   unanswered batches was written: once none is on the wire, they get a new producer identity and
//   sequences from 0 (reset()).
// - a broker that does not know the producer on a partition (a new producer id, or state it
//   dropped) takes the first batch it sees with ANY sequence (Kafka's ProducerAppendInfo): were a
//   later batch to overtake an earlier one refused with a retriable error, it would be taken first.
//   So the first batch of an identity, and the first after a long idle spell, goes alone (a
//   probe); the pipeline opens once the broker acknowledged it.
import type { PreparedRecord } from './produce-batch.ts'

/** Batches of one partition unanswered at once: the broker de-duplicates against the last five. */
export const MAX_IN_FLIGHT = 5

/** Idle this long (no batch acknowledged), the next batch is a probe again. */
export const PROBE_AFTER_IDLE_MS = 60_000

/** A producer id and epoch from InitProducerId. */
export interface ProducerIdentity {
  producerId: bigint
  producerEpoch: number
}

/** Where a record's outcome goes: its send() call and its index there. */
export interface RecordSink {
  written(index: number, offset: number): void
  failed(index: number, error: Error): void
}

export interface LaneEntry {
  record: PreparedRecord
  sink: RecordSink
  index: number
  /**
   * When the record's send() gives up on it (ms, epoch): the producer's delivery timeout after the
   * call was made. Absent: never.
   */
  deadline?: number
}

export interface Batch {
  lane: PartitionLane
  entries: LaneEntry[]
  bytes: number
  identity: ProducerIdentity
  sequence: number
  /** On the wire, or waiting to be (re)sent. */
  state: 'sent' | 'waiting'
  /** Failed attempts so far (retriable errors). */
  failures: number
  /** Not resent before this time (ms). */
  notBefore: number
  /** Sent again after a failed attempt: nothing new goes on the partition until it is answered. */
  resent: boolean
}

/** What a failed answer means for a batch (see classifyProduceError in sender.ts). */
export type Failure = 'retry' | 'sequence' | 'fatal'

/** Kafka's DefaultRecordBatch.incrementSequence: sequences wrap at Int32.MAX_VALUE. */
export function incrementSequence(sequence: number, increment: number): number {
  const max = 0x7fffffff
  if (sequence > max - increment) return increment - (max - sequence) - 1
  return sequence + increment
}

export class PartitionLane {
  readonly topic: string
  readonly partition: number
  /** The identity the lane's next new batch is sequenced under (set on first use and on reset). */
  identity: ProducerIdentity | undefined
  nextSequence = 0
  /** The broker will take none of the unanswered batches: they need a new identity (reset()). */
  needsReset = false
  /** Unanswered batches in sequence order (sent, or waiting to be resent). */
  readonly window: Batch[] = []
  /** Batches of the window on the wire. */
  sent = 0
  /** The last retriable failure of a batch here (for the message of a record that times out). */
  lastError: Error | undefined
  #queue: LaneEntry[] = []
  #head = 0
  /** A batch sent while the broker may not know the producer: nothing new goes beside it. */
  #probe: Batch | undefined
  /** When the broker last acknowledged a batch of `identity` (undefined: never). */
  #lastAck: number | undefined

  constructor(topic: string, partition: number) {
    this.topic = topic
    this.partition = partition
  }

  /** Bytes of the queued records (not yet in a batch). */
  queuedBytes = 0

  get queued(): number {
    return this.#queue.length - this.#head
  }

  get idle(): boolean {
    return this.queued === 0 && this.window.length === 0
  }

  enqueue(entry: LaneEntry): void {
    this.#queue.push(entry)
    this.queuedBytes += entry.record.bytes
  }

  /** The identity of the batch next() would return, or undefined when it has none to give now. */
  nextIdentity(current: ProducerIdentity, now: number): ProducerIdentity | undefined {
    if (this.needsReset) return undefined
    if (this.#retrying()) {
      const first = this.window[0]!
      return this.sent === 0 && first.notBefore <= now ? first.identity : undefined
    }
    if (this.queued === 0 || this.sent >= MAX_IN_FLIGHT || this.#probe || this.#resending()) return undefined
    return this.identity ?? current
  }

  /**
   * The batch to put in the next request to this partition's leader, marked sent; undefined when
   * the rules above hold everything back, or when its batch would exceed `maxBytes` and `first`
   * (the request is empty) is false. A new batch takes queued records up to `maxBytes`; the
   * first batch of a request takes at least one record, however large.
   */
  next(current: ProducerIdentity, now: number, maxBytes: number, first: boolean): Batch | undefined {
    const identity = this.nextIdentity(current, now)
    if (!identity) return undefined
    if (this.#retrying()) {
      const earliest = this.window[0]!
      if (earliest.bytes > maxBytes && !first) return undefined
      earliest.state = 'sent'
      earliest.resent = true
      this.sent++
      return earliest
    }
    if (!first && this.#queue[this.#head]!.record.bytes > maxBytes) return undefined
    this.identity = identity
    const entries: LaneEntry[] = []
    let bytes = 0
    while (this.#head < this.#queue.length) {
      const entry = this.#queue[this.#head]!
      if (entries.length > 0 && bytes + entry.record.bytes > maxBytes) break
      entries.push(entry)
      bytes += entry.record.bytes
      this.#head++
    }
    this.queuedBytes -= bytes
    this.#compact()
    const batch: Batch = {
      lane: this,
      entries,
      bytes,
      identity,
      sequence: this.nextSequence,
      state: 'sent',
      failures: 0,
      notBefore: 0,
      resent: false,
    }
    this.nextSequence = incrementSequence(this.nextSequence, entries.length)
    if (
      this.window.length === 0 &&
      (this.#lastAck === undefined || now - this.#lastAck > PROBE_AFTER_IDLE_MS)
    ) {
      this.#probe = batch
    }
    this.window.push(batch)
    this.sent++
    return batch
  }

  /** The broker wrote the batch. */
  succeeded(batch: Batch, now: number): void {
    this.#answered(batch)
    this.#remove(batch)
    if (batch.identity === this.identity) this.#lastAck = now
  }

  /**
   * The batch failed: 'retry' waits `delay` ms and resends it with the same sequence; 'sequence'
   * (out of order, unknown producer) resends it after the earlier ones, or marks the lane for a
   * reset when it is the earliest; 'fatal' drops it (the caller fails its records).
   */
  failed(batch: Batch, failure: Failure, now: number, delay: number): void {
    this.#answered(batch)
    if (failure === 'fatal') {
      this.#remove(batch)
      return
    }
    batch.state = 'waiting'
    if (failure === 'retry') {
      batch.failures++
      batch.notBefore = now + delay
    } else if (this.window[0] === batch) {
      batch.failures++
      this.needsReset = true
    }
  }

  /** Whether reset() may run: a reset is due and nothing of the lane is on the wire. */
  get resettable(): boolean {
    return this.needsReset && this.sent === 0
  }

  /** A new identity: every unanswered batch (none was written) gets sequences from 0 under it. */
  reset(identity: ProducerIdentity): void {
    if (this.sent !== 0) throw new Error('reset with batches on the wire')
    this.identity = identity
    this.nextSequence = 0
    this.#lastAck = undefined
    this.#probe = this.window[0]
    for (const batch of this.window) {
      batch.identity = identity
      batch.sequence = this.nextSequence
      batch.notBefore = 0
      this.nextSequence = incrementSequence(this.nextSequence, batch.entries.length)
    }
    this.needsReset = false
  }

  /** Removes everything not on the wire (queued records and waiting batches) and returns it. */
  drop(): LaneEntry[] {
    const dropped = this.#queue.slice(this.#head)
    this.#queue = []
    this.#head = 0
    this.queuedBytes = 0
    for (let i = this.window.length - 1; i >= 0; i--) {
      const batch = this.window[i]!
      if (batch.state === 'waiting') {
        dropped.unshift(...batch.entries)
        this.#remove(batch)
      }
    }
    return dropped
  }

  /**
   * Removes what has outlived its deadline and is not on the wire, and returns it: queued records
   * (never sent, so not written), and batches waiting to be resent (sent before, so they may have
   * been written). A batch on the wire is left to its answer: it expires once answered, if it is
   * then to be resent. Deadlines grow in send order, so the queue expires from its head; a waiting
   * batch is judged by its first (oldest) record. What follows an expired batch keeps its
   * sequence: if the broker did not take the expired one, the next is refused as out of order at
   * the head of the window and the lane resets (a new identity), as after any batch given up.
   */
  expire(now: number): { unsent: LaneEntry[]; unanswered: LaneEntry[] } {
    const unsent: LaneEntry[] = []
    while (this.#head < this.#queue.length) {
      const entry = this.#queue[this.#head]!
      if (entry.deadline === undefined || entry.deadline > now) break
      unsent.push(entry)
      this.queuedBytes -= entry.record.bytes
      this.#head++
    }
    if (unsent.length > 0) this.#compact()
    const unanswered: LaneEntry[] = []
    for (let i = this.window.length - 1; i >= 0; i--) {
      const batch = this.window[i]!
      const deadline = batch.entries[0]?.deadline
      if (batch.state !== 'waiting' || deadline === undefined || deadline > now) continue
      unanswered.unshift(...batch.entries)
      this.#remove(batch)
    }
    return { unsent, unanswered }
  }

  /** The earliest deadline of what expire() could remove (queued or waiting), if any. */
  get nextDeadline(): number | undefined {
    let next = this.#queue[this.#head]?.deadline
    for (const batch of this.window) {
      const deadline = batch.entries[0]?.deadline
      if (batch.state === 'waiting' && deadline !== undefined && (next === undefined || deadline < next))
        next = deadline
    }
    return next
  }

  /** The earliest time a waiting batch may be resent, if one waits. */
  get wakeAt(): number | undefined {
    return this.#retrying() && this.sent === 0 && !this.needsReset ? this.window[0]!.notBefore : undefined
  }

  // A resent batch stays the newest thing on the partition until it is answered, as in Java's
  // producer: the broker de-duplicates a retry only against the last five batches it appended for
  // the producer, so new batches appended meanwhile could push a resent batch that did land (its
  // answer lost) out of that window, and its next retry would be refused as out of order, the lane
  // reset, and the batch written twice (found by the property test with longer step sequences).
  #resending(): boolean {
    for (const batch of this.window) if (batch.resent) return true
    return false
  }

  #retrying(): boolean {
    for (const batch of this.window) if (batch.state === 'waiting') return true
    return false
  }

  #answered(batch: Batch): void {
    if (batch.state !== 'sent') throw new Error('an answer for a batch not on the wire')
    this.sent--
  }

  #remove(batch: Batch): void {
    const at = this.window.indexOf(batch)
    if (at >= 0) this.window.splice(at, 1)
    if (this.#probe === batch) this.#probe = undefined
  }

  #compact(): void {
    if (this.#head === this.#queue.length) {
      this.#queue = []
      this.#head = 0
    } else if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
  }
}
