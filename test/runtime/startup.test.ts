// waitFor (runtime/startup.ts) and the start's signal: a SIGTERM ends the wait at once, also when
// the attempt in flight never settles (a store that takes the connection and never answers).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCodes, StrataError } from '../../src/core/errors.ts'
import { createLogger } from '../../src/runtime/logger.ts'
import { waitFor } from '../../src/runtime/startup.ts'

test('waitFor: the signal ends an attempt that never settles, and what it opens late is closed', async () => {
  const interrupt = new AbortController()
  let opened: ((store: { close(): Promise<void> }) => void) | undefined
  let closed = false
  const waiting = waitFor(
    'the store',
    () =>
      new Promise<{ close(): Promise<void> }>((resolve) => {
        opened = resolve
      }),
    {
      timeoutMs: 300_000,
      logger: createLogger('test', () => undefined),
      code: ErrorCodes.STORE_UNAVAILABLE,
      signal: interrupt.signal,
    },
  )
  await new Promise((r) => setTimeout(r, 20))
  assert.ok(opened, 'the attempt started')
  interrupt.abort()
  const ended = await Promise.race([
    waiting.then(
      () => 'resolved',
      (error: { code?: string }) => error.code,
    ),
    new Promise((r) => setTimeout(r, 2_000, 'still waiting').unref()),
  ])
  assert.equal(ended, ErrorCodes.INTERRUPTED)
  // The attempt opens after all: nobody holds it any more, so it is closed.
  opened!({
    close: async () => {
      closed = true
    },
  })
  await new Promise((r) => setTimeout(r, 20))
  assert.equal(closed, true, 'the late store was closed')
})

// A worker in retry mode could wait about twice --startup-timeout: the budget ran from the first
// failure, and an attempt begun just before it had a whole timeout of its own (boundAttempts).
// Now one deadline bounds the whole wait, the attempt in flight included.
test('waitFor: the whole wait ends by its timeout, an attempt begun late bounded by the time left', {
  timeout: 30_000,
}, async () => {
  const timeoutMs = 1_500
  const bounds: number[] = []
  const started = Date.now()
  const waiting = waitFor(
    'Kafka at the brokers',
    (leftMs) => {
      bounds.push(leftMs)
      // The first attempt fails (retriable) after most of the timeout; the next never settles.
      if (bounds.length === 1)
        return new Promise<never>((_, reject) =>
          setTimeout(
            () => reject(new StrataError(ErrorCodes.KAFKA_UNAVAILABLE, 'down', { retriable: true })),
            1_000,
          ),
        )
      return new Promise<never>(() => undefined)
    },
    {
      timeoutMs,
      logger: createLogger('test', () => undefined),
      code: ErrorCodes.KAFKA_UNAVAILABLE,
      boundAttempts: true,
    },
  )
  const ended = await waiting.then(
    () => 'resolved',
    (error: { code?: string }) => error.code,
  )
  const elapsed = Date.now() - started
  assert.equal(ended, ErrorCodes.KAFKA_UNAVAILABLE)
  assert.equal(bounds.length, 2, `attempts: ${bounds.join(', ')}`)
  assert.ok(bounds[0]! <= timeoutMs)
  // Told what is left of the wait (at most 500 ms after the first attempt's 1,000), not a whole timeout.
  assert.ok(bounds[1]! <= timeoutMs - 1_000, `the second attempt's bound: ${bounds[1]} ms`)
  // Before: the second attempt ran its own 1,500 ms, ending at about 2,600 ms.
  assert.ok(elapsed < 2_300, `the wait lasted ${elapsed} ms for a timeout of ${timeoutMs}`)
})

test('waitFor: waits of one start sharing a deadline: one begun past it gives up without an attempt', async () => {
  let attempts = 0
  const ended = await waitFor(
    'the store',
    async () => {
      attempts++
    },
    {
      timeoutMs: 1_000,
      deadline: Date.now() - 1,
      logger: createLogger('test', () => undefined),
      code: ErrorCodes.STORE_UNAVAILABLE,
    },
  ).then(
    () => 'resolved',
    (error: { code?: string; message: string }) => `${error.code}: ${error.message}`,
  )
  assert.equal(attempts, 0)
  assert.match(ended, /^STRATA_ERR_STORE_UNAVAILABLE: the store did not answer within 1s .*--startup-timeout/)
})

test('waitFor: a deadline that comes in the backoff after a failure gives up with that failure, not as a non-answer', async () => {
  let attempts = 0
  const ended = await waitFor(
    'the store',
    async () => {
      attempts++
      throw new StrataError(ErrorCodes.STORE_UNAVAILABLE, 'connection refused', { retriable: true })
    },
    {
      timeoutMs: 1_000,
      initialDelayMs: 150,
      logger: createLogger('test', () => undefined),
      code: ErrorCodes.STORE_UNAVAILABLE,
    },
  ).then(
    () => 'resolved',
    (error: { code?: string; message: string }) => `${error.code}: ${error.message}`,
  )
  assert.ok(attempts >= 2, `${attempts} attempts`)
  assert.match(
    ended,
    /^STRATA_ERR_STORE_UNAVAILABLE: gave up waiting for the store after 1 s \(\d+ attempts\): connection refused$/,
  )
})

// The deadline bounds the wait, not a start that comes in time: retriable failures, then an
// answer before the deadline (the second wait of one start given what the first left), starts.
test('waitFor: retriable failures then an answer within the deadline start, each wait of the start told the time left', async () => {
  const timeoutMs = 5_000
  const deadline = Date.now() + timeoutMs
  const options = {
    timeoutMs,
    deadline,
    initialDelayMs: 50,
    logger: createLogger('test', () => undefined),
    code: ErrorCodes.KAFKA_UNAVAILABLE,
    boundAttempts: true,
  }
  const bounds: number[] = []
  const first = await waitFor(
    'Kafka at the brokers',
    async (leftMs) => {
      bounds.push(leftMs)
      if (bounds.length < 3) throw new StrataError(ErrorCodes.KAFKA_UNAVAILABLE, 'down', { retriable: true })
      return 'connected'
    },
    options,
  )
  assert.equal(first, 'connected')
  assert.equal(bounds.length, 3)
  const second = await waitFor('the store', async (leftMs) => leftMs, options)
  assert.ok(
    second <= bounds[2]! && second > 0,
    `the second wait was told ${second} ms of ${bounds.join(', ')}`,
  )
})
