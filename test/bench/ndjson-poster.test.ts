// bench/lib/ndjson-poster.ts, the ingest bench's HTTP client: a POST counts only when the server
// answered 202 with a body that counts every event sent; anything else fails the bench run (a
// client that took any answer as success would measure a server that refuses as a fast one).
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { ndjsonPoster } from '../../bench/lib/ndjson-poster.ts'

/** A server that answers every POST with `answer(body)`; the bytes it received are kept. */
async function serve(
  answer: (body: Buffer) => { status: number; body: string },
): Promise<{ url: string; received: Buffer[]; server: Server }> {
  const received: Buffer[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      received.push(body)
      const { status, body: out } = answer(body)
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(out)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server }
}

const body = Buffer.from('{"ts":1,"a":"é"}\n{"ts":2}\n')

test('a 202 that counts every event: resolved, and the body arrived byte for byte', async () => {
  const { url, received, server } = await serve(() => ({
    status: 202,
    body: '{"count":2,"records":[{"partition":0,"offset":0},{"partition":0,"offset":1}]}',
  }))
  const poster = ndjsonPoster(url, '/events', 2)
  try {
    await Promise.all([poster.post(body, 2), poster.post(body, 2), poster.post(body, 2)])
    assert.equal(received.length, 3)
    for (const r of received) assert.deepEqual(r, body)
  } finally {
    poster.close()
    server.close()
  }
})

test('a 202 with another count, or any other status: rejected with the answer', async () => {
  const { url, server } = await serve((b) =>
    b.length > 20
      ? { status: 202, body: '{"count":1,"records":[{"partition":0,"offset":0}]}' }
      : { status: 400, body: '{"error":{"code":"STRATA_ERR_BAD_EVENT","line":1}}' },
  )
  const poster = ndjsonPoster(url, '/events', 1)
  try {
    await assert.rejects(poster.post(body, 2), /POST \/events 202: \{"count":1,/)
    await assert.rejects(poster.post(Buffer.from('{}\n'), 1), /POST \/events 400: .*STRATA_ERR_BAD_EVENT/)
  } finally {
    poster.close()
    server.close()
  }
})

test('an answer split inside its head is read whole before its count is checked', async () => {
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      res.writeHead(202, { 'content-type': 'application/json' })
      res.write('{"cou')
      setTimeout(
        () => res.end('nt":2,"records":[{"partition":0,"offset":0},{"partition":0,"offset":1}]}'),
        20,
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const poster = ndjsonPoster(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, '/events', 1)
  try {
    await poster.post(body, 2)
    await assert.rejects(poster.post(body, 3), /POST \/events 202/)
  } finally {
    poster.close()
    server.close()
  }
})
