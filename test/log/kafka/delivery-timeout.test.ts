// The producer's delivery timeout (Kafka's delivery.timeout.ms; sender.ts, partition-lane.ts
// expire()): a record not acknowledged within it fails with STRATA_ERR_KAFKA_DELIVERY_TIMEOUT,
// whatever retries are left, and says whether it was ever sent (may be written) or not (not
// written); a request on the wire is never abandoned midway; a record acknowledged in time is
// never failed. The Sender runs here on a fake platformatic client whose one broker answers as each
// test says, so no broker is needed and no timing is asserted (only outcomes and their order).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { kGetApi, kGetConnection, type Producer } from '@platformatic/kafka'
import { ErrorCodes, type StrataError } from '../../../src/core/errors.ts'
import { createProducer } from '../../../src/log/kafka/index.ts'
import type { LaneEntry, RecordSink } from '../../../src/log/kafka/partition-lane.ts'
import { prepareRecords } from '../../../src/log/kafka/produce-batch.ts'
import { Sender } from '../../../src/log/kafka/sender.ts'

type Callback = (error: Error | null, response?: unknown) => void

/** A client with one broker (node 1) leading partition 0 of `t`; `onRequest` answers each request. */
function fakeClient(onRequest: (partitions: number[], answer: Callback) => void): Producer {
  const api = Object.assign(() => assert.fail('the compressed path is not used here'), { version: 9 })
  const connection = {
    send(
      _key: number,
      _version: number,
      build: () => { buffer?: Buffer },
      _parse: unknown,
      _a: boolean,
      _b: boolean,
      callback: Callback,
    ) {
      build()
      onRequest([0], callback)
    },
  }
  return {
    [kGetApi]: (_name: string, callback: Callback) => callback(null, api),
    [kGetConnection]: (_broker: unknown, callback: Callback) => callback(null, connection),
    metadata: async () => ({
      brokers: new Map([[1, { host: '127.0.0.1', port: 1 }]]),
      topics: new Map([['t', { partitions: [{ leader: 1 }] }]]),
    }),
    initIdempotentProducer: async () => ({ producerId: 1n, producerEpoch: 0 }),
  } as unknown as Producer
}

const ok = (baseOffset: bigint) => ({
  responses: [{ name: 't', partitionResponses: [{ index: 0, errorCode: 0, baseOffset }] }],
})

interface Outcome {
  value: string
  offset?: number
  error?: StrataError
}

/** Entries of values on partition 0 of `t`, with `deadline`, and where their outcomes go. */
function entries(values: string[], deadline: number | undefined, outcomes: Outcome[]): LaneEntry[] {
  const prepared = prepareRecords(
    't',
    values.map((value) => ({ value, partition: 0 })),
    1,
    0,
  )
  return prepared.map((record, index) => {
    const sink: RecordSink = {
      written: (_i, offset) => outcomes.push({ value: values[index]!, offset }),
      failed: (_i, error) => outcomes.push({ value: values[index]!, error: error as StrataError }),
    }
    return { record, sink, index, ...(deadline === undefined ? {} : { deadline }) }
  })
}

const settled = (outcomes: Outcome[], n: number) =>
  new Promise<void>((resolve) => {
    const poll = () => (outcomes.length >= n ? resolve() : setTimeout(poll, 5))
    poll()
  })

function sender(client: Producer, retries: number, deliveryTimeout = 200): Sender {
  return new Sender({
    client,
    compression: 'none',
    timeout: 1000,
    retries,
    retryDelay: 5,
    maxRequestBytes: 1024 * 1024,
    maxBatchBytes: 512 * 1024,
    deliveryTimeout,
  })
}

// A million retries would take hours: the deadline ends it, with its own code.
test('a send that keeps failing retriably fails at its deadline with DELIVERY_TIMEOUT, retries left', async () => {
  const s = sender(
    fakeClient((_p, answer) => setTimeout(() => answer(new Error('connection reset')), 2)),
    1_000_000,
  )
  const outcomes: Outcome[] = []
  s.enqueue(entries(['a', 'b'], Date.now() + 100, outcomes))
  await settled(outcomes, 2)
  s.close()
  assert.deepEqual(
    outcomes.map((o) => [o.value, o.offset, o.error?.code]),
    [
      ['a', undefined, ErrorCodes.KAFKA_DELIVERY_TIMEOUT],
      ['b', undefined, ErrorCodes.KAFKA_DELIVERY_TIMEOUT],
    ],
  )
  const error = outcomes[0]!.error!
  assert.equal(error.retriable, true)
  assert.equal(error.status, 503)
  assert.match(
    error.message,
    /within 200 ms \(deliveryTimeout\) on t\[0\]: sent and not answered, it may have been written/,
  )
  assert.match(error.message, /last error: .*connection reset/)
})

test('a request on the wire is not abandoned: its answer decides, records queued behind it expire unsent', async () => {
  const answers: Callback[] = []
  const s = sender(
    fakeClient((_p, answer) => answers.push(answer)),
    1_000_000,
  )
  const outcomes: Outcome[] = []
  // The first batch of a producer id goes alone (a probe): what is queued behind it waits.
  s.enqueue(entries(['on-the-wire'], Date.now() + 50, outcomes))
  while (answers.length === 0) await new Promise((r) => setTimeout(r, 5))
  s.enqueue(entries(['queued'], Date.now() + 50, outcomes))
  await settled(outcomes, 1)
  assert.deepEqual(
    outcomes.map((o) => [o.value, o.error?.code]),
    [['queued', ErrorCodes.KAFKA_DELIVERY_TIMEOUT]],
  )
  assert.match(outcomes[0]!.error!.message, /never sent, so not written/)
  assert.equal(answers.length, 1, 'the expired record was never sent')
  // The answer comes after the deadline, and it is a success: the record is acknowledged.
  answers[0]!(null, ok(41n))
  await settled(outcomes, 2)
  s.close()
  assert.deepEqual(outcomes[1], { value: 'on-the-wire', offset: 41 })
})

test('an answer after the deadline that asks for a retry fails the batch instead (it may be written)', async () => {
  const answers: Callback[] = []
  const s = sender(
    fakeClient((_p, answer) => answers.push(answer)),
    1_000_000,
  )
  const outcomes: Outcome[] = []
  const deadline = Date.now() + 30
  s.enqueue(entries(['x'], deadline, outcomes))
  while (answers.length === 0 || Date.now() <= deadline) await new Promise((r) => setTimeout(r, 5))
  answers[0]!(new Error('request timed out'))
  await settled(outcomes, 1)
  s.close()
  assert.equal(answers.length, 1, 'not resent after its deadline')
  assert.equal(outcomes[0]!.error?.code, ErrorCodes.KAFKA_DELIVERY_TIMEOUT)
  assert.match(outcomes[0]!.error!.message, /may have been written/)
})

test('records acknowledged in time are never failed, and later sends go on after an expiry', async () => {
  let next = 0n
  let failFirst = true
  const s = sender(
    fakeClient((_p, answer) => {
      if (failFirst) setTimeout(() => answer(new Error('not yet')), 2)
      else {
        const offset = next
        next += 1n
        setTimeout(() => answer(null, ok(offset)), 1)
      }
    }),
    1_000_000,
  )
  const outcomes: Outcome[] = []
  s.enqueue(entries(['early'], Date.now() + 40, outcomes))
  await settled(outcomes, 1)
  assert.equal(outcomes[0]!.error?.code, ErrorCodes.KAFKA_DELIVERY_TIMEOUT)
  failFirst = false
  s.enqueue(entries(['late'], Date.now() + 60_000, outcomes))
  await settled(outcomes, 2)
  s.close()
  assert.equal(outcomes[1]!.value, 'late')
  assert.equal(outcomes[1]!.error, undefined, outcomes[1]!.error?.message)
  assert.equal(typeof outcomes[1]!.offset, 'number')
})

test('createProducer refuses a delivery timeout that is not a positive number of ms', () => {
  for (const deliveryTimeout of [0, -1, Number.NaN]) {
    assert.throws(
      () => createProducer({ brokers: '127.0.0.1:1', deliveryTimeout }),
      (error: StrataError) =>
        error.code === ErrorCodes.INVALID_ARGUMENT && /deliveryTimeout/.test(error.message),
    )
  }
})
