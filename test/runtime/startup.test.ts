// waitFor (runtime/startup.ts) and the start's signal: a SIGTERM ends the wait at once, also when
// the attempt in flight never settles (a store that takes the connection and never answers).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCodes } from '../../src/core/errors.ts'
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
