// GET /views/:view/top: keys by merged value, checked against the per-key answers.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  HORIZON,
  installBatch,
  mergedScenario,
  openStore,
  pageViews,
  SpeedFixture,
  serve,
  stateOf,
  viewNamed,
  W1,
  ZEROS,
} from '../fixture.ts'

// The keys with realtime states in mergedScenario, as a store scan would list them.
const realtimeKeys = (view: string) => (view === 'pageviews_by_url' ? ['/a', '/c'] : [])

test('top ranks keys by their merged value summed over windows, and agrees with the per-key answers', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  const app = await serve(t, store, { realtimeKeys, endOffsets: async () => [20, 6, 0, 0, 0, 0] })

  const res = await app.inject('/views/pageviews_by_url/top')
  assert.equal(res.statusCode, 200)
  const body = res.json()
  // /c: 20 (speed only); /a: 9 + 5 + 1; /b: 7 (batch only).
  assert.deepEqual(body.items, [
    { key: '/c', value: 20 },
    { key: '/a', value: 15 },
    { key: '/b', value: 7 },
  ])
  assert.equal(body.limit, 10)
  assert.equal(body.keys, 3)
  assert.equal(body.complete, true)
  assert.equal(body.consistent, true)
  assert.equal(body.batch.version, 1)
  assert.deepEqual(body.asOf, [15, 6, 0, 0, 0, 0])
  assert.deepEqual(body.lag, [5, 0, 0, 0, 0, 0])

  for (const { key, value } of body.items) {
    const answer = (await app.inject(`/views/pageviews_by_url/${encodeURIComponent(key)}`)).json()
    const sum = answer.windows.reduce((s: number, w: { value: number }) => s + w.value, 0)
    assert.equal(value, sum, key)
  }

  const two = (await app.inject('/views/pageviews_by_url/top?limit=2')).json()
  assert.deepEqual(
    two.items.map((i: { key: string }) => i.key),
    ['/c', '/a'],
  )
  // Only windows from W1 on: /b has none and is not ranked.
  const later = (await app.inject(`/views/pageviews_by_url/top?from=${W1}`)).json()
  assert.deepEqual(later.items, [
    { key: '/c', value: 20 },
    { key: '/a', value: 6 },
  ])
})

test('without a realtime key source, batch keys are merged one by one and the answer says it may miss keys', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  const app = await serve(t, store)
  const body = (await app.inject('/views/pageviews_by_url/top')).json()
  assert.deepEqual(body.items, [
    { key: '/a', value: 15 },
    { key: '/b', value: 7 },
  ])
  assert.equal(body.complete, false, '/c exists only in realtime states, which cannot be listed')
})

test('with nothing merged past the horizon, the batch keys are all the keys', async (t) => {
  const store = await openStore(t)
  const pv = viewNamed('pageviews_by_url')
  const count = (n: number) => stateOf(pv, pageViews(n))
  await installBatch(store, pv, HORIZON, [
    { key: '/x', window: W1, state: count(2) },
    { key: '/y', window: W1, state: count(3) },
  ])
  const app = await serve(t, store)
  const body = (await app.inject('/views/pageviews_by_url/top')).json()
  assert.deepEqual(
    body.items.map((i: { key: string }) => i.key),
    ['/y', '/x'],
  )
  assert.equal(body.complete, true)
})

test('distinct counts rank too; topK views have no number to rank by', async (t) => {
  const store = await openStore(t)
  const users = viewNamed('unique_users_by_url')
  const speed = new SpeedFixture(store)
  await speed.register()
  await speed.claim(0)
  await store.alignHorizon([0, 0, 0, 0, 0, 0], ZEROS)
  await speed.commit(0, 5, [
    { view: 'unique_users_by_url', epoch: 0, key: '/a', window: 0, state: stateOf(users, pageViews(3)) },
    { view: 'unique_users_by_url', epoch: 0, key: '/b', window: 0, state: stateOf(users, pageViews(1)) },
  ])
  const app = await serve(t, store, { realtimeKeys: () => ['/a', '/b'] })
  const body = (await app.inject('/views/unique_users_by_url/top')).json()
  assert.deepEqual(body.items, [
    { key: '/a', value: 3 },
    { key: '/b', value: 1 },
  ])
  const res = await app.inject('/views/top_urls/top')
  assert.equal(res.statusCode, 400)
  assert.equal(res.json().error.code, 'STRATA_ERR_INVALID_ARGUMENT')
})

test('bad top parameters get a 4xx with a code', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  const app = await serve(t, store, { maxTopQueries: 1 })
  const cases: Array<[string, number, string]> = [
    ['/views/nope/top', 404, 'STRATA_ERR_UNKNOWN_VIEW'],
    ['/views/pageviews_by_url/top?limit=0', 400, 'STRATA_ERR_INVALID_ARGUMENT'],
    ['/views/pageviews_by_url/top?limit=1001', 400, 'STRATA_ERR_INVALID_ARGUMENT'],
    ['/views/pageviews_by_url/top?limit=ten', 400, 'STRATA_ERR_INVALID_ARGUMENT'],
    ['/views/pageviews_by_url/top?limit=2.5', 400, 'STRATA_ERR_INVALID_ARGUMENT'],
    ['/views/pageviews_by_url/top?from=soon', 400, 'STRATA_ERR_INVALID_TIME_RANGE'],
    [`/views/pageviews_by_url/top?from=${W1}&to=0`, 400, 'STRATA_ERR_INVALID_TIME_RANGE'],
    // Two batch keys to answer one by one, one allowed.
    ['/views/pageviews_by_url/top', 422, 'STRATA_ERR_QUERY_TOO_LARGE'],
  ]
  for (const [url, status, code] of cases) {
    const res = await app.inject(url)
    assert.equal(res.statusCode, status, url)
    assert.equal(res.json().error.code, code, url)
  }
})

test('top is a reserved key: /views/:view/top is always the ranking, even percent-encoded', async (t) => {
  const store = await openStore(t)
  const app = await serve(t, store)
  for (const url of ['/views/pageviews_by_url/top', '/views/pageviews_by_url/%74op']) {
    const body = (await app.inject(url)).json()
    assert.ok(Array.isArray(body.items), url)
    assert.equal(body.key, undefined)
  }
})

test('a batch flip during the ranking restarts it, so no answer mixes two batch versions', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  const pv = viewNamed('pageviews_by_url')
  let flips = 0
  const app = await serve(t, store, {
    // The first listing of realtime keys races a batch run that serves version 2.
    realtimeKeys: async function* (view) {
      if (flips++ === 0) {
        await installBatch(store, pv, HORIZON, [
          { key: '/a', window: W1, state: stateOf(pv, pageViews(100)) },
          { key: '/b', window: W1, state: stateOf(pv, pageViews(50)) },
        ])
      }
      yield* realtimeKeys(view)
    },
  })
  const body = (await app.inject('/views/pageviews_by_url/top')).json()
  assert.equal(flips, 2)
  assert.equal(body.batch.version, 2)
  // Version 2: /a → W1 100 + realtime (W0 4, W1 2, W2 1); /b → 50; /c → 20.
  assert.deepEqual(body.items, [
    { key: '/a', value: 107 },
    { key: '/b', value: 50 },
    { key: '/c', value: 20 },
  ])
})
