// HTTP limits on a real port: a body over the limit is 413 with our code; a client that sends
// its headers and a part of its body, then stalls, is answered 408 and disconnected.
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { test } from 'node:test'
import { createIngest } from '../../src/ingest/ingest.ts'
import { listen } from '../../src/serving/app.ts'
import { resolveLimits } from '../../src/serving/limits.ts'
import { createServer } from '../../src/serving/server.ts'

const sink = { append: async (records: unknown[]) => records.map((_, offset) => ({ partition: 0, offset })) }

async function serve(t: import('node:test').TestContext, limits: Parameters<typeof resolveLimits>[0]) {
  const app = await createServer({ ingest: createIngest({ sink, timeField: 'ts' }), limits })
  t.after(() => app.close())
  const { url } = await listen(app, { port: 0 })
  return { url, port: Number(new URL(url).port) }
}

test('a body over the configured limit is 413 STRATA_ERR_BATCH_TOO_LARGE', async (t) => {
  const { url } = await serve(t, { bodyLimit: 1024 })
  const line = JSON.stringify({ type: 'page_view', url: '/a', ts: 1 })
  const small = await fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: line,
  })
  assert.equal(small.status, 202, await small.text())
  const big = await fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: `${line}\n`.repeat(100),
  })
  assert.equal(big.status, 413)
  const { error } = (await big.json()) as { error: { code: string; message: string } }
  assert.equal(error.code, 'STRATA_ERR_BATCH_TOO_LARGE')
  // The refusal names the limit and the flag that sets it (Fastify's own words named neither).
  assert.match(error.message, /larger than the limit of 1024 bytes \(the server's --body-limit\)/)
})

test('a client that stalls mid-request gets 408 STRATA_ERR_REQUEST_TIMEOUT and its connection closed', async (t) => {
  const { port } = await serve(t, { requestTimeoutMs: 300, headersTimeoutMs: 200 })
  const socket = connect({ host: '127.0.0.1', port })
  t.after(() => socket.destroy())
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  // Headers promise 1000 bytes; 10 arrive, then nothing.
  socket.write(
    'POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"ts":1,"a',
  )
  let received = ''
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')))
  await new Promise<void>((resolve) => socket.once('close', () => resolve()))
  assert.match(received, /^HTTP\/1\.1 408 /)
  assert.match(received, /"code":"STRATA_ERR_REQUEST_TIMEOUT"/)
})

test('a client that never finishes its headers is disconnected too', async (t) => {
  const { port } = await serve(t, { requestTimeoutMs: 300, headersTimeoutMs: 200 })
  const socket = connect({ host: '127.0.0.1', port })
  t.after(() => socket.destroy())
  socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n')
  let received = ''
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')))
  await new Promise<void>((resolve) => socket.once('close', () => resolve()))
  assert.match(received, /^HTTP\/1\.1 408 /)
})

test('limits: defaults, and the headers timeout never above the request timeout', () => {
  const defaults = resolveLimits({})
  assert.equal(defaults.bodyLimit, 16 * 1024 * 1024)
  assert.equal(defaults.requestTimeoutMs, 30_000)
  assert.equal(resolveLimits({ requestTimeoutMs: 1000 }).headersTimeoutMs, 1000)
  assert.equal(resolveLimits({ bodyLimit: undefined }).bodyLimit, 16 * 1024 * 1024)
})
