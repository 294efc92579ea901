// GET /views/:view/:key answered beside Fastify (api/query-fast-path.ts, decision 0018): over a
// real socket (app.inject goes through Fastify's handler only), the path must answer exactly what
// Fastify answers for the same request — status, body bytes, headers, log line, metrics — and hand
// every request it cannot answer 200 to Fastify, whose refusals stay as they were.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { get, createServer as httpServer } from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { ErrorCodes, StrataError } from '../../../src/core/errors.ts'
import { createLogger } from '../../../src/runtime/logger.ts'
import { requestHeader } from '../../../src/serving/api/query-fast-path.ts'
import { listen } from '../../../src/serving/app.ts'
import { fastPathAnswers } from '../../../src/serving/server.ts'
import { createStartingGate, later } from '../../../src/serving/starting.ts'
import { openLmdbStore } from '../../../src/store/lmdb-store.ts'
import type { Store } from '../../../src/store/store.ts'
import { deferrer } from '../../helpers/cleanup.ts'
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
  W2,
  ZEROS,
} from '../fixture.ts'

const pv = viewNamed('pageviews_by_url')

const TOKEN = 'fast-path-token-0123456789'
const END_OFFSETS = async () => [20, 6, 3, 0, 0, 0]
const json = async (res: Response): Promise<any> => res.json()

/** The headers that say what was answered (Date and Keep-Alive are the socket's). */
function answerHeaders(res: Response): Record<string, string | null> {
  return {
    'content-type': res.headers.get('content-type'),
    'content-length': res.headers.get('content-length'),
    connection: res.headers.get('connection'),
    'retry-after': res.headers.get('retry-after'),
    'www-authenticate': res.headers.get('www-authenticate'),
  }
}

test('an answer taken outside Fastify is byte for byte the one Fastify gives the same question', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  const app = await serve(t, store, { endOffsets: END_OFFSETS })
  const { url } = await listen(app, { port: 0 })
  const paths = [
    '/views/pageviews_by_url/%2Fa',
    '/views/pageviews_by_url/%2Fb',
    '/views/pageviews_by_url/%2Fc',
    '/views/pageviews_by_url/%2Fnever-seen',
    '/views/unique_users_by_url/%2Fa',
    '/views/top_urls/all',
    // Decoded as Fastify's router decodes: a slash, a percent sign, a space, non-ASCII, a plus.
    '/views/pageviews_by_url/%2Fa%2Fb%25c%20d%C3%A9+e',
    // GET (not POST) /views/:view/query is a key named "query".
    '/views/pageviews_by_url/query',
  ]
  for (const path of paths) {
    const before = fastPathAnswers(app)
    const fast = await fetch(`${url}${path}`)
    assert.equal(fastPathAnswers(app), before + 1, `${path} answered outside Fastify`)
    // A query string sends the same question through Fastify.
    const slow = await fetch(`${url}${path}?parts=false`)
    assert.equal(fastPathAnswers(app), before + 1, `${path}?parts=false answered by Fastify`)
    assert.equal(fast.status, 200, path)
    assert.equal(slow.status, 200, path)
    assert.deepEqual(answerHeaders(fast), answerHeaders(slow), path)
    assert.equal(await fast.text(), await slow.text(), path)
  }
  const a = await json(await fetch(`${url}/views/pageviews_by_url/%2Fa%2Fb%25c%20d%C3%A9+e`))
  assert.equal(a.key, '/a/b%c dé+e')

  // A new answer after a write, not a body kept from before it.
  const speed = new SpeedFixture(store)
  const seen = await json(await fetch(`${url}/views/pageviews_by_url/%2Fc`))
  await speed.commit(2, 3, [{ epoch: 0, key: '/c', window: W2, state: stateOf(pv, pageViews(5, '/c')) }])
  const after = await json(await fetch(`${url}/views/pageviews_by_url/%2Fc`))
  assert.equal(after.windows.at(-1).value, seen.windows.at(-1).value + 5)
  assert.equal(after.speed[2], 3)
  assert.deepEqual(after, await json(await fetch(`${url}/views/pageviews_by_url/%2Fc?parts=false`)))
})

test('every request the route would refuse, and every other route, is answered by Fastify as before', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  const app = await serve(t, store, {
    endOffsets: END_OFFSETS,
    auth: { token: TOKEN, protectQueries: true },
  })
  const { url } = await listen(app, { port: 0 })
  const bearer = { authorization: `Bearer ${TOKEN}` }
  const cases: Array<[string, RequestInit, number, string | undefined]> = [
    ['/views/pageviews_by_url/%2Fa', {}, 401, ErrorCodes.UNAUTHORIZED],
    [
      '/views/pageviews_by_url/%2Fa',
      { headers: { authorization: 'Bearer wrong' } },
      401,
      ErrorCodes.UNAUTHORIZED,
    ],
    ['/views/no_such_view/%2Fa', { headers: bearer }, 404, ErrorCodes.UNKNOWN_VIEW],
    ['/views/pageviews_by_url/%E0%A4%A', { headers: bearer }, 400, ErrorCodes.INVALID_ARGUMENT],
    [`/views/pageviews_by_url/${'k'.repeat(4097)}`, { headers: bearer }, 400, ErrorCodes.INVALID_ARGUMENT],
    ['/views/pageviews_by_url/%2Fa?nope=1', { headers: bearer }, 400, ErrorCodes.INVALID_ARGUMENT],
    ['/views/pageviews_by_url/%2Fa/', { headers: bearer }, 404, ErrorCodes.NOT_FOUND],
    ['/views/pageviews_by_url/top', { headers: bearer }, 200, undefined],
    ['/views/pageviews_by_url/errors', { headers: bearer }, 200, undefined],
    ['/views/pageviews_by_url/%2Fa', { method: 'HEAD', headers: bearer }, 200, undefined],
    ['/views/pageviews_by_url/%2Fa', { method: 'DELETE', headers: bearer }, 404, ErrorCodes.NOT_FOUND],
  ]
  for (const [path, init, status, code] of cases) {
    const before = fastPathAnswers(app)
    const res = await fetch(`${url}${path}`, init)
    assert.equal(res.status, status, `${init.method ?? 'GET'} ${path.slice(0, 80)}`)
    const text = await res.text()
    if (code !== undefined) assert.equal(JSON.parse(text).error.code, code, path.slice(0, 80))
    assert.equal(fastPathAnswers(app), before, `${path.slice(0, 80)}: Fastify's`)
    if (status === 401) assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="strata"')
  }
  // fetch sends its own Host header: node:http sends the one given.
  const refused = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
    const request = get(
      `${url}/views/pageviews_by_url/%2Fa`,
      { headers: { ...bearer, host: 'evil.example' } },
      (res) => {
        let body = ''
        res.on('data', (chunk) => {
          body += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode, body }))
      },
    )
    request.on('error', reject)
  })
  assert.equal(refused.status, 403)
  assert.equal(JSON.parse(refused.body).error.code, ErrorCodes.HOST_NOT_ALLOWED)
  assert.equal(fastPathAnswers(app), 0)
  // With the token, the same route is taken outside Fastify.
  const before = fastPathAnswers(app)
  const ok = await fetch(`${url}/views/pageviews_by_url/%2Fa`, { headers: bearer })
  assert.equal(ok.status, 200)
  assert.equal((await json(ok)).key, '/a')
  assert.equal(fastPathAnswers(app), before + 1)
})

test('while starting, the gate answers; once open, the path answers', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  const starting = createStartingGate()
  const app = await serve(t, store, { starting })
  const { url } = await listen(app, { port: 0 })
  const refused = await fetch(`${url}/views/pageviews_by_url/%2Fa`)
  assert.equal(refused.status, 503)
  assert.equal((await json(refused)).error.code, ErrorCodes.STARTING)
  assert.equal(fastPathAnswers(app), 0)
  starting.open()
  assert.equal((await fetch(`${url}/views/pageviews_by_url/%2Fa`)).status, 200)
  assert.equal(fastPathAnswers(app), 1)
})

test('a failed read is handed to Fastify, which answers the error as it always did', async (t) => {
  const real = await openStore(t)
  await mergedScenario(real)
  let down = true
  const store = new Proxy(real, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver)
      if (name !== 'snapshot' || typeof value !== 'function') return value
      return (...args: unknown[]) =>
        down
          ? Promise.reject(
              new StrataError(ErrorCodes.STORE, 'reading failed: ECONNREFUSED', { retriable: true }),
            )
          : value.apply(target, args)
    },
  }) as Store
  const logged: string[] = []
  const app = await serve(t, store, { logServerError: (message) => logged.push(message) })
  const { url } = await listen(app, { port: 0 })
  const res = await fetch(`${url}/views/pageviews_by_url/%2Fa`)
  assert.equal(res.status, 503)
  assert.equal(res.headers.get('retry-after'), '2')
  assert.equal((await json(res)).error.code, ErrorCodes.STORE_UNAVAILABLE)
  assert.equal(fastPathAnswers(app), 0)
  assert.deepEqual(logged, ['GET /views/pageviews_by_url/%2Fa answered 503'])
  down = false
  assert.equal((await fetch(`${url}/views/pageviews_by_url/%2Fa`)).status, 200)
  assert.equal(fastPathAnswers(app), 1)
})

test('the access line and the query histogram count the requests answered outside Fastify', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  const lines: string[] = []
  const logger = createLogger('serve', (line) => lines.push(line))
  const app = await serve(t, store, { log: logger.pino! })
  const { url } = await listen(app, { port: 0 })
  for (let i = 0; i < 3; i++) assert.equal((await fetch(`${url}/views/pageviews_by_url/%2Fa`)).status, 200)
  assert.equal((await fetch(`${url}/views/pageviews_by_url/%2Fa?parts=true`)).status, 200)
  assert.equal(fastPathAnswers(app), 3)
  const metrics = await (await fetch(`${url}/metrics`)).text()
  const counted = /strata_query_duration_seconds_count\{route="\/views\/:view\/:key"\} (\d+)/.exec(metrics)
  assert.equal(counted?.[1], '4', 'three answers outside Fastify and one through it')
  // The log is written in batches (runtime/logger.ts): wait for the four lines.
  const deadline = Date.now() + 5000
  const access = () => lines.map((l) => JSON.parse(l)).filter((e) => e.req?.url?.startsWith('/views/'))
  while (access().length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  const entries = access()
  assert.deepEqual(
    entries.map((e) => [e.req.method, e.req.url, e.res.statusCode]),
    [
      ['GET', '/views/pageviews_by_url/%2Fa', 200],
      ['GET', '/views/pageviews_by_url/%2Fa', 200],
      ['GET', '/views/pageviews_by_url/%2Fa', 200],
      ['GET', '/views/pageviews_by_url/%2Fa?parts=true', 200],
    ],
  )
  for (const e of entries) {
    assert.equal(e.level, 'info')
    assert.equal(typeof e.responseTime, 'number')
    assert.match(e.msg, /^GET \/views\/\S+ 200 [\d.]+ ms$/)
  }
  const ids = entries.map((e) => e.reqId)
  for (const id of ids) assert.match(id, /^req-[0-9a-z]+$/)
  assert.equal(new Set(ids).size, ids.length, 'one id per request, from one sequence')
})

test('a kept body is sent again only while the end offsets are the same: new offsets, new lag', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  let end = [20, 6, 3, 0, 0, 0]
  const app = await serve(t, store, { endOffsets: async () => end })
  const { url } = await listen(app, { port: 0 })
  const ask = async () => json(await fetch(`${url}/views/pageviews_by_url/%2Fa`))
  const first = await ask()
  assert.deepEqual(first.lag, [5, 0, 3, 0, 0, 0])
  // A new reading of the same offsets (endOffsetsMaxAgeMs 0: one per query), the same answer.
  assert.deepEqual(await ask(), first)
  end = [21, 9, 3, 1, 0, 0]
  assert.deepEqual((await ask()).lag, [6, 3, 3, 1, 0, 0])
  assert.deepEqual(
    (await json(await fetch(`${url}/views/pageviews_by_url/%2Fa?parts=false`))).lag,
    [6, 3, 3, 1, 0, 0],
  )
  assert.equal(fastPathAnswers(app), 3)
})

/** One raw request (fetch and node:http drop a fragment from the URL; a raw client may not). */
function rawGet(
  url: string,
  path: string,
  headers = 'Host: localhost\r\n',
): Promise<{ status: number; body: string }> {
  const { port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () =>
      socket.end(`GET ${path} HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`),
    )
    let text = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk) => {
      text += chunk
    })
    socket.on('end', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n')
      resolve({ status: Number(head.split(' ')[1]), body })
    })
    socket.on('error', reject)
  })
}

test('a URL with a fragment is Fastify\'s: its router reads a query string after "#"', async (t) => {
  // find-my-way ends the path at '?' or '#', and Fastify validates and uses what follows either
  // as the query string; node:http passes a fragment through in request.url.
  const store = await openStore(t)
  await mergedScenario(store)
  const app = await serve(t, store, { endOffsets: END_OFFSETS })
  const { url } = await listen(app, { port: 0 })
  const unknown = await rawGet(url, '/views/pageviews_by_url/%2Fa#nope=1')
  assert.equal(unknown.status, 400, 'an unknown parameter after "#" is refused, as after "?"')
  assert.equal(JSON.parse(unknown.body).error.code, ErrorCodes.INVALID_ARGUMENT)
  const parts = await rawGet(url, '/views/pageviews_by_url/%2Fa#parts=true')
  const asked = await rawGet(url, '/views/pageviews_by_url/%2Fa?parts=true')
  assert.equal(parts.status, 200)
  assert.equal(parts.body, asked.body, 'the parts asked after "#" are answered')
  assert.equal(fastPathAnswers(app), 0)
})

test('a new batch version is answered at once though the end offsets (so the lag) did not move', async (t) => {
  // The kept body is per answer and reading; sameLag keeps it across readings of the same
  // offsets, which must not keep an answer of the version before.
  const store = await openStore(t)
  await mergedScenario(store)
  const app = await serve(t, store, { endOffsets: END_OFFSETS })
  const { url } = await listen(app, { port: 0 })
  const ask = async (query = '') => json(await fetch(`${url}/views/pageviews_by_url/%2Fa${query}`))
  const before = await ask()
  assert.equal(before.batch.version, 1)
  const w0 = (answer: any) => answer.windows.find((w: any) => w.windowStart === W0).value
  await installBatch(store, pv, HORIZON, [
    { key: '/a', window: W0, state: stateOf(pv, pageViews(50)) },
    { key: '/b', window: W0, state: stateOf(pv, pageViews(7)) },
  ])
  const after = await ask()
  assert.equal(after.batch.version, 2)
  assert.deepEqual(after.lag, before.lag, 'the same lag: the body could have been kept')
  assert.equal(w0(after), w0(before) - 5 + 50)
  assert.deepEqual(after, await ask('?parts=false'))
  assert.equal(fastPathAnswers(app), 2)
})

/** `store`, counting its snapshot reads (every other call passes through). */
function countingReads(store: Store): { store: Store; reads: () => number } {
  let reads = 0
  const counted = new Proxy(store, {
    get(object, property) {
      const member = Reflect.get(object, property, object)
      if (typeof member !== 'function') return member
      if (property === 'snapshot') {
        return (...args: unknown[]) => {
          reads++
          return member.apply(object, args)
        }
      }
      return member.bind(object)
    },
  })
  return { store: counted, reads: () => reads }
}

test('a body kept by URL is sent while a read finds the same snapshot version, and never after a write', async (t) => {
  const lmdb = await openStore(t)
  await mergedScenario(lmdb)
  const { store, reads } = countingReads(lmdb)
  // A reading that stays fresh through the test: the kept body is only ever sent with it.
  const app = await serve(t, store, { endOffsets: END_OFFSETS, endOffsetsMaxAgeMs: 600_000 })
  const { url } = await listen(app, { port: 0 })
  const path = `${url}/views/pageviews_by_url/%2Fa`
  // The store's background compaction may write between two asks (a new version: read again
  // then, rightly); `read` says whether the store was read, `moved` whether the version moved.
  const version = () => (lmdb.snapshotVersion as () => number | undefined)()
  const ask = async (): Promise<{ text: string; read: boolean; moved: boolean }> => {
    const before = reads()
    const at = version()
    const answers = fastPathAnswers(app)
    const res = await fetch(path)
    const text = await res.text()
    assert.equal(fastPathAnswers(app), answers + 1, 'answered outside Fastify')
    assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(text)))
    return { text, read: reads() > before, moved: version() !== at }
  }
  /** What Fastify answers now (a query string takes it there; it reads the store every time). */
  const fastify = async () => (await fetch(`${path}?parts=false`)).text()
  const windows = (text: string) => JSON.parse(text).windows.map((w: { value: unknown }) => w.value)

  const first = await ask()
  assert.equal(first.read, true)
  const again = await ask()
  if (!again.moved) assert.equal(again.read, false, 'the kept body, without a store read')
  assert.equal(again.text, first.text)
  assert.equal(again.text, await fastify())

  const speed = new SpeedFixture(lmdb)
  // Each write that changes what a query reads: the next ask reads the store and answers as
  // Fastify does, then the new body is kept.
  const writes: Array<[string, () => Promise<unknown>]> = [
    [
      'a speed commit of the key',
      () => speed.commit(1, 7, [{ epoch: 4, key: '/a', window: W2, state: stateOf(pv, pageViews(9)) }]),
    ],
    [
      'a speed commit of another key',
      () => speed.commit(1, 8, [{ epoch: 4, key: '/b', window: W2, state: stateOf(pv, pageViews(2, '/b')) }]),
    ],
    [
      'a compaction pass',
      () =>
        lmdb.compactSpeed((name, stored, delta) => {
          const { monoid } = viewNamed(name)
          return monoid.encode(monoid.combine(monoid.decode(stored as never), monoid.decode(delta as never)))
        }),
    ],
    [
      'a batch flip',
      () =>
        installBatch(
          lmdb,
          pv,
          [15, 8, 0, 0, 0, 0],
          [{ key: '/a', window: W0, state: stateOf(pv, pageViews(50)) }],
        ),
    ],
  ]
  let last = again.text
  for (const [write, run] of writes) {
    const before = version()
    await run()
    assert.notEqual(version(), before, `${write}: a new snapshot version`)
    const after = await ask()
    assert.equal(after.read, true, `${write}: read again`)
    assert.equal(after.text, await fastify(), `${write}: the answer of the store now`)
    const kept = await ask()
    if (!kept.moved) assert.equal(kept.read, false, `${write}: kept again`)
    assert.equal(kept.text, after.text)
    if (write !== 'a compaction pass' && write !== 'a speed commit of another key')
      assert.notDeepEqual(windows(after.text), windows(last), `${write}: a new answer`)
    last = after.text
  }
  assert.equal(JSON.parse(last).batch.horizon[0], 15)
})

test('a kept body is not sent after another process writes the store (worker serve beside a speed worker)', async (t) => {
  const defer = deferrer(t)
  const dir = mkdtempSync(join(tmpdir(), 'strata-fast-path-'))
  const store = await openLmdbStore(dir, { compactor: { auto: false } })
  defer(async () => {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
  await mergedScenario(store)
  const app = await serve(t, store, { endOffsets: END_OFFSETS, endOffsetsMaxAgeMs: 600_000 })
  const { url } = await listen(app, { port: 0 })
  const ask = async () => json(await fetch(`${url}/views/pageviews_by_url/%2Fa`))
  const w0 = (answer: any) => answer.windows.find((w: any) => w.windowStart === W0).value
  const before = await ask()
  assert.deepEqual(await ask(), before) // kept, and the version read is held for the snapshot
  // Another process on the same store writes what this one serves: a batch flip of /a.
  const fixture = new URL('../fixture.ts', import.meta.url).href
  const child = `
    const { installBatch, pageViews, stateOf, viewNamed, HORIZON, W0 } = await import(${JSON.stringify(fixture)})
    const { openLmdbStore } = await import(${JSON.stringify(new URL('../../../src/store/lmdb-store.ts', import.meta.url).href)})
    const store = await openLmdbStore(${JSON.stringify(dir)}, { compactor: { auto: false } })
    const pv = viewNamed('pageviews_by_url')
    await installBatch(store, pv, HORIZON, [{ key: '/a', window: W0, state: stateOf(pv, pageViews(50)) }])
    await store.close()
  `
  execFileSync(process.execPath, ['--input-type=module', '-e', child], { stdio: 'inherit' })
  const after = await ask()
  assert.equal(after.batch.version, before.batch.version + 1)
  assert.equal(w0(after), w0(before) - 5 + 50)
  assert.equal(fastPathAnswers(app), 3)
})

test('a kept body goes on with a stale end-offsets reading while it is refreshed, as Fastify answers, and takes the new one', async (t) => {
  const lmdb = await openStore(t)
  await mergedScenario(lmdb)
  const { store, reads } = countingReads(lmdb)
  let calls = 0
  let next: Promise<number[]> = Promise.resolve([20, 6, 3, 0, 0, 0])
  const app = await serve(t, store, {
    endOffsets: () => {
      calls++
      return next
    },
    endOffsetsMaxAgeMs: 1,
  })
  const { url } = await listen(app, { port: 0 })
  const path = `${url}/views/pageviews_by_url/%2Fa`
  const version = () => (lmdb.snapshotVersion as () => number | undefined)()
  const first = await (await fetch(path)).text()
  assert.deepEqual(JSON.parse(first).lag, [5, 0, 3, 0, 0, 0])
  // The broker's next answer is late: the reading ages past maxAgeMs while it is awaited.
  let answer!: (offsets: number[]) => void
  next = new Promise((resolve) => {
    answer = resolve
  })
  // Older than maxAgeMs on the cache's clock (a timer alone can fire early against it under load).
  for (const from = performance.now(); performance.now() - from <= 5; ) await sleep(5)
  for (let i = 0; i < 3; i++) {
    const before = reads()
    const at = version()
    const text = await (await fetch(path)).text()
    assert.equal(text, first, 'the stale reading, as get() gives it')
    // Unless a background compaction moved the version, no store read (the first build read it).
    if (version() === at) assert.equal(reads(), before, 'sent without a store read')
  }
  assert.equal(await (await fetch(`${path}?parts=false`)).text(), first, 'Fastify answers the same')
  assert.equal(calls, 2, 'one refresh for all the asks')
  answer([21, 9, 3, 1, 0, 0])
  await sleep(1)
  assert.deepEqual(JSON.parse(await (await fetch(path)).text()).lag, [6, 3, 3, 1, 0, 0], 'the new reading')
})

test('a server built before its store (strata worker serve) keeps bodies once the store is set', async (t) => {
  const lmdb = await openStore(t)
  await mergedScenario(lmdb)
  const { store, reads } = countingReads(lmdb)
  const stand = later<Store>()
  const starting = createStartingGate()
  const app = await serve(t, stand.value, { starting })
  const { url } = await listen(app, { port: 0 })
  assert.equal((await fetch(`${url}/views/pageviews_by_url/%2Fa`)).status, 503)
  stand.set(store)
  starting.open()
  const path = `${url}/views/pageviews_by_url/%2Fa`
  const first = await (await fetch(path)).text()
  const before = reads()
  const at = lmdb.snapshotVersion?.()
  const again = await (await fetch(path)).text()
  assert.equal(again, first)
  assert.equal(fastPathAnswers(app), 2)
  if (lmdb.snapshotVersion?.() === at) assert.equal(reads(), before, 'the kept body, without a store read')
})

test('a kept body goes to no request the route refuses, and not past a reset of the store', async (t) => {
  const lmdb = await openStore(t)
  await mergedScenario(lmdb)
  const { store, reads } = countingReads(lmdb)
  const app = await serve(t, store, {
    endOffsets: END_OFFSETS,
    endOffsetsMaxAgeMs: 600_000,
    auth: { token: TOKEN, protectQueries: true },
  })
  const { url } = await listen(app, { port: 0 })
  const path = `${url}/views/pageviews_by_url/%2Fa`
  const bearer = { authorization: `Bearer ${TOKEN}` }
  const first = await (await fetch(path, { headers: bearer })).text()
  await fetch(path, { headers: bearer }) // kept now
  const answers = fastPathAnswers(app)
  const refusals: Array<[RequestInit, number]> = [
    [{}, 401],
    [{ headers: { authorization: 'Bearer wrong' } }, 401],
    [{ method: 'HEAD', headers: bearer }, 200],
  ]
  for (const [init, status] of refusals) {
    const res = await fetch(path, init)
    await res.text()
    assert.equal(res.status, status, `${init.method ?? 'GET'} ${JSON.stringify(init.headers ?? {})}`)
  }
  const evil = await new Promise<number | undefined>((resolve, reject) => {
    get(path, { headers: { ...bearer, host: 'evil.example' } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode))
    }).on('error', reject)
  })
  assert.equal(evil, 403)
  assert.equal(fastPathAnswers(app), answers, 'every refusal is Fastify’s, not the kept body')

  // strata reset clears the store: the next ask reads it, empty, whatever was kept.
  await lmdb.clear()
  const before = reads()
  const after = await (await fetch(path, { headers: bearer })).text()
  assert.equal(reads(), before + 1, 'read again after the reset')
  assert.equal(after, await (await fetch(`${path}?parts=false`, { headers: bearer })).text())
  assert.notEqual(after, first)
})

test('a store without snapshot versions (PostgreSQL) keeps no body: every ask reads it', async (t) => {
  const lmdb = await openStore(t)
  await mergedScenario(lmdb)
  const counted = countingReads(lmdb)
  // The LMDB store seen without its versions, as the PostgreSQL store is.
  const unversioned = new Proxy(counted.store, {
    get(object, property) {
      if (property === 'snapshotVersion') return undefined
      if (property === 'snapshot') {
        return async (...args: Parameters<Store['snapshot']>) => {
          const { version: _, ...rest } = await object.snapshot(...args)
          return rest
        }
      }
      return Reflect.get(object, property)
    },
  })
  const app = await serve(t, unversioned, { endOffsets: END_OFFSETS, endOffsetsMaxAgeMs: 600_000 })
  const { url } = await listen(app, { port: 0 })
  const path = `${url}/views/pageviews_by_url/%2Fa`
  for (let i = 0; i < 3; i++) {
    const before = counted.reads()
    assert.equal((await fetch(path)).status, 200)
    assert.equal(counted.reads(), before + 1, `ask ${i + 1} read the store`)
  }
  assert.equal(fastPathAnswers(app), 3)
})

// Exactness through the kept path (issue 15 item 4, session 15): every event of this log is one
// page view of /a in W0 on partition 0, so an exact answer's W0 count equals its asOf[0] — a body
// kept past a write (stale: fewer) or a flip counting the speed layer's epochs below the new
// horizon again (double: more) breaks it. Each step asks twice: the first ask reads the store,
// the second may be the kept body; both must be the exact merge at the horizon.
test('the kept path answers the exact merge at every step: no stale body, no event counted twice', async (t) => {
  const store = await openStore(t)
  const speed = new SpeedFixture(store)
  await speed.register()
  await speed.claim(0)
  const app = await serve(t, store, { endOffsets: END_OFFSETS, endOffsetsMaxAgeMs: 600_000 })
  const { url } = await listen(app, { port: 0 })
  const count = (n: number) => stateOf(pv, pageViews(n))
  const check = async (step: string, expected: number) => {
    for (const ask of ['first', 'again']) {
      const answer = await json(await fetch(`${url}/views/pageviews_by_url/%2Fa`))
      const w0 = answer.windows.find((w: any) => w.windowStart === W0)?.value ?? 0
      assert.equal(answer.asOf[0], expected, `${step} (${ask} ask): asOf`)
      assert.equal(w0, expected, `${step} (${ask} ask): the events below asOf, each once`)
    }
  }
  const answered = fastPathAnswers(app)
  await speed.commit(0, 10, [{ epoch: 0, key: '/a', window: W0, state: count(10) }])
  await check('speed to offset 10', 10)
  const horizon = [10, 0, 0, 0, 0, 0]
  assert.deepEqual(await store.alignHorizon(horizon, ZEROS), horizon)
  await speed.commit(0, 15, [{ epoch: 10, key: '/a', window: W0, state: count(5) }], [10])
  await check('speed to offset 15, epoch 0 sealed at 10', 15)
  // The batch counts [0, 10) — the events epoch 0 counted too: merged, they count once.
  await installBatch(store, pv, horizon, [{ key: '/a', window: W0, state: count(10) }])
  await check('a batch flip at horizon 10', 15)
  await store.compactSpeed((name, stored, delta) => {
    const { monoid } = viewNamed(name)
    return monoid.encode(monoid.combine(monoid.decode(stored as never), monoid.decode(delta as never)))
  })
  await check('a compaction pass', 15)
  await speed.commit(0, 22, [{ epoch: 10, key: '/a', window: W0, state: count(7) }])
  await check('speed to offset 22', 22)
  assert.equal(fastPathAnswers(app), answered + 10, 'every ask answered by the path')
})

// The path reads Host and Authorization from the raw header list (query-fast-path.ts:
// requestHeader), not from request.headers, which node:http builds keeping the first of a repeated
// Host or Authorization: the path must decide on the same value Fastify's hooks read.
test('a repeated Host or Authorization header: the path reads the first, as request.headers does', async (t) => {
  const store = await openStore(t)
  await mergedScenario(store)
  const app = await serve(t, store, { endOffsets: END_OFFSETS, auth: { token: TOKEN, protectQueries: true } })
  const { url } = await listen(app, { port: 0 })
  const path = '/views/pageviews_by_url/%2Fa'
  const bearer = `Authorization: Bearer ${TOKEN}\r\n`
  const cases: Array<[string, string, number, boolean]> = [
    ['the allowed Host first', `Host: localhost\r\nHOST: evil.example\r\n${bearer}`, 200, true],
    ['a refused Host first', `host: evil.example\r\nHost: localhost\r\n${bearer}`, 403, false],
    ['the token first', `Host: localhost\r\n${bearer}authorization: Bearer wrong\r\n`, 200, true],
    ['a wrong token first', `Host: localhost\r\nAUTHORIZATION: Bearer wrong\r\n${bearer}`, 401, false],
  ]
  for (const [name, headers, status, taken] of cases) {
    const before = fastPathAnswers(app)
    assert.equal((await rawGet(url, path, headers)).status, status, name)
    assert.equal(fastPathAnswers(app) === before + 1, taken, `${name}: taken by the path`)
  }
})

// The value the path decides on is the one request.headers gives Fastify's hooks in every server
// node:http can build: one keeping the first of a repeated Host or Authorization (the default,
// Strata's), and one joining repeated headers (`joinDuplicateHeaders`: `a, b`), where reading the
// first from the raw list would let through a Host or token Fastify refuses.
test('the header the path reads is request.headers’ value, whether node keeps the first or joins repeats', async (t) => {
  const defer = deferrer(t)
  const heads = [
    'Host: localhost\r\nHOST: evil.example\r\nAuthorization: Bearer a\r\nauthorization: Bearer b\r\n',
    'host: evil.example\r\nHost: localhost\r\nAUTHORIZATION:\r\nAuthorization: Bearer a\r\n',
    'Host:  localhost \t\r\nAuthorization: \tBearer a \r\n',
    'X-Host: evil.example\r\nHost: localhost\r\nX-Authorization: Bearer b\r\n',
  ]
  for (const joinDuplicateHeaders of [false, true]) {
    const seen: Array<[unknown, unknown]> = []
    const server = httpServer({ joinDuplicateHeaders }, (request, response) => {
      for (const name of ['host', 'authorization'] as const)
        seen.push([requestHeader(request, name), request.headers[name]])
      response.end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    defer(() => new Promise((resolve) => server.close(resolve)))
    const { port } = server.address() as { port: number }
    for (const head of heads) await rawGet(`http://127.0.0.1:${port}`, '/', head)
    assert.equal(seen.length, heads.length * 2)
    for (const [read, expected] of seen)
      assert.equal(read, expected, `joinDuplicateHeaders: ${joinDuplicateHeaders}`)
  }
})
