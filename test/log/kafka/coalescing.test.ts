// The producer's coalescing rule (sender.ts, holdsForCoalescing): with requests on the wire, a
// small request waits for an answer so that concurrent sends leave together; and the queued-bytes
// count of a partition lane it reads, through enqueue, next, expire and drop.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PartitionLane, type RecordSink } from '../../../src/log/kafka/partition-lane.ts'
import type { PreparedRecord } from '../../../src/log/kafka/produce-batch.ts'
import { COALESCE_AFTER, COALESCE_BYTES, holdsForCoalescing } from '../../../src/log/kafka/sender.ts'

function record(bytes: number): PreparedRecord {
  return {
    topic: 't',
    partition: 0,
    key: undefined,
    value: 'v',
    keyBytes: 0,
    valueBytes: 1,
    headers: undefined,
    timestamp: undefined,
    bytes,
  }
}

const sink: RecordSink = { written() {}, failed() {} }

test('below COALESCE_AFTER requests on the wire nothing waits, however little is queued', () => {
  for (let inFlight = 0; inFlight < COALESCE_AFTER; inFlight++) {
    assert.equal(holdsForCoalescing(inFlight, [{ queuedBytes: 1 }]), false)
  }
})

test('at COALESCE_AFTER requests on the wire a small request waits; COALESCE_BYTES over the lanes go at once', () => {
  assert.equal(holdsForCoalescing(COALESCE_AFTER, [{ queuedBytes: 1 }, { queuedBytes: 2 }]), true)
  assert.equal(holdsForCoalescing(COALESCE_AFTER + 2, [{ queuedBytes: COALESCE_BYTES - 1 }]), true)
  const half = Math.ceil(COALESCE_BYTES / 2)
  assert.equal(holdsForCoalescing(COALESCE_AFTER, [{ queuedBytes: half }, { queuedBytes: half }]), false)
  assert.equal(holdsForCoalescing(COALESCE_AFTER, [{ queuedBytes: COALESCE_BYTES }]), false)
})

test('a lane counts its queued bytes through enqueue, next, expire and drop', () => {
  const lane = new PartitionLane('t', 0)
  const identity = { producerId: 1n, producerEpoch: 0 }
  for (let i = 0; i < 6; i++) lane.enqueue({ record: record(100), sink, index: i, deadline: 10 + i })
  assert.equal(lane.queuedBytes, 600)
  const batch = lane.next(identity, 0, 250, true)! // two records of 100 fit under 250
  assert.equal(batch.entries.length, 2)
  assert.equal(lane.queuedBytes, 400)
  const { unsent } = lane.expire(12) // deadlines 12 and 13 of the queued: 12 has passed (<= now)
  assert.equal(unsent.length, 1)
  assert.equal(lane.queuedBytes, 300)
  lane.drop()
  assert.equal(lane.queuedBytes, 0)
})
