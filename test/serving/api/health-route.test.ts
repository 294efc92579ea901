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

// A view a speed layer stopped on (onError('stop')), seen by a serving process without that
// layer (a `strata worker serve` over the shared store): /views said `stopped`, but /health's
// views part listed only failing views and said `up`, status ok, while the view's answers stood
// still. It lists the stopped view now, and health is degraded.
test('a view stop recorded in the store is listed by /health as not ok (stopped), and health is degraded', async (t) => {
  const store = await openStore(t)
  const app = await serve(t, store, { endOffsets: async () => [0, 0] })
  const before = (await app.inject('/health')).json()
  assert.deepEqual(before.parts.views, { status: 'up' })
  await store.recordViewStop({
    view: 'pageviews_by_url',
    partition: 1,
    offset: 4,
    message: 'TypeError: boom',
  })
  const res = await app.inject('/health')
  assert.equal(res.statusCode, 200)
  assert.equal(res.json().status, 'degraded')
  assert.deepEqual(res.json().parts.views, {
    status: 'failing',
    views: ['pageviews_by_url'],
    stopped: ['pageviews_by_url'],
  })
  // The same state /views gives it.
  const listed = (await app.inject('/views')).json()
  assert.equal(listed.views.find((v: { name: string }) => v.name === 'pageviews_by_url').state, 'stopped')
})
