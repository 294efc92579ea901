// GET /health: the parts of this process that are up; 503 when the store is down.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createIngest } from '../../../src/ingest/ingest.ts'
import { createServer } from '../../../src/serving/server.ts'
import { deferrer } from '../../helpers/cleanup.ts'
import { openStore, serve } from '../fixture.ts'

const sink = { append: async () => [] }

test('health is ok with a store and a log that answer', async (t) => {
  const store = await openStore(t)
  const app = await serve(t, store, { endOffsets: async () => [0, 0], ingest: createIngest({ sink }) })
  const res = await app.inject('/health')
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json(), {
    status: 'ok',
    parts: {
      store: { status: 'up' },
      log: { status: 'up' },
      ingest: { status: 'up' },
      views: { status: 'up' },
    },
    roles: [],
  })
})

test('a log that is down degrades health without failing it', async (t) => {
  const store = await openStore(t)
  let up = true
  const app = await serve(t, store, {
    endOffsets: async () => {
      if (!up) throw new Error('broker gone')
      return [1]
    },
  })
  assert.equal((await app.inject('/health')).json().status, 'ok')
  up = false
  const res = await app.inject('/health')
  assert.equal(res.statusCode, 200)
  assert.equal(res.json().status, 'degraded')
  assert.deepEqual(res.json().parts.log, { status: 'down', error: 'unavailable' })
  assert.deepEqual(res.json().parts.ingest, { status: 'absent' })
})

test('a store that is down is 503', async (t) => {
  const store = await openStore(t)
  const app = await serve(t, store)
  await store.close()
  const res = await app.inject('/health')
  assert.equal(res.statusCode, 503)
  assert.equal(res.json().status, 'down')
  assert.equal(res.json().parts.store.status, 'down')
  assert.deepEqual(res.json().parts.log, { status: 'absent' })
})

test('an ingest-only server is healthy and has no view routes', async (t) => {
  const defer = deferrer(t)
  const app = await createServer({ ingest: createIngest({ sink }) })
  defer(() => app.close())
  const res = await app.inject('/health')
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json().parts.store, { status: 'absent' })
  assert.equal((await app.inject('/views')).statusCode, 404)
})
