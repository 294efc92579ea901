// A role started while its store or Kafka is down waits for it (src/cli/startup.ts): each
// retriable failure is logged as "waiting for <what> (attempt n): <cause>" and tried again; past
// --startup-timeout it gives up with a code; an error that is not retriable fails at once.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCodes, StrataError } from '../../src/core/errors.ts'
import { createLogger } from '../../src/runtime/logger.ts'
import { describeStore, waitFor } from '../../src/runtime/startup.ts'

function harness() {
  const lines: string[] = []
  let clock = 0
  return {
    lines,
    options: {
      timeoutMs: 10_000,
      logger: createLogger('speed', (line) => lines.push(line)),
      code: ErrorCodes.STORE_UNAVAILABLE,
      now: () => clock,
      sleep: async (ms: number) => {
        clock += ms
      },
    },
  }
}

const refused = () =>
  new StrataError(ErrorCodes.STORE, 'opening the store failed: connect ECONNREFUSED 127.0.0.1:5432', {
    retriable: true,
  })

test('a retriable failure at start is waited out, each attempt logged with its cause', async () => {
  const { lines, options } = harness()
  let calls = 0
  const value = await waitFor(
    'PostgreSQL at 127.0.0.1:5432',
    async () => {
      if (++calls <= 2) throw refused()
      return 'open'
    },
    options,
  )
  assert.equal(value, 'open')
  assert.equal(lines.length, 2)
  assert.match(lines[0], /waiting for PostgreSQL at 127\.0\.0\.1:5432 \(attempt 1\): .*ECONNREFUSED/)
  assert.match(lines[1], /\(attempt 2\)/)
})

test('past the startup timeout it gives up with a code', async () => {
  const { options } = harness()
  await assert.rejects(
    waitFor('PostgreSQL at 127.0.0.1:5432', () => Promise.reject(refused()), options),
    (error: StrataError) => {
      assert.equal(error.code, ErrorCodes.STORE_UNAVAILABLE)
      assert.match(
        error.message,
        /gave up waiting for PostgreSQL at 127\.0\.0\.1:5432 after 10 s \(\d+ attempts\)/,
      )
      return true
    },
  )
})

test('an error that is not retriable fails at once', async () => {
  const { lines, options } = harness()
  let calls = 0
  const wrong = new StrataError(ErrorCodes.STORE, 'password authentication failed')
  await assert.rejects(
    waitFor(
      'PostgreSQL',
      async () => {
        calls++
        throw wrong
      },
      options,
    ),
    (error) => error === wrong,
  )
  assert.equal(calls, 1)
  assert.deepEqual(lines, [])
})

test('the store is named by host and port, never with its credentials', () => {
  assert.equal(
    describeStore('postgres://u:secret@db.example:6543/x?schema=s'),
    'PostgreSQL at db.example:6543',
  )
  assert.equal(describeStore('postgresql://u@db'), 'PostgreSQL at db:5432')
  assert.equal(describeStore('/var/lib/strata'), 'the store')
})

test('an attempt that never settles is given up past the timeout, when attempts are bounded (Kafka)', async () => {
  const { lines, options } = harness()
  await assert.rejects(
    waitFor('Kafka at 127.0.0.1:9', () => new Promise(() => undefined), {
      ...options,
      timeoutMs: 200,
      code: ErrorCodes.KAFKA_UNAVAILABLE,
      boundAttempts: true,
    }),
    (error: StrataError) => {
      assert.equal(error.code, ErrorCodes.KAFKA_UNAVAILABLE)
      assert.match(error.message, /^Kafka at 127\.0\.0\.1:9 did not answer within 200ms \(attempt 1\)/)
      return true
    },
  )
  assert.deepEqual(lines, [])
})
