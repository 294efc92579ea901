// The dashboard's routes: the page and every file it loads, the live stream (what it sends, and
// that it ends with the client and with the server), the sampler's rates, the history sampled
// with no page open (the dashboard reading nothing from the store for it), and the key list.
import assert from 'node:assert/strict'
import { get, type IncomingMessage } from 'node:http'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import { EndOffsetsCache } from '../../../src/serving/api/log-offsets.ts'
import { ViewIndex } from '../../../src/serving/api/view-status.ts'
import { dashboardRoute, type Sample } from '../../../src/serving/dashboard/index.ts'
import { DashboardSampler } from '../../../src/serving/dashboard/sampler.ts'
import type { Store } from '../../../src/store/store.ts'
import { deferrer } from '../../helpers/cleanup.ts'
import { mergedScenario, openStore, serve, views } from '../fixture.ts'

interface SseEvent {
  event: string
  data: any
}

/** A server-sent-events client on node:http: events in order, and whether the stream ended. */
function openStream(url: string) {
  const queue: SseEvent[] = []
  const waiting: Array<() => void> = []
  let ended = false
  let response: IncomingMessage | undefined
  let resolveClosed: () => void = () => undefined
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve
  })
  const end = () => {
    ended = true
    for (const w of waiting.splice(0)) w()
    resolveClosed()
  }
  const request = get(url, (res) => {
    response = res
    res.setEncoding('utf8')
    let buffer = ''
    res.on('data', (chunk: string) => {
      buffer += chunk
      let cut = buffer.indexOf('\n\n')
      while (cut !== -1) {
        const block = buffer.slice(0, cut)
        buffer = buffer.slice(cut + 2)
        const event = /^event: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (event !== undefined && data !== undefined) queue.push({ event, data: JSON.parse(data) })
        cut = buffer.indexOf('\n\n')
      }
      for (const w of waiting.splice(0)) w()
    })
    res.on('close', end)
  })
  request.on('error', end)
  return {
    /** Resolves when the stream has ended (server side or ours). */
    closed,
    get headers() {
      return response?.headers
    },
    destroy: () => request.destroy(),
    /** The next event named `name` (others are skipped); fails if the stream ends first. */
    async next(name: string, deadlineMs = 15_000): Promise<any> {
      const deadline = Date.now() + deadlineMs
      for (;;) {
        const index = queue.findIndex((e) => e.event === name)
        if (index !== -1) return queue.splice(0, index + 1)[index].data
        if (ended) throw new Error(`the stream ended before a '${name}' event`)
        if (Date.now() > deadline) throw new Error(`no '${name}' event within ${deadlineMs} ms`)
        await new Promise<void>((resolve) => {
          waiting.push(resolve)
          setTimeout(resolve, 200)
        })
      }
    },
  }
}

/** Waits for `condition` (a generous deadline: a condition, not a timing, is what is tested). */
async function waitFor(condition: () => boolean | Promise<boolean>, what: string, deadlineMs = 15_000) {
  const deadline = Date.now() + deadlineMs
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

async function listenLocal(app: { listen(o: object): Promise<string> }): Promise<string> {
  return app.listen({ port: 0, host: '127.0.0.1' })
}

test('GET / serves the page, and every script and style it loads answers with its type', async (t) => {
  const store = await openStore(t)
  const app = await serve(t, store)

  const page = await app.inject('/')
  assert.equal(page.statusCode, 200)
  assert.match(String(page.headers['content-type']), /^text\/html/)
  assert.match(String(page.headers['content-security-policy']), /script-src 'self'/)
  assert.match(page.body, /<title>Strata<\/title>/)

  // Follow what the page loads: <script src>, <link href>, and the modules' own imports.
  const pending = [...page.body.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1])
  assert.ok(pending.includes('/assets/uplot.min.js') && pending.includes('/assets/uplot.min.css'))
  const seen = new Set<string>()
  while (pending.length > 0) {
    const path = pending.pop() as string
    if (seen.has(path)) continue
    seen.add(path)
    const res = await app.inject(path)
    assert.equal(res.statusCode, 200, `${path} answers`)
    assert.ok(res.body.length > 0, `${path} is not empty`)
    const type = String(res.headers['content-type'])
    if (path.endsWith('.js')) {
      assert.match(type, /^text\/javascript/, path)
      if (!path.includes('uplot')) {
        for (const m of res.body.matchAll(/from '\.\/([\w-]+\.js)'/g)) pending.push(`/assets/${m[1]}`)
      }
    } else {
      assert.match(type, /^text\/css/, path)
    }
  }
  assert.ok(seen.has('/assets/explorer.js') && seen.has('/assets/charts.js'), [...seen].join(', '))
  const uplot = await app.inject('/assets/uplot.min.js')
  assert.match(uplot.body, /uPlot/)

  for (const path of ['/assets/nope.js', '/assets/..%2F..%2Fpackage.json', '/assets/index.ts']) {
    const res = await app.inject(path)
    assert.equal(res.statusCode, 404, path)
    assert.ok(res.json().error.code, path)
  }
})

test('the stream says hello with the views and the log, ticks with rates and lag, and ends when the server closes', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  // The log grows by 10 records in partition 0 per reading; the speed layer folds along.
  let readings = 0
  let folded = 100
  const app = await serve(t, store, {
    endOffsets: async () => [20 + 10 * readings++, 6, 3, 0, 0, 0],
    speedStats: () => {
      folded += 5
      return { folded, skipped: 0 }
    },
  })
  const url = await listenLocal(app)
  const stream = openStream(`${url}/dashboard/stream`)

  const hello = await stream.next('hello')
  assert.match(String(stream.headers?.['content-type']), /^text\/event-stream/)
  assert.deepEqual(hello.features, { store: true, log: true, speed: true })
  const first: Sample = hello.sample
  assert.deepEqual(
    first.views.map((v) => v.name),
    views.map((v) => v.name),
  )
  assert.deepEqual(first.speed, [15, 6, null, null, null, null])
  assert.equal(first.endOffsets?.length, 6)
  assert.deepEqual(first.lag.slice(1), [0, null, null, null, null], 'lag where the speed layer runs')
  assert.equal(first.batches.length, 1)
  assert.equal(first.batches[0].view, 'pageviews_by_url')
  assert.equal(first.batches[0].version, 1)
  assert.equal(first.batches[0].durationMs, 4000)

  // A tick with rates: the log grew between two readings, so did the speed layer's total.
  let tick: Sample
  do tick = await stream.next('tick')
  while (tick.rates.in === null)
  assert.ok(tick.rates.in > 0, `events in per second: ${tick.rates.in}`)
  assert.ok((tick.rates.folded ?? 0) > 0, `folded per second: ${tick.rates.folded}`)
  assert.equal(tick.totals.ingested, 0, 'nothing came through POST /events')
  assert.equal(tick.lag[0], (tick.endOffsets?.[0] ?? 0) - 15)
  assert.deepEqual(tick.views[0].lag?.slice(1), [0, 3, 0, 0, 0])

  // A page left open must not hold the server: close() ends the stream and resolves.
  let closing = false
  const close = app.close().then(() => {
    closing = true
  })
  await waitFor(() => closing, 'app.close() with a stream open').catch((error) => {
    stream.destroy() // lets the server close after the failure
    throw error
  })
  await close
  await stream.closed
})

test('a page that goes away stops the sampling; sampling starts again with the next page', async (t) => {
  const defer = deferrer(t)
  const app = Fastify()
  defer(() => app.close())
  let readings = 0
  await app.register(dashboardRoute, {
    views: new ViewIndex([]),
    endOffsets: async () => {
      readings++
      return [readings]
    },
    intervalMs: 20,
    // The background history's clock, out of the way here (tested below, with no page open).
    historyIntervalMs: 60_000,
  })
  const url = await listenLocal(app)

  const page = openStream(`${url}/dashboard/stream`)
  await page.next('hello')
  await page.next('tick')
  await page.next('tick')
  page.destroy()
  await page.closed
  // Readings stop: the count stays the same over 20 intervals (it would grow by ~20 otherwise).
  await waitFor(async () => {
    const before = readings
    await sleep(400)
    return readings === before
  }, 'the sampling to stop after the page went away')

  const again = openStream(`${url}/dashboard/stream`)
  const hello = await again.next('hello')
  assert.deepEqual(hello.features, { store: false, log: true, speed: false })
  const before = readings
  await again.next('tick')
  assert.ok(readings > before, 'sampling resumed')
  again.destroy()
})

test('the sampler turns totals into rates, and gives none for a total that went backwards or is missing', async () => {
  const ends: Array<number[] | 'fail'> = [[10, 0], [30, 10], [25, 10], 'fail', [40, 10]]
  let i = 0
  let ingested = 0
  const sampler = new DashboardSampler(
    {
      views: new ViewIndex([]),
      offsets: new EndOffsetsCache(
        async () => {
          const next = ends[Math.min(i++, ends.length - 1)]
          if (next === 'fail') throw new Error('broker down')
          return next
        },
        { maxAgeMs: 0 },
      ),
      ingested: () => (ingested += 7),
    },
    { intervalMs: 10, historySize: 3 },
  )
  const samples: Sample[] = []
  const stop = sampler.subscribe((s) => samples.push(s))
  await waitFor(() => samples.length >= 5, 'five samples')
  stop()
  sampler.close()
  const [a, b, c, d, e] = samples
  assert.equal(a.rates.in, null, 'no rate before a second reading')
  assert.equal(a.totals.log, 10)
  const seconds = (later: Sample, earlier: Sample) => (later.at - earlier.at) / 1000
  assert.equal(b.rates.in, 30 / seconds(b, a))
  assert.equal(b.rates.ingested, 7 / seconds(b, a))
  assert.equal(b.rates.folded, null, 'no speed layer in this process')
  assert.equal(c.rates.in, null, 'the log shrank: no negative rate')
  assert.equal(d.totals.log, null)
  assert.equal(d.endOffsets, null)
  assert.equal(d.logError, 'unavailable', 'a generic reason, never the foreign message')
  assert.equal(d.rates.in, null)
  assert.equal(e.rates.in, null, 'no rate across a missing reading')
  assert.equal(sampler.history().length, 3, 'the history keeps its size')
})

test('GET /dashboard/keys/:view lists keys of the batch version and of the speed layer', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  const app = await serve(t, store)

  const all = await app.inject('/dashboard/keys/pageviews_by_url')
  assert.equal(all.statusCode, 200)
  assert.deepEqual(all.json(), { view: 'pageviews_by_url', keys: ['/a', '/b', '/c'] })
  const one = await app.inject('/dashboard/keys/pageviews_by_url?limit=1')
  assert.equal(one.json().keys.length, 1)
  assert.deepEqual((await app.inject('/dashboard/keys/top_urls')).json().keys, [])

  const unknown = await app.inject('/dashboard/keys/nope')
  assert.equal(unknown.statusCode, 404)
  assert.equal(unknown.json().error.code, 'STRATA_ERR_UNKNOWN_VIEW')
  assert.equal((await app.inject('/dashboard/keys/pageviews_by_url?limit=0')).statusCode, 400)
})

/** The store with every method call recorded by name. */
function countingStore(store: Store): { store: Store; calls: string[] } {
  const calls: string[] = []
  const proxy = new Proxy(store, {
    get(target, name) {
      const value = Reflect.get(target, name, target)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        calls.push(String(name))
        return value.apply(target, args)
      }
    },
  })
  return { store: proxy, calls }
}

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length

test('with no page open the sampler keeps a history of rates, never reading the store; close() stops it', async (t) => {
  const defer = deferrer(t)
  const { store, calls } = countingStore(await openStore(t))
  let log = 0
  let readings = 0
  const before = timeouts()
  const sampler = new DashboardSampler(
    {
      store,
      views: new ViewIndex(views),
      offsets: new EndOffsetsCache(
        async () => {
          readings++
          log += 50
          return [log, 0]
        },
        { maxAgeMs: 0 },
      ),
      speedStats: () => ({ folded: log, skipped: 0 }),
      ingested: () => log / 2,
    },
    { historyIntervalMs: 10 },
  )
  defer(() => sampler.close())
  // The background clock holds no handle open: a process with only a dashboard may exit.
  assert.equal(timeouts(), before, 'the background timer is unref’d')
  assert.equal(sampler.sampling, true)
  assert.equal(sampler.listeners, 0, 'nobody watches')

  await waitFor(() => sampler.history().length >= 5, 'five points of history with no page open')
  const points = sampler.history()
  assert.ok(
    points.every((p, i) => i === 0 || p.at >= points[i - 1].at),
    'oldest first',
  )
  const later = points.slice(1)
  assert.ok(
    later.every((p) => (p.rates.in ?? 0) > 0 && (p.rates.folded ?? 0) > 0 && (p.rates.ingested ?? 0) > 0),
    JSON.stringify(later),
  )
  assert.deepEqual(Object.keys(points[0]).sort(), ['at', 'rates'], 'a point is a time and its rates')
  assert.deepEqual(calls, [], 'the background readings never touch the store')

  sampler.close()
  assert.equal(sampler.sampling, false)
  const stopped = readings
  await sleep(100)
  assert.equal(readings, stopped, 'no reading after close()')
  assert.ok(sampler.history().length >= 5, 'the history is still there to read')
})

test('GET /dashboard/history serves the hour sampled with no page open; the next page opens on it; app.close() stops the sampling', async (t) => {
  const defer = deferrer(t)
  const counted = countingStore(await openStore(t))
  await mergedScenario(counted.store)
  counted.calls.length = 0
  let readings = 0
  const app = Fastify()
  let open = true
  defer(() => (open ? app.close() : undefined))
  await app.register(dashboardRoute, {
    store: counted.store,
    views: new ViewIndex(views),
    endOffsets: async () => [20 + 10 * readings++, 6, 3, 0, 0, 0],
    ingested: () => 3 * readings,
    historyIntervalMs: 20,
  })
  const url = await listenLocal(app)

  let history: any
  await waitFor(async () => {
    history = (await app.inject('/dashboard/history')).json()
    return history.points.length >= 4
  }, 'four background points')
  assert.equal(history.spanMs, 3_600_000)
  assert.equal(history.historyIntervalMs, 20)
  assert.equal(history.intervalMs, 1000)
  const points = history.points as Array<{ at: number; rates: Record<string, number | null> }>
  assert.ok(
    points.every((p, i) => i === 0 || p.at >= points[i - 1].at),
    'oldest first',
  )
  assert.ok(
    points.slice(1).every((p) => (p.rates.in ?? 0) > 0),
    `events in per second from the end offsets: ${JSON.stringify(points)}`,
  )
  assert.equal(points[0].rates.folded, null, 'no speed layer in this process')
  assert.deepEqual(counted.calls, [], 'nobody watched: the store was not read')

  // A page that opens now starts with that history, not an empty chart.
  const page = openStream(`${url}/dashboard/stream`)
  const hello = await page.next('hello')
  assert.equal(hello.historyIntervalMs, 20)
  assert.ok(hello.history.length >= points.length, `${hello.history.length} points in hello`)
  assert.deepEqual(hello.history.slice(0, points.length), points)
  assert.ok(counted.calls.length > 0, 'a watched sample reads the store')
  page.destroy()
  await page.closed

  await app.close()
  open = false
  const stopped = readings
  await sleep(200)
  assert.equal(readings, stopped, 'the background clock stopped with the server')
})

test('a background reading that throws leaves a gap in the history, not an unhandled rejection', async (t) => {
  const defer = deferrer(t)
  let calls = 0
  const sampler = new DashboardSampler(
    {
      views: new ViewIndex([]),
      offsets: new EndOffsetsCache(async () => [calls * 10], { maxAgeMs: 0 }),
      ingested: () => {
        if (++calls % 2 === 0) throw new Error('a counter that throws')
        return calls
      },
    },
    { historyIntervalMs: 10 },
  )
  defer(() => sampler.close())
  await waitFor(() => sampler.history().length >= 3, 'three points between the failures')
  assert.ok(calls >= 5, `the clock went on after failures: ${calls} readings`)
})
