// GET /views/:view/:key against a real LMDB store whose batch version and realtime states were
// set up through the store API (fixture.ts: mergedScenario).
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
  W0,
  W1,
  W2,
} from '../fixture.ts'

const HOUR = 3_600_000

test('the answer is the batch version plus the realtime states past its horizon, per window, with its metadata', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  const app = await serve(t, store, { endOffsets: async () => [20, 6, 3, 0, 0, 0] })

  const res = await app.inject('/views/pageviews_by_url/%2Fa?parts=true')
  assert.equal(res.statusCode, 200)
  const body = res.json()
  assert.equal(body.view, 'pageviews_by_url')
  assert.equal(body.key, '/a')
  assert.deepEqual(body.windows, [
    { windowStart: W0, windowEnd: W0 + HOUR, value: 9, batch: 5, speed: 4 },
    { windowStart: W1, windowEnd: W1 + HOUR, value: 5, batch: 3, speed: 2 },
    { windowStart: W2, windowEnd: W2 + HOUR, value: 1, batch: 0, speed: 1 },
  ])
  for (const w of body.windows) assert.equal(w.value, w.batch + w.speed)
  assert.equal(body.batch.version, 1)
  assert.deepEqual(body.batch.horizon, HORIZON)
  assert.deepEqual(body.speed, [15, 6, null, null, null, null])
  assert.deepEqual(body.asOf, [15, 6, 0, 0, 0, 0])
  assert.deepEqual(body.lag, [5, 0, 3, 0, 0, 0])
  assert.equal(body.recomputing, false)
})

test('an answer asked again follows a new end-offsets reading (its lag) and a write (its windows)', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  let end = [20, 6, 3, 0, 0, 0]
  // endOffsetsMaxAgeMs 0 (fixture.ts): a reading of its own for every answer.
  const app = await serve(t, store, { endOffsets: async () => end })
  const first = await app.inject('/views/pageviews_by_url/%2Fa')
  assert.equal(first.headers['content-type'], 'application/json; charset=utf-8')
  assert.deepEqual(first.json().lag, [5, 0, 3, 0, 0, 0])
  const again = await app.inject('/views/pageviews_by_url/%2Fa')
  assert.equal(again.body, first.body)
  // The same answer of the store, a new reading: the body kept for the old one is not sent.
  end = [21, 6, 3, 0, 0, 0]
  const moved = await app.inject('/views/pageviews_by_url/%2Fa')
  assert.deepEqual(moved.json().lag, [6, 0, 3, 0, 0, 0])
  assert.deepEqual(moved.json().windows, first.json().windows)
  const pv = viewNamed('pageviews_by_url')
  const speed = new SpeedFixture(store)
  await speed.claim(2)
  await speed.commit(2, 3, [{ epoch: 0, key: '/a', window: W2, state: stateOf(pv, pageViews(7)) }])
  const written = (await app.inject('/views/pageviews_by_url/%2Fa')).json()
  assert.deepEqual(
    written.windows.map((w: { value: number }) => w.value),
    [9, 5, 8],
  )
  assert.deepEqual(written.asOf, [15, 6, 3, 0, 0, 0])
  assert.deepEqual(written.lag, [6, 0, 0, 0, 0, 0])
})

test('under one snapshot and one reading, each question gets its own body: parts, range, key, and the POST form', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  const app = await serve(t, store, { endOffsets: async () => [20, 6, 3, 0, 0, 0] })
  const ask = async (url: string) => (await app.inject(url)).json()
  // Interleaved, so a body kept for one question is there when the next is asked.
  for (let round = 0; round < 2; round++) {
    const plain = await ask('/views/pageviews_by_url/%2Fa')
    const parts = await ask('/views/pageviews_by_url/%2Fa?parts=true')
    const ranged = await ask(`/views/pageviews_by_url/%2Fa?from=${W1}`)
    const other = await ask('/views/pageviews_by_url/%2Fb')
    const posted = (
      await app.inject({
        method: 'POST',
        url: '/views/pageviews_by_url/query',
        payload: { key: '/a', parts: true },
      })
    ).json()
    assert.deepEqual(
      plain.windows.map((w: { value: number; batch?: number }) => [w.value, w.batch]),
      [
        [9, undefined],
        [5, undefined],
        [1, undefined],
      ],
    )
    assert.deepEqual(
      parts.windows.map((w: { batch: number; speed: number }) => [w.batch, w.speed]),
      [
        [5, 4],
        [3, 2],
        [0, 1],
      ],
    )
    assert.deepEqual(
      ranged.windows.map((w: { windowStart: number }) => w.windowStart),
      [W1, W2],
    )
    assert.equal(other.key, '/b')
    assert.deepEqual(posted, parts)
    for (const body of [plain, parts, ranged, other, posted])
      assert.deepEqual(body.lag.slice(0, 3), [5, 0, 3])
  }
})

test('a key only the speed layer has seen, and a key only the batch layer has', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  const app = await serve(t, store)
  const c = (await app.inject('/views/pageviews_by_url/%2Fc')).json()
  assert.deepEqual(
    c.windows.map((w: { value: number }) => w.value),
    [20],
  )
  const b = (await app.inject('/views/pageviews_by_url/%2Fb')).json()
  assert.deepEqual(
    b.windows.map((w: { value: number }) => w.value),
    [7],
  )
  assert.equal(b.lag, null, 'no end-offsets provider: lag is unknown, not zero')
  const none = (await app.inject('/views/pageviews_by_url/nothing')).json()
  assert.deepEqual(none.windows, [])
})

test('from/to select windows by their start, as epoch ms or ISO-8601', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  const app = await serve(t, store)
  const starts = async (query: string) => {
    const res = await app.inject(`/views/pageviews_by_url/%2Fa?${query}`)
    assert.equal(res.statusCode, 200, res.body)
    return res.json().windows.map((w: { windowStart: number }) => w.windowStart)
  }
  assert.deepEqual(await starts(`from=${W1}`), [W1, W2])
  assert.deepEqual(await starts(`to=${W1}`), [W0])
  assert.deepEqual(await starts(`from=${new Date(W1).toISOString()}&to=${new Date(W2).toISOString()}`), [W1])
})

test('an unwindowed view answers one value, merged the same way', async (t) => {
  const store = await openStore(t)
  const top = viewNamed('top_urls')
  const speed = new SpeedFixture(store)
  await speed.register()
  await speed.claim(0)
  await store.alignHorizon([3, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0])
  await speed.commit(
    0,
    5,
    [{ view: 'top_urls', epoch: 3, key: 'all', window: 0, state: stateOf(top, pageViews(2, '/b')) }],
    [3],
  )
  await installBatch(
    store,
    top,
    [3, 0, 0, 0, 0, 0],
    [{ key: 'all', window: 0, state: stateOf(top, [...pageViews(1, '/a'), ...pageViews(2, '/b')]) }],
  )
  const app = await serve(t, store)
  const res = await app.inject('/views/top_urls/all')
  assert.equal(res.statusCode, 200)
  const body = res.json()
  assert.equal(body.windows, undefined)
  assert.deepEqual(body.value.items, [
    { item: '/b', count: 4 },
    { item: '/a', count: 1 },
  ])
  assert.deepEqual(body.asOf, [5, 0, 0, 0, 0, 0])
})

test('bad parameters get a 4xx with a code', async (t) => {
  const store = await openStore(t)
  const app = await serve(t, store)
  const cases: Array<[string, number, string]> = [
    ['/views/nope/%2Fa', 404, 'STRATA_ERR_UNKNOWN_VIEW'],
    ['/views/pageviews_by_url/%2Fa?from=yesterday', 400, 'STRATA_ERR_INVALID_TIME_RANGE'],
    ['/views/pageviews_by_url/%2Fa?to=2026-13-45', 400, 'STRATA_ERR_INVALID_TIME_RANGE'],
    [`/views/pageviews_by_url/%2Fa?from=${W2}&to=${W0}`, 400, 'STRATA_ERR_INVALID_TIME_RANGE'],
    ['/views/pageviews_by_url/%2Fa?parts=maybe', 400, 'STRATA_ERR_INVALID_ARGUMENT'],
    ['/views/pageviews_by_url/%2Fa?form=1', 400, 'STRATA_ERR_INVALID_ARGUMENT'],
  ]
  for (const [url, status, code] of cases) {
    const res = await app.inject(url)
    assert.equal(res.statusCode, status, url)
    assert.equal(res.json().error.code, code, url)
    assert.equal(typeof res.json().error.message, 'string')
  }
})
