// `strata start`'s roles hold while POST /events bursts (src/runtime/ingest-burst.ts): the meter
// marks a burst only at or above its rate, the gate holds while it lasts and at most maxHoldMs,
// then lets everything through for as long again; batches behind a hold are handled in order.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { heldBatches } from '../../src/core/held-batches.ts'
import { BurstGate, burstBuffer, IngestBurstMeter, meteredSink } from '../../src/runtime/ingest-burst.ts'

function clock(start = 1_000_000) {
  let now = start
  return {
    now: () => now,
    advance(ms: number) {
      now += ms
    },
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5))

test('the meter marks a burst only from its rate over a span, and the mark lasts lingerMs', () => {
  const c = clock()
  const buffer = burstBuffer()
  // 1,000 events a second over 100 ms spans: 100 events a span.
  const meter = new IngestBurstMeter(buffer, { rate: 1_000, spanMs: 100, lingerMs: 50, now: c.now })
  const gate = new BurstGate(buffer, { now: c.now })
  meter.accepted(99)
  assert.equal(gate.holding(), false, 'below the rate')
  c.advance(100)
  meter.accepted(60)
  c.advance(50)
  meter.accepted(60) // 120 in this span, but spread over two spans 99 + 60 + 60 would not be
  assert.equal(gate.holding(), true, 'the rate reached within one span')
  c.advance(49)
  assert.equal(gate.holding(), true)
  c.advance(1)
  assert.equal(gate.holding(), false, 'lingerMs after the last mark')
  // A new span starts from zero: 60 + 60 across a span boundary is no burst.
  c.advance(100)
  meter.accepted(60)
  c.advance(100)
  meter.accepted(60)
  assert.equal(gate.holding(), false)
})

test('meteredSink counts every append and writes the same records', async () => {
  const c = clock()
  const buffer = burstBuffer()
  const meter = new IngestBurstMeter(buffer, { rate: 1_000, spanMs: 100, lingerMs: 50, now: c.now })
  const written: unknown[] = []
  const sink = meteredSink(
    {
      async append(records) {
        written.push(...records)
        return records.map((_, i) => ({ partition: 0, offset: i }))
      },
    },
    meter,
  )
  const records = Array.from({ length: 100 }, (_, i) => ({ key: null, value: `{"n":${i}}` }))
  const positions = await sink.append(records)
  assert.equal(positions.length, 100)
  assert.deepEqual(written, records)
  assert.equal(new BurstGate(buffer, { now: c.now }).holding(), true)
})

test('the gate lets batches through at once when ingest is not bursting', () => {
  const gate = new BurstGate(burstBuffer())
  assert.equal(gate.wait(), undefined)
})

test('a held wait ends when the burst ends', async () => {
  const c = clock()
  const buffer = burstBuffer()
  const meter = new IngestBurstMeter(buffer, { rate: 1_000, spanMs: 100, lingerMs: 50, now: c.now })
  const gate = new BurstGate(buffer, { now: c.now, maxHoldMs: 10_000, pollMs: 1 })
  meter.accepted(100)
  let done = false
  const wait = gate.wait()
  assert.ok(wait, 'held while bursting')
  assert.equal(gate.wait(), wait, 'every batch waits on the same hold')
  void wait.then(() => {
    done = true
  })
  await tick()
  assert.equal(done, false)
  c.advance(50)
  await tick()
  assert.equal(done, true)
  assert.equal(gate.wait(), undefined)
})

test('a hold lasts at most maxHoldMs, then nothing is held for as long again', async () => {
  const c = clock()
  const buffer = burstBuffer()
  const meter = new IngestBurstMeter(buffer, { rate: 1_000, spanMs: 100, lingerMs: 100_000, now: c.now })
  const gate = new BurstGate(buffer, { now: c.now, maxHoldMs: 1_000, pollMs: 1 })
  meter.accepted(100) // bursting for the whole test
  let done = false
  const wait = gate.wait()
  assert.ok(wait)
  void wait.then(() => {
    done = true
  })
  c.advance(999)
  await tick()
  assert.equal(done, false)
  c.advance(1)
  await tick()
  assert.equal(done, true, 'the hold ran out')
  assert.equal(gate.holding(), true, 'still bursting')
  assert.equal(gate.wait(), undefined, 'free for maxHoldMs')
  c.advance(999)
  assert.equal(gate.wait(), undefined)
  c.advance(1)
  const again = gate.wait()
  assert.ok(again, 'then held again')
  c.advance(1_000)
  await again
})

test('heldBatches handles every batch, in order, once the hold allows', async () => {
  let release: () => void = () => {}
  let holding = true
  const hold = () =>
    holding
      ? new Promise<void>((resolve) => {
          release = () => {
            holding = false
            resolve()
          }
        })
      : undefined
  const handled: number[] = []
  const onBatch = heldBatches(async (n: number) => {
    handled.push(n)
  }, hold)
  const first = onBatch(1)
  await tick()
  assert.deepEqual(handled, [], 'held')
  release()
  await first
  await onBatch(2)
  assert.deepEqual(handled, [1, 2])
  // No hold: the handler itself.
  const plain = async (_: number) => {}
  assert.equal(heldBatches(plain, undefined), plain)
})

// Bursts in pulses (each shorter than maxHoldMs, a pause of just over the linger between them)
// must not hold the roles nearly all the time: after any hold, nothing is held for as long again.
test('after a hold that ended with its burst, nothing is held for as long as it held', {
  timeout: 10_000,
}, async () => {
  const c = clock()
  const buffer = burstBuffer()
  const meter = new IngestBurstMeter(buffer, { rate: 1_000, spanMs: 100, lingerMs: 50, now: c.now })
  const gate = new BurstGate(buffer, { now: c.now, maxHoldMs: 2_000, pollMs: 1 })
  meter.accepted(100)
  const wait = gate.wait()
  assert.ok(wait, 'held while bursting')
  // The burst goes on for 1,500 ms, then pauses past its linger: the hold ends with it.
  for (let at = 0; at < 1_500; at += 10) {
    c.advance(10)
    meter.accepted(100)
  }
  c.advance(60)
  await wait
  // The next pulse starts at once: not held for the 1,560 ms the first hold lasted.
  meter.accepted(100)
  assert.equal(gate.holding(), true, 'bursting again')
  assert.equal(gate.wait(), undefined, 'free for as long as the hold lasted')
  c.advance(1_500)
  meter.accepted(100)
  assert.equal(gate.wait(), undefined)
  c.advance(60)
  meter.accepted(100)
  const again = gate.wait()
  assert.ok(again, 'then held again')
  c.advance(2_000)
  await again
})
