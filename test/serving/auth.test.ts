// The HTTP token: which routes need it, with and without --protect-queries, on a real port.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import type { SinkRecord } from '../../src/ingest/ingest.ts'
import { createApp, listen } from '../../src/serving/app.ts'
import { bearerToken, routeClass, tokenDigest, tokenMatches } from '../../src/serving/auth.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { config, mergedScenario, openStore } from './fixture.ts'

const TOKEN = 'test-token-0123456789abcdef'

async function started(t: import('node:test').TestContext, protectQueries: boolean) {
  const defer = deferrer(t)
  const store = await openStore(t)
  await mergedScenario(store)
  const written: SinkRecord[] = []
  const sink = {
    async append(records: SinkRecord[]) {
      return records.map((r) => ({ partition: 0, offset: written.push(r) - 1 }))
    },
  }
  const app = await createApp({
    config,
    store,
    sink,
    endOffsets: async () => [15, 6, 0, 0, 0, 0],
    auth: { token: TOKEN, protectQueries },
  })
  defer(() => app.close())
  const { url } = await listen(app, { port: 0 })
  return { url, written }
}

const event = JSON.stringify({ type: 'page_view', url: '/a', user: 'u1', ts: '2026-01-01T00:00:00Z' })

interface Call {
  name: string
  method: 'GET' | 'POST'
  path: string
  ok: number
}
const ingestAndAdmin: Call[] = [
  { name: 'POST /events', method: 'POST', path: '/events', ok: 202 },
  { name: 'GET /metrics', method: 'GET', path: '/metrics', ok: 200 },
]
const queries: Call[] = [
  { name: 'GET /views', method: 'GET', path: '/views', ok: 200 },
  { name: 'GET /views/:view/:key', method: 'GET', path: '/views/pageviews_by_url/%2Fa', ok: 200 },
  { name: 'GET /views/:view/top', method: 'GET', path: '/views/pageviews_by_url/top?limit=3', ok: 200 },
  { name: 'GET /dashboard/keys/:view', method: 'GET', path: '/dashboard/keys/top_urls', ok: 200 },
]

async function call(url: string, c: Call, token?: string): Promise<Response> {
  const headers: Record<string, string> = {}
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  if (c.method === 'POST') headers['content-type'] = 'application/json'
  const res = await fetch(`${url}${c.path}`, {
    method: c.method,
    headers,
    ...(c.method === 'POST' ? { body: event } : {}),
  })
  return res
}

async function assertRefused(res: Response, what: string) {
  assert.equal(res.status, 401, what)
  assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="strata"', what)
  const body = (await res.json()) as { error: { code: string; message: string } }
  assert.equal(body.error.code, 'STRATA_ERR_UNAUTHORIZED', what)
  assert.ok(!body.error.message.includes(TOKEN), 'the token is not echoed')
}

test('ingest and admin routes need the token; queries stay open without --protect-queries', async (t) => {
  const { url, written } = await started(t, false)
  for (const c of ingestAndAdmin) {
    await assertRefused(await call(url, c), `${c.name} without a token`)
    await assertRefused(await call(url, c, `${TOKEN}x`), `${c.name} with a wrong token`)
    await assertRefused(await call(url, c, TOKEN.slice(0, -1)), `${c.name} with a prefix of the token`)
    const res = await call(url, c, TOKEN)
    assert.equal(res.status, c.ok, `${c.name} with the token: ${await res.text()}`)
  }
  assert.equal(written.length, 1, 'only the authorized POST was written')
  for (const c of queries) {
    const res = await call(url, c)
    assert.equal(res.status, c.ok, `${c.name} is open: ${await res.text()}`)
  }
  // Basic auth carrying the token is not a bearer token.
  const basic = await fetch(`${url}/metrics`, {
    headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
  })
  assert.equal(basic.status, 401)
})

test('with --protect-queries every query route needs the token too', async (t) => {
  const { url } = await started(t, true)
  for (const c of [...ingestAndAdmin, ...queries]) {
    await assertRefused(await call(url, c), `${c.name} without a token`)
    await assertRefused(await call(url, c, 'not-the-token-at-all-000000'), `${c.name} with a wrong token`)
    const res = await call(url, c, TOKEN)
    assert.equal(res.status, c.ok, `${c.name} with the token: ${await res.text()}`)
  }
  const stream = await fetch(`${url}/dashboard/stream`)
  await assertRefused(stream, 'the dashboard stream without a token')
})

test('/health, the dashboard page and its assets stay open for probes and browsers', async (t) => {
  const { url } = await started(t, true)
  for (const path of ['/health', '/']) {
    const res = await fetch(`${url}${path}`)
    assert.equal(res.status, 200, path)
    await res.arrayBuffer()
  }
  const page = await (await fetch(`${url}/`)).text()
  const script = /src="(\/assets\/[^"]+\.js)"/.exec(page)?.[1]
  assert.ok(script, 'the page loads a script from /assets')
  assert.equal((await fetch(`${url}${script}`)).status, 200)
})

test('tokens are compared through SHA-256 digests: equal length whatever the input', () => {
  assert.equal(tokenMatches(TOKEN, TOKEN), true)
  assert.equal(tokenMatches(TOKEN, `${TOKEN} `), false)
  assert.equal(tokenMatches(TOKEN, ''), false)
  assert.equal(tokenMatches(TOKEN, undefined), false)
  assert.equal(tokenMatches(TOKEN, 'x'.repeat(10_000)), false, 'a longer input does not throw')
  // What timingSafeEqual compares: two 32-byte digests, so a length check never short-cuts it.
  for (const input of ['', 'a', TOKEN, 'x'.repeat(10_000)]) {
    assert.equal(tokenDigest(input).length, 32, `digest of a ${input.length}-character input`)
    assert.deepEqual(tokenDigest(input), createHash('sha256').update(input).digest())
  }
})

test('bearerToken accepts only the Bearer scheme, case-insensitively', () => {
  assert.equal(bearerToken(`Bearer ${TOKEN}`), TOKEN)
  assert.equal(bearerToken(`bearer ${TOKEN}`), TOKEN)
  assert.equal(bearerToken(`Bearer`), undefined)
  assert.equal(bearerToken(`Bearer a b`), undefined)
  assert.equal(bearerToken(`Token ${TOKEN}`), undefined)
  assert.equal(bearerToken(undefined), undefined)
})

test('route classes: ingest, admin, query, open', () => {
  assert.equal(routeClass('POST', '/events'), 'ingest')
  assert.equal(routeClass('GET', '/metrics'), 'admin')
  assert.equal(routeClass('GET', '/views/:view/:key'), 'query')
  assert.equal(routeClass('GET', '/dashboard/stream'), 'query')
  assert.equal(routeClass('GET', '/health'), 'open')
  assert.equal(routeClass('GET', '/assets/:file'), 'open')
  assert.equal(routeClass('GET', undefined), 'open')
})
