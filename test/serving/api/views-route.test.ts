// GET /views: every configured view with its batch version, speed position, asOf and lag.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RoleHealth } from '../../../src/core/role-health.ts'
import { HORIZON, installBatch, mergedScenario, openStore, serve, stateOf, viewNamed } from '../fixture.ts'

test('GET /views reports each view with its batch version, speed position, asOf and lag from the provider', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  let end = [20, 6, 3, 0, 0, 0]
  const app = await serve(t, store, { endOffsets: async () => end })

  const res = await app.inject('/views')
  assert.equal(res.statusCode, 200)
  const body = res.json()
  assert.deepEqual(
    body.views.map((v: { name: string }) => v.name),
    ['pageviews_by_url', 'unique_users_by_url', 'top_urls'],
  )
  const pv = body.views[0]
  const compiled = viewNamed('pageviews_by_url')
  assert.deepEqual(pv.window, { kind: 'tumbling', size: 3_600_000, advance: 3_600_000 })
  assert.equal(pv.aggregate, 'count')
  assert.equal(pv.codeHash, compiled.codeHash)
  assert.equal(pv.batch.version, 1)
  assert.deepEqual(pv.batch.horizon, HORIZON)
  assert.equal(pv.batch.durationMs, pv.batch.completedAt - pv.batch.startedAt)
  assert.equal(pv.recomputing, false)
  assert.deepEqual(pv.speed, [15, 6, null, null, null, null])
  assert.deepEqual(pv.asOf, [15, 6, 0, 0, 0, 0])
  assert.deepEqual(pv.lag, [5, 0, 3, 0, 0, 0])
  assert.deepEqual(body.log.endOffsets, end)

  // A view without a batch version yet: answers are the realtime states alone.
  const top = body.views[2]
  assert.equal(top.window, null)
  assert.equal(top.aggregate, 'topK')
  assert.equal(top.batch, null)
  assert.deepEqual(top.asOf, [15, 6], 'partitions the speed layer never ran in are covered up to 0')
  assert.deepEqual(top.lag, [5, 0, 3, 0, 0, 0])

  // The provider moves on: lag follows (no caching with endOffsetsMaxAgeMs 0).
  end = [40, 6, 3, 0, 0, 1]
  const again = (await app.inject('/views')).json()
  assert.deepEqual(again.views[0].lag, [25, 0, 3, 0, 0, 1])
})

test('GET /views flags a view whose batch version is of an older definition', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  const users = viewNamed('unique_users_by_url')
  await installBatch(store, users, HORIZON, [{ key: '/a', window: 0, state: stateOf(users, []) }], 'old')
  const app = await serve(t, store)
  const status = (await app.inject('/views')).json().views[1]
  assert.equal(status.recomputing, true)
  assert.deepEqual(status.asOf, HORIZON, 'answers are exact as of the old batch horizon only')
  assert.equal(status.lag, null)
})

test('a failing end-offsets provider leaves lag unknown and says why, and does not fail the request', async (t) => {
  const store = await openStore(t)
  const app = await serve(t, store, {
    endOffsets: async () => {
      throw new Error('connect ECONNREFUSED user:secret@10.0.0.1')
    },
  })
  const res = await app.inject('/views')
  assert.equal(res.statusCode, 200)
  const body = res.json()
  assert.equal(body.log.endOffsets, null)
  assert.equal(body.log.error, 'unavailable')
  assert.doesNotMatch(res.body, /secret/)
  assert.equal(body.views[0].lag, null)
  assert.equal(body.views[0].batch, null)
  assert.deepEqual(body.views[0].asOf, [])
})

test('GET /views rejects query parameters it does not know', async (t) => {
  const store = await openStore(t)
  const app = await serve(t, store)
  const res = await app.inject('/views?view=x')
  assert.equal(res.statusCode, 400)
  assert.equal(res.json().error.code, 'STRATA_ERR_INVALID_ARGUMENT')
})

// A view defined with onError('stop') that threw stops its partition's speed layer (or the batch
// run): /views and /views/:view/errors say 'stopped', where, and count it — from the store for a
// process that only serves it, from the roles for the process that runs them.
test('GET /views and /views/:view/errors say a view stopped where the store recorded it, until its partition moves past', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  // Partition 1 is at 6: a stop at its offset 6 holds; partition 0 is at 15, past a stop at 3.
  const stop = { view: 'pageviews_by_url', partition: 1, offset: 6, message: 'TypeError: boom' }
  await store.recordViewStop(stop)
  await store.recordViewStop({ view: 'top_urls', partition: 0, offset: 3, message: 'TypeError: old' })
  const app = await serve(t, store)

  const views = (await app.inject('/views')).json().views
  const [pv, uu, top] = views
  assert.equal(pv.state, 'stopped')
  assert.deepEqual(pv.stops, [{ ...stop, layer: 'speed' }])
  assert.deepEqual(pv.errors, { batch: 0, speed: 1 })
  assert.equal(uu.state, 'ok')
  assert.deepEqual(uu.stops, [])
  assert.equal(top.state, 'ok', 'partition 0 committed past the event it stopped on')
  assert.deepEqual(top.stops, [])

  const errors = (await app.inject('/views/pageviews_by_url/errors')).json()
  assert.equal(errors.state, 'stopped')
  assert.equal(errors.speed.count, 1)
  assert.deepEqual(errors.speed.recent, [stop])
  assert.deepEqual(errors.stops, [{ ...stop, layer: 'speed' }])
  assert.equal((await app.inject('/views/top_urls/errors')).json().state, 'ok')

  const metrics = (await app.inject('/metrics')).body
  assert.match(metrics, /strata_view_stopped\{view="pageviews_by_url"\} 1/)
  assert.match(metrics, /strata_view_stopped\{view="top_urls"\} 0/)
})

test('GET /views says a view stopped where a role of this process reports it (the batch run)', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  const roles = new RoleHealth()
  const stop = { view: 'unique_users_by_url', partition: 2, offset: 0, message: 'TypeError: boom' }
  roles.add(() => ({ role: 'batch', state: 'degraded', viewStops: [{ ...stop, layer: 'batch' }] }))
  const app = await serve(t, store, { roles })

  const uu = (await app.inject('/views')).json().views[1]
  assert.equal(uu.name, 'unique_users_by_url')
  assert.equal(uu.state, 'stopped')
  assert.deepEqual(uu.stops, [{ ...stop, layer: 'batch' }])
  assert.equal(uu.errors.batch, 1)
  const errors = (await app.inject('/views/unique_users_by_url/errors')).json()
  assert.equal(errors.state, 'stopped')
  assert.deepEqual(errors.stops, [{ ...stop, layer: 'batch' }])
  assert.equal((await app.inject('/views/pageviews_by_url/errors')).json().state, 'ok')
})
