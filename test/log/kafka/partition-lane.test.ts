// The sequence rules of one partition (partition-lane.ts) against a model of the broker's
// idempotent append (Kafka's ProducerStateManager: a batch is taken only when its first sequence
// follows the producer's last one, any sequence for a producer it does not know; a batch equal to one
// of the last five it took is answered with that batch's offset, not written again), over a
// connection that answers in order and may lose a request, lose an answer after the write, or
// refuse with a retriable error. Property: every record ends up in the log exactly once, in send
// order, at the offset it was acknowledged at.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  type Batch,
  incrementSequence,
  MAX_IN_FLIGHT,
  PartitionLane,
  type ProducerIdentity,
  type RecordSink,
} from '../../../src/log/kafka/partition-lane.ts'
import type { PreparedRecord } from '../../../src/log/kafka/produce-batch.ts'

interface ProducerState {
  last: number
  cache: { first: number; count: number; offset: number }[]
}

class ModelBroker {
  log: string[] = []
  states = new Map<bigint, ProducerState>()

  append(pid: bigint, first: number, values: string[]): { offset: number } | 'OUT_OF_ORDER' {
    const state = this.states.get(pid)
    const duplicate = state?.cache.find((c) => c.first === first && c.count === values.length)
    if (duplicate) return { offset: duplicate.offset }
    if (state && first !== incrementSequence(state.last, 1)) return 'OUT_OF_ORDER'
    const offset = this.log.length
    this.log.push(...values)
    const next = state ?? { last: 0, cache: [] }
    next.last = incrementSequence(first, values.length - 1)
    next.cache.push({ first, count: values.length, offset })
    if (next.cache.length > 5) next.cache.shift()
    this.states.set(pid, next)
    return { offset }
  }
}

function record(value: string): PreparedRecord {
  return {
    topic: 't',
    partition: 0,
    key: undefined,
    value: Buffer.from(value),
    keyBytes: 0,
    valueBytes: value.length,
    headers: undefined,
    timestamp: undefined,
    bytes: 10,
  }
}

type Step =
  | { kind: 'enqueue'; count: number }
  | { kind: 'send'; maxRecords: number }
  | { kind: 'answer'; fault: 'none' | 'lost-request' | 'lost-answer' | 'retriable' }
  | { kind: 'forget' }
  | { kind: 'tick'; ms: number }
  | { kind: 'expire' }

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('enqueue' as const), count: fc.integer({ min: 1, max: 7 }) }),
  fc.record({ kind: fc.constant('send' as const), maxRecords: fc.integer({ min: 1, max: 6 }) }),
  fc.record({
    kind: fc.constant('answer' as const),
    fault: fc.constantFrom('none', 'none', 'none', 'lost-request', 'lost-answer', 'retriable'),
  }),
  fc.record({ kind: fc.constant('forget' as const) }),
)

/** With the delivery timeout: time passes, and what outlived its deadline is expired. */
const expiringStep: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: step },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 15 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const) }) },
)

/** Deadline of each record after its enqueue, when the run expires records. */
const DELIVERY_TIMEOUT = 20

function run(steps: Step[], startSequence: number, expiring = false): void {
  const broker = new ModelBroker()
  const lane = new PartitionLane('t', 0)
  lane.nextSequence = startSequence
  let identity: ProducerIdentity = { producerId: 1n, producerEpoch: 0 }
  if (startSequence !== 0) {
    // A producer the broker already knows, near the wrap of the sequence numbers.
    broker.states.set(1n, { last: incrementSequence(startSequence, 0x7fffffff), cache: [] }) // start - 1
  }
  let now = 0
  const wire: { batch: Batch; pid: bigint; first: number; values: string[] }[] = []
  const acked = new Map<string, number>()
  const sent: string[] = []
  // Expired by the delivery timeout: never sent (must not be in the log), or sent (may be).
  const expiredUnsent = new Set<string>()
  const expiredSent = new Set<string>()
  const sink: RecordSink = {
    written: (index, offset) => {
      assert.ok(!acked.has(sent[index]!), `${sent[index]} acknowledged twice`)
      acked.set(sent[index]!, offset)
    },
    failed: (index) => assert.fail(`record ${index} failed`),
  }
  const valuesOf = (batch: Batch) => batch.entries.map((e) => e.record.value.toString())
  const send = (maxRecords: number) => {
    const batch = lane.next(identity, now, maxRecords * 10, true)
    if (!batch) return false
    assert.ok(lane.sent <= MAX_IN_FLIGHT)
    wire.push({ batch, pid: batch.identity.producerId, first: batch.sequence, values: valuesOf(batch) })
    return true
  }
  const answer = (fault: string) => {
    const request = wire.shift()
    if (!request) return false
    const { batch } = request
    if (fault === 'lost-request' || fault === 'retriable') {
      lane.failed(batch, 'retry', now, 0)
      return true
    }
    const result = broker.append(request.pid, request.first, request.values)
    if (fault === 'lost-answer') lane.failed(batch, 'retry', now, 0)
    else if (result === 'OUT_OF_ORDER') lane.failed(batch, 'sequence', now, 0)
    else {
      lane.succeeded(batch, now)
      for (const [k, entry] of batch.entries.entries()) sink.written(entry.index, result.offset + k)
    }
    return true
  }
  const reset = () => {
    if (!lane.resettable) return
    identity = { producerId: identity.producerId + 1n, producerEpoch: 0 }
    lane.reset(identity)
  }
  for (const s of steps) {
    if (s.kind === 'enqueue') {
      for (let i = 0; i < s.count; i++) {
        const value = `v${sent.length}`
        const deadline = expiring ? { deadline: now + DELIVERY_TIMEOUT } : {}
        lane.enqueue({ record: record(value), sink, index: sent.length, ...deadline })
        sent.push(value)
      }
    } else if (s.kind === 'tick') now += s.ms
    else if (s.kind === 'expire') {
      const { unsent, unanswered } = lane.expire(now)
      for (const entry of unsent) expiredUnsent.add(sent[entry.index]!)
      for (const entry of unanswered) expiredSent.add(sent[entry.index]!)
      // A batch keeps its records together for life (its sequence range is fixed once sent), so
      // it expires with its oldest record's deadline; a record never sent, by its own.
      if (unanswered.length > 0) assert.ok(Math.min(...unanswered.map((e) => e.deadline!)) <= now)
      for (const entry of unsent) assert.ok(entry.deadline! <= now, `${sent[entry.index]} expired early`)
    } else if (s.kind === 'send') send(s.maxRecords)
    else if (s.kind === 'answer') answer(s.fault)
    else if (wire.length === 0 && lane.window.length === 0) {
      // The broker forgets the producer (its state expired) while nothing is unanswered.
      broker.states.delete(identity.producerId)
      now += 24 * 3600 * 1000
    }
    reset()
  }
  // Then a healthy connection until everything is answered.
  for (let guard = 0; !lane.idle || wire.length > 0; guard++) {
    assert.ok(guard < 10_000, 'no progress')
    if (!send(4)) answer('none')
    reset()
  }
  for (const [value, offset] of acked) assert.equal(broker.log[offset], value)
  if (!expiring) {
    assert.deepEqual(broker.log, sent, 'the log holds every record once, in send order')
    assert.equal(acked.size, sent.length)
    return
  }
  // Expired records fail (never acknowledged), and only those: the rest are acknowledged. The log
  // holds each record at most once, in send order, and none that expired before it was sent.
  for (const value of sent) {
    const expired = expiredUnsent.has(value) || expiredSent.has(value)
    assert.notEqual(
      acked.has(value),
      expired,
      `${value}: acknowledged ${acked.has(value)}, expired ${expired}`,
    )
  }
  const position = new Map(sent.map((value, i) => [value, i]))
  let last = -1
  for (const value of broker.log) {
    assert.ok(!expiredUnsent.has(value), `${value} expired unsent, yet written`)
    const at = position.get(value)!
    assert.ok(at > last, `${value} written twice or out of send order: ${broker.log}`)
    last = at
  }
}

test('every record lands once, in order, at its acknowledged offset, whatever the connection loses', () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 120, size: 'max' }), (steps) => run(steps, 0)),
    { numRuns: 400 },
  )
})

test('with a delivery timeout: expired records fail, the rest land once, in order, at their acknowledged offset', () => {
  fc.assert(
    fc.property(fc.array(expiringStep, { maxLength: 150, size: 'max' }), (steps) => run(steps, 0, true)),
    { numRuns: 400 },
  )
})

// Found by the property above once its step sequences were long (fast-check's default size had
// kept them to ~10 steps): v1's resend went on the wire, v3..v6 went beside it and were appended,
// the resend's answer was lost, and by its next retry the broker's last five batches (v2..v6) no
// longer held v1: refused as out of order, the lane reset, and v1 was written twice.
test("new batches wait while a resent batch is unanswered: its next retry stays among the broker's five", () => {
  const steps: Step[] = [
    { kind: 'enqueue', count: 1 },
    { kind: 'send', maxRecords: 1 },
    { kind: 'enqueue', count: 2 },
    { kind: 'answer', fault: 'none' },
    { kind: 'send', maxRecords: 1 },
    { kind: 'send', maxRecords: 1 },
    { kind: 'answer', fault: 'lost-answer' },
    { kind: 'enqueue', count: 3 },
    { kind: 'answer', fault: 'none' },
    { kind: 'send', maxRecords: 1 },
    { kind: 'send', maxRecords: 1 },
    { kind: 'send', maxRecords: 1 },
    { kind: 'send', maxRecords: 1 },
    { kind: 'enqueue', count: 1 },
    { kind: 'send', maxRecords: 1 },
    { kind: 'answer', fault: 'lost-answer' },
  ]
  run(steps, 0)
})

test('the same across the wrap of the sequence numbers (Int32.MAX_VALUE to 0)', () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 80, size: 'max' }), (steps) => run(steps, 0x7fffffff - 12)),
    { numRuns: 200 },
  )
})

test('a retry holds back new batches and resends the earliest first, with its own sequence', () => {
  const lane = new PartitionLane('t', 0)
  const identity = { producerId: 7n, producerEpoch: 0 }
  const sink: RecordSink = { written: () => {}, failed: () => {} }
  for (let i = 0; i < 14; i++) lane.enqueue({ record: record(`v${i}`), sink, index: i })
  const probe = lane.next(identity, 0, 20, true)! // 2 records, sequence 0
  assert.equal(lane.next(identity, 0, 20, true), undefined, 'the first batch of an identity goes alone')
  lane.succeeded(probe, 0)
  const a = lane.next(identity, 0, 20, true)!
  const b = lane.next(identity, 0, 20, true)!
  const c = lane.next(identity, 0, 20, true)!
  assert.deepEqual([a.sequence, b.sequence, c.sequence], [2, 4, 6])
  lane.failed(a, 'retry', 0, 100) // e.g. NOT_LEADER_OR_FOLLOWER
  lane.failed(b, 'sequence', 0, 100) // out of order: behind a
  assert.equal(lane.needsReset, false, 'b waits for a, no reset')
  assert.equal(lane.next(identity, 50, 20, true), undefined, 'c is still on the wire')
  lane.failed(c, 'sequence', 50, 100)
  assert.equal(lane.next(identity, 50, 20, true), undefined, 'a waits out its delay')
  const again = lane.next(identity, 100, 20, true)!
  assert.equal(again, a)
  assert.equal(again.sequence, 2)
  assert.equal(lane.next(identity, 100, 20, true), undefined, 'one at a time while retrying')
  lane.succeeded(a, 100)
  assert.equal(lane.next(identity, 100, 20, true), b)
  lane.succeeded(b, 100)
  assert.equal(lane.next(identity, 100, 20, true), c)
  lane.succeeded(c, 100)
  const d = lane.next(identity, 100, 20, true)!
  assert.equal(d.sequence, 8, 'new batches go on after the retried ones')
})

test('a refused sequence at the head resets the lane: new identity, sequences from 0', () => {
  const lane = new PartitionLane('t', 0)
  const old = { producerId: 7n, producerEpoch: 0 }
  const sink: RecordSink = { written: () => {}, failed: () => {} }
  for (let i = 0; i < 8; i++) lane.enqueue({ record: record(`v${i}`), sink, index: i })
  lane.succeeded(lane.next(old, 0, 20, true)!, 0) // the probe
  const a = lane.next(old, 0, 20, true)!
  const b = lane.next(old, 0, 20, true)!
  lane.failed(a, 'sequence', 0, 0)
  assert.equal(lane.needsReset, true)
  assert.equal(lane.resettable, false, 'b is still on the wire')
  lane.failed(b, 'sequence', 0, 0)
  assert.equal(lane.resettable, true)
  const fresh = { producerId: 8n, producerEpoch: 0 }
  lane.reset(fresh)
  assert.deepEqual([a.sequence, b.sequence, a.identity, b.identity], [0, 2, fresh, fresh])
  assert.equal(lane.next(old, 0, 20, true), a)
  assert.equal(lane.next(old, 0, 20, true), undefined, 'a probes the new identity alone')
})
