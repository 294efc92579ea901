// Safe by default (issue 12, item 7) and every edge answered in Strata's shape (item 5): only
// JSON types on POST /events (no CORS-simple types a page can send cross-site without a
// preflight), only the hosts the server was told about (DNS rebinding), bearer tokens that can
// actually be sent, any accepted key queryable, and router errors as { error: { code, message } }.
import assert from 'node:assert/strict'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { resolveHttpAuth } from '../../src/cli/security.ts'
import type { SinkRecord } from '../../src/ingest/ingest.ts'
import { defaultAllowedHosts, hostAllowed, parseAllowedHosts } from '../../src/serving/allowed-hosts.ts'
import { createApp, listen } from '../../src/serving/app.ts'
import { EVENT_CONTENT_TYPES } from '../../src/serving/errors.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { config, HOUR, installBatch, openStore, stateOf, viewNamed, W0, ZEROS } from './fixture.ts'

async function started(t: import('node:test').TestContext, allowedHosts?: string[]) {
  const defer = deferrer(t)
  const store = await openStore(t)
  const written: SinkRecord[] = []
  const sink = {
    async append(records: SinkRecord[]) {
      return records.map((r) => ({ partition: 0, offset: written.push(r) - 1 }))
    },
  }
  const app = await createApp({ config, store, sink, endOffsets: async () => ZEROS, allowedHosts })
  defer(() => app.close())
  const { url } = await listen(app, { port: 0 })
  return { url, written, store }
}

/** fetch() will not send another Host than the URL's: node:http will. */
function withHost(
  url: string,
  host: string,
  init: { method?: string; body?: string } = {},
): Promise<{ status: number; json: () => unknown }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      {
        method: init.method ?? 'GET',
        headers: { host, ...(init.body ? { 'content-type': 'application/json' } : {}) },
      },
      (response) => {
        let text = ''
        response.on('data', (chunk) => {
          text += chunk
        })
        response.on('end', () => resolve({ status: response.statusCode ?? 0, json: () => JSON.parse(text) }))
      },
    )
    request.on('error', reject)
    request.end(init.body)
  })
}

const event = JSON.stringify({ type: 'page_view', url: '/a', user: 'u1', ts: W0 })

test('POST /events refuses text/plain and form bodies (cross-site without preflight) with 415 and the accepted types', async (t) => {
  const { url, written } = await started(t)
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    const response = await fetch(`${url}/events`, {
      method: 'POST',
      headers: { 'content-type': type },
      body: event,
    })
    assert.equal(response.status, 415, type)
    const body = (await response.json()) as { error: { code: string; message: string } }
    assert.equal(body.error.code, 'STRATA_ERR_UNSUPPORTED_MEDIA_TYPE')
    assert.match(body.error.message, /application\/json/)
    // `curl -d` sends a form: the answer says what to send instead.
    for (const accepted of EVENT_CONTENT_TYPES) assert.ok(body.error.message.includes(accepted), accepted)
    assert.match(body.error.message, /content-type: application\/json/)
  }
  assert.equal(written.length, 0)
  for (const type of ['application/json', 'application/x-ndjson', 'application/json; charset=utf-8']) {
    const response = await fetch(`${url}/events`, {
      method: 'POST',
      headers: { 'content-type': type },
      body: event,
    })
    assert.equal(response.status, 202, type)
  }
  assert.equal(written.length, 3)
})

test('a Host the server was not told to answer to is refused (DNS rebinding): 403 with a code', async (t) => {
  const { url, written } = await started(t)
  const port = new URL(url).port
  for (const path of ['/views', '/metrics', '/health', '/']) {
    const refused = await withHost(`${url}${path}`, `attacker.example:${port}`)
    assert.equal(refused.status, 403, path)
    const body = refused.json() as { error: { code: string; message: string } }
    assert.equal(body.error.code, 'STRATA_ERR_HOST_NOT_ALLOWED')
    assert.match(body.error.message, /--allowed-hosts/)
  }
  const post = await withHost(`${url}/events`, 'attacker.example', { method: 'POST', body: event })
  assert.equal(post.status, 403)
  assert.equal(written.length, 0)
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
    assert.equal((await withHost(`${url}/views`, host)).status, 200, host)
  }
})

test('--allowed-hosts: names, .domain suffixes and * ', async (t) => {
  assert.deepEqual(parseAllowedHosts('a.example, .corp.example,::1'), ['a.example', '.corp.example', '[::1]'])
  const allowed = parseAllowedHosts('a.example,.corp.example')
  assert.equal(hostAllowed('a.example:8080', allowed), true)
  assert.equal(hostAllowed('x.corp.example', allowed), true)
  assert.equal(hostAllowed('corp.example', allowed), true)
  assert.equal(hostAllowed('evilcorp.example', allowed), false)
  assert.equal(hostAllowed('b.example', allowed), false)
  assert.equal(hostAllowed('[::1]:80', ['[::1]']), true)
  assert.equal(hostAllowed('anything', ['*']), true)
  assert.ok(defaultAllowedHosts('10.1.2.3').includes('10.1.2.3'))
  assert.ok(defaultAllowedHosts('0.0.0.0').includes('127.0.0.1'))
  const { url } = await started(t, ['strata.internal'])
  assert.equal((await withHost(`${url}/views`, 'strata.internal:9')).status, 200)
  assert.equal((await fetch(`${url}/views`)).status, 403)
})

test('a token that cannot be sent as a bearer token is refused at start, with the field', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-token-'))
  for (const token of ['with a space inside it 123', 'tökenwithumlaut0123456', 'semi;colon-0123456789']) {
    const file = join(dir, 'token')
    await writeFile(file, `${token}\n`)
    assert.throws(
      () => resolveHttpAuth({ tokenFile: file }, {}),
      (error: { code: string; field: string }) =>
        error.code === 'STRATA_ERR_INVALID_ARGUMENT' && error.field === 'token-file',
      token,
    )
    assert.throws(() => resolveHttpAuth({}, { STRATA_TOKEN: token }), /letters, digits/)
  }
  assert.equal(
    resolveHttpAuth({}, { STRATA_TOKEN: 'abcDEF0123456789-._~+/==' })?.token,
    'abcDEF0123456789-._~+/==',
  )
})

test("a key of 1,500 characters is queried like any other (not cut at the router's 100)", async (t) => {
  const { url, store } = await started(t)
  const view = viewNamed('pageviews_by_url')
  const key = `/${'k'.repeat(1499)}`
  await installBatch(store, view, [1, 0, 0, 0, 0, 0], [{ key, window: W0, state: stateOf(view, [{}]) }])
  const response = await fetch(`${url}/views/pageviews_by_url/${encodeURIComponent(key)}?to=${W0 + HOUR}`)
  assert.equal(response.status, 200)
  const body = (await response.json()) as { key: string; windows: Array<{ value: number }> }
  assert.equal(body.key, key)
  assert.equal(body.windows[0]?.value, 1)
})

test("malformed URLs, unknown routes and over-long parameters answer in Strata's error shape", async (t) => {
  const { url } = await started(t)
  for (const [path, status] of [
    ['/views/pageviews_by_url/%E0%A4%A', 400],
    ['/views/%zz/a', 400],
    ['/nope', 404],
    ['/views/pageviews_by_url', 404],
    [`/views/pageviews_by_url/${'x'.repeat(10_000)}`, 400],
    [`/views/pageviews_by_url/${'x'.repeat(20_000)}`, 431],
  ] as const) {
    const response = await fetch(`${url}${path}`)
    assert.equal(response.status, status, path.slice(0, 60))
    const body = (await response.json()) as { error?: { code: string; message: string }; code?: string }
    assert.ok(body.error, `${path.slice(0, 60)}: ${JSON.stringify(body).slice(0, 200)}`)
    assert.match(body.error.code, /^STRATA_ERR_/)
    assert.equal(typeof body.error.message, 'string')
    assert.equal(JSON.stringify(body).includes('FST_ERR'), false)
  }
})
