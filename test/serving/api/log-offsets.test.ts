// The end-offsets cache behind lag: single flight, reuse while fresh, stale while refreshing,
// failures and hangs turned into "unknown".
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { EndOffsetsCache, lagOf, sameLag } from '../../../src/serving/api/log-offsets.ts'
import { aged } from '../../helpers/clock.ts'

function deferred<T>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

test('concurrent readers share one provider call, and a fresh reading is reused', async () => {
  let calls = 0
  const gate = deferred<number[]>()
  const cache = new EndOffsetsCache(
    () => {
      calls++
      return gate.promise
    },
    { maxAgeMs: 60_000 },
  )
  const a = cache.get()
  const b = cache.get()
  gate.resolve([5, 7])
  assert.deepEqual((await a)?.endOffsets, [5, 7])
  assert.deepEqual((await b)?.endOffsets, [5, 7])
  assert.deepEqual((await cache.get())?.endOffsets, [5, 7])
  assert.equal(calls, 1)
})

test('a stale reading is served while one refresh runs; fresh waits for it', async () => {
  let next = 1
  const cache = new EndOffsetsCache(async () => [next++], { maxAgeMs: 1 })
  assert.deepEqual((await cache.get())?.endOffsets, [1])
  await aged(5) // older than maxAgeMs
  assert.deepEqual((await cache.get())?.endOffsets, [1], 'stale while revalidating')
  await aged(5)
  assert.deepEqual((await cache.get({ fresh: true }))?.endOffsets, [3])
})

test('current() is what get() gives without waiting: a stale reading while one refresh runs, nothing before the first', async () => {
  let calls = 0
  let gate = deferred<number[]>()
  const cache = new EndOffsetsCache(
    () => {
      calls++
      return gate.promise
    },
    { maxAgeMs: 1, timeoutMs: 60_000 },
  )
  assert.equal(cache.current(), undefined, 'nothing cached: get() would wait')
  assert.equal(calls, 0)
  const first = cache.get({ fresh: true })
  gate.resolve([1])
  assert.deepEqual((await first)?.endOffsets, [1])
  gate = deferred<number[]>()
  await aged(5) // older than maxAgeMs
  assert.deepEqual(cache.current()?.endOffsets, [1], 'stale while revalidating')
  assert.deepEqual(cache.current()?.endOffsets, [1])
  assert.deepEqual((await cache.get())?.endOffsets, [1], 'as get() gives it')
  assert.equal(calls, 2, 'one refresh for all of them')
  gate.resolve([2])
  await sleep(1)
  assert.deepEqual(cache.current()?.endOffsets, [2])
  assert.equal(
    new EndOffsetsCache(async () => [1], { maxAgeMs: 0 }).current(),
    undefined,
    'maxAgeMs 0 always asks',
  )
})

test('maxAgeMs 0 asks every time; failures and hangs are readings without offsets', async () => {
  let mode: 'ok' | 'fail' | 'hang' = 'ok'
  const cache = new EndOffsetsCache(
    () => {
      if (mode === 'fail') return Promise.reject(new Error('password=hunter2'))
      if (mode === 'hang') return new Promise<number[]>(() => {})
      return Promise.resolve([1])
    },
    { maxAgeMs: 0, timeoutMs: 20 },
  )
  assert.deepEqual((await cache.get())?.endOffsets, [1])
  mode = 'fail'
  assert.deepEqual(await cache.get().then((r) => [r?.endOffsets, r?.error]), [null, 'unavailable'])
  mode = 'hang'
  assert.deepEqual(await cache.get().then((r) => [r?.endOffsets, r?.error]), [null, 'timeout'])
  assert.equal(await new EndOffsetsCache(undefined).get(), undefined)
})

test('lag is the end offset minus asOf, never negative, unknown without offsets', () => {
  assert.deepEqual(lagOf([10, 4], { endOffsets: [12, 4, 3], at: 0 }), [2, 0, 3])
  assert.deepEqual(lagOf([10], { endOffsets: [8], at: 0 }), [0])
  assert.equal(lagOf([10], { endOffsets: null, at: 0 }), null)
  assert.equal(lagOf([10], undefined), null)
})

test('with nothing cached (a server started while the broker is down), an answer waits a moment, not for the broker', async () => {
  const gate = deferred<number[]>()
  const cache = new EndOffsetsCache(() => gate.promise, { maxAgeMs: 1000, timeoutMs: 60_000, coldWaitMs: 30 })
  const started = Date.now()
  const first = await cache.get()
  assert.ok(Date.now() - started < 1000, 'waited for the provider')
  assert.deepEqual([first?.endOffsets, first?.error], [null, 'pending'])
  gate.resolve([4])
  await sleep(1)
  assert.deepEqual((await cache.get())?.endOffsets, [4], 'the reading went on and is used once it came')
  // Health asks for a fresh reading and waits for it.
  const health = new EndOffsetsCache(async () => [9], { maxAgeMs: 1000, coldWaitMs: 0 })
  assert.deepEqual((await health.get({ fresh: true }))?.endOffsets, [9])
})

test('two readings give the same lag when their end offsets are equal, or both unknown', () => {
  const reading = (endOffsets: number[] | null, at = 1) => ({ endOffsets, at })
  const a = reading([5, 6])
  assert.equal(sameLag(a, a), true)
  assert.equal(sameLag(a, reading([5, 6], 2)), true)
  assert.equal(sameLag(a, reading([5, 7])), false)
  assert.equal(sameLag(a, reading([5, 6, 0])), false)
  assert.equal(sameLag(a, reading(null)), false)
  assert.equal(sameLag(a, undefined), false)
  assert.equal(sameLag(reading(null), undefined), true)
  assert.equal(sameLag({ endOffsets: null, error: 'timeout', at: 1 }, reading(null, 2)), true)
})

test('a reading ages on the monotonic clock: a wall clock stepped back does not keep it fresh (the lag frozen)', async (t) => {
  let calls = 0
  const cache = new EndOffsetsCache(async () => [++calls], { maxAgeMs: 1 })
  assert.deepEqual((await cache.get({ fresh: true }))?.endOffsets, [1])
  // NTP or a resumed VM steps the wall clock back an hour: the reading is still 5 ms older.
  const wall = Date.now
  const stepped = wall() - 3_600_000
  Date.now = () => stepped
  t.after(() => {
    Date.now = wall
  })
  await aged(5)
  // The provider is called synchronously by the refresh: counting calls needs no wait.
  assert.deepEqual(cache.current()?.endOffsets, [1], 'stale while it is refreshed')
  assert.equal(calls, 2, 'current() refreshed it')
  await aged(5)
  assert.deepEqual((await cache.get())?.endOffsets, [2], 'the refreshed reading, stale again')
  assert.equal(calls, 3, 'get() refreshed it too')
})

test('current() and get() read one freshness rule: a maxAgeMs that is not a positive number always asks', async () => {
  for (const maxAgeMs of [Number.NaN, -1]) {
    let calls = 0
    const cache = new EndOffsetsCache(async () => [++calls], { maxAgeMs })
    assert.deepEqual((await cache.get())?.endOffsets, [1])
    // get() asks again (and waits) every time, so current() has nothing to give without waiting;
    // giving the last reading sent a kept body get() would not have answered, and refreshed nothing.
    assert.equal(cache.current(), undefined, `maxAgeMs ${maxAgeMs}`)
    assert.deepEqual((await cache.get())?.endOffsets, [2])
  }
})

test('a provider failing with no error object is a reading without offsets, not a rejection', async () => {
  for (const thrown of [undefined, null, 'down']) {
    const cache = new EndOffsetsCache(() => Promise.reject(thrown), { maxAgeMs: 1000 })
    // A rejection here failed /health and, from a refresh nobody awaits (current(), get() serving
    // a stale reading), was an unhandled rejection: the process's end.
    const reading = await cache.get({ fresh: true })
    assert.equal(reading?.endOffsets, null, String(thrown))
    assert.equal(reading?.error, 'unavailable')
  }
})
