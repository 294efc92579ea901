// Unit test of the HTTP edge with an in-memory sink (the Kafka path is covered by
// test/ingest/ingest.integration.test.ts on a real broker).
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { createIngest, type SinkRecord } from '../../../src/ingest/ingest.ts'
import { acceptedJsonBytes } from '../../../src/serving/api/events-route.ts'
import { createServer } from '../../../src/serving/server.ts'

function memorySink(partitions = 3) {
  const written: SinkRecord[][] = Array.from({ length: partitions }, () => [])
  let next = 0
  return {
    written,
    async append(records: SinkRecord[]) {
      return records.map((record) => {
        const partition = next++ % partitions
        written[partition].push(record)
        return { partition, offset: written[partition].length - 1 }
      })
    },
  }
}

async function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const sink = memorySink()
  const app = await createServer({ ingest: createIngest({ sink }), bodyLimit: 4096 })
  t.after(() => app.close())
  const total = () => sink.written.flat().length
  return { app, sink, total }
}

const ts = 1764000000000

test('POST /events with NDJSON answers 202 with every partition and offset', async (t) => {
  const { app, total } = await setup(t)
  const body = ['/a', '/b', '/c', '/d']
    .map((url) => JSON.stringify({ type: 'page_view', url, ts }))
    .join('\n')
  const res = await app.inject({
    method: 'POST',
    url: '/events',
    payload: body,
    headers: { 'content-type': 'application/x-ndjson' },
  })
  assert.equal(res.statusCode, 202)
  const json = res.json()
  assert.equal(json.count, 4)
  assert.deepEqual(json.records, [
    { partition: 0, offset: 0 },
    { partition: 1, offset: 0 },
    { partition: 2, offset: 0 },
    { partition: 0, offset: 1 },
  ])
  assert.equal(total(), 4)
})

test('POST /events with one JSON object', async (t) => {
  const { app, sink } = await setup(t)
  const res = await app.inject({ method: 'POST', url: '/events', payload: { url: '/a', ts } })
  assert.equal(res.statusCode, 202)
  assert.equal(res.json().count, 1)
  assert.deepEqual(JSON.parse(sink.written[0][0].value.toString()), { url: '/a', ts })
})

test('a bad line gets 400 with code and line, and nothing is written', async (t) => {
  const { app, total } = await setup(t)
  const body = [JSON.stringify({ ts }), '{"ts": "soon"}', JSON.stringify({ ts })].join('\n')
  const res = await app.inject({
    method: 'POST',
    url: '/events',
    payload: body,
    headers: { 'content-type': 'application/x-ndjson' },
  })
  assert.equal(res.statusCode, 400)
  assert.equal(res.json().error.code, 'STRATA_ERR_INVALID_EVENT_TIME')
  assert.equal(res.json().error.line, 2)
  assert.equal(total(), 0)
})

test('an oversized body gets 413 with a code', async (t) => {
  const { app, total } = await setup(t)
  const body = JSON.stringify({ ts, pad: 'x'.repeat(5000) })
  const res = await app.inject({
    method: 'POST',
    url: '/events',
    payload: body,
    headers: { 'content-type': 'application/json' },
  })
  assert.equal(res.statusCode, 413)
  assert.equal(res.json().error.code, 'STRATA_ERR_BATCH_TOO_LARGE')
  assert.equal(total(), 0)
})

test('an unknown content type gets 415 with a code', async (t) => {
  const { app } = await setup(t)
  const res = await app.inject({
    method: 'POST',
    url: '/events',
    payload: 'a=b',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })
  assert.equal(res.statusCode, 415)
  assert.equal(res.json().error.code, 'STRATA_ERR_UNSUPPORTED_MEDIA_TYPE')
})

test('a sink failure is a 500 that does not leak its message', async (t) => {
  const app = await createServer({
    ingest: createIngest({
      sink: {
        async append() {
          throw new Error('connect ECONNREFUSED secret://user:pass@host')
        },
      },
    }),
  })
  t.after(() => app.close())
  const res = await app.inject({ method: 'POST', url: '/events', payload: { ts } })
  assert.equal(res.statusCode, 500)
  assert.equal(res.json().error.code, 'STRATA_ERR_INTERNAL')
  assert.doesNotMatch(res.body, /secret/)
})

test('a body sent a byte at a time (a BOM, CR LF, a 4-byte character split) writes the bytes of each line', async (t) => {
  const sink = memorySink(1)
  const app = await createServer({ ingest: createIngest({ sink, keyField: 'k' }) })
  t.after(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const lines = [`{"ts":${ts},"k":"é😀"}`, `{ "ts" : "2026-12-06", "k":7, "v":12345678901234567890 }`]
  const body = Buffer.from(`\ufeff${lines[0]}\r\n\r\n${lines[1]}\n`)
  const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      {
        port,
        host: '127.0.0.1',
        method: 'POST',
        path: '/events',
        headers: { 'content-type': 'application/x-ndjson; charset=utf-8', 'transfer-encoding': 'chunked' },
      },
      (res) => {
        let text = ''
        res.on('data', (chunk) => {
          text += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
      },
    )
    req.on('error', reject)
    let i = 0
    const next = (): void => {
      if (i >= body.length) {
        req.end()
        return
      }
      req.write(body.subarray(i, ++i))
      setImmediate(next)
    }
    next()
  })
  assert.equal(answer.status, 202, answer.text)
  assert.deepEqual(JSON.parse(answer.text), {
    count: 2,
    records: [
      { partition: 0, offset: 0 },
      { partition: 0, offset: 1 },
    ],
  })
  assert.deepEqual(
    sink.written[0]!.map((r) => [r.key, r.value.toString()]),
    [
      ['é😀', lines[0]],
      ['7', lines[1]],
    ],
  )
})

test('POST /events refuses a compressed body with 415 naming content-encoding, and writes nothing', async (t) => {
  const { app, total } = await setup(t)
  const event = JSON.stringify({ url: '/a', ts })
  // Before: a gzip body was refused as "line 1 is not valid UTF-8", and a plain body labelled
  // gzip was written as if the header were not there.
  for (const [encoding, payload] of [
    ['gzip', gzipSync(event)],
    ['gzip', Buffer.from(event)],
    ['br, gzip', Buffer.from(event)],
  ] as const) {
    const res = await app.inject({
      method: 'POST',
      url: '/events',
      payload,
      headers: { 'content-type': 'application/json', 'content-encoding': encoding },
    })
    assert.equal(res.statusCode, 415, res.body)
    const { error } = res.json()
    assert.equal(error.code, 'STRATA_ERR_UNSUPPORTED_MEDIA_TYPE')
    assert.equal(error.field, 'content-encoding')
    assert.match(error.message, /uncompressed body: content-encoding "[a-z, ]+" is not supported/)
  }
  assert.equal(total(), 0)
  const plain = await app.inject({
    method: 'POST',
    url: '/events',
    payload: event,
    headers: { 'content-type': 'application/json', 'content-encoding': 'identity' },
  })
  assert.equal(plain.statusCode, 202, plain.body)
})

test('POST /events refuses a body declared in a charset other than UTF-8 with 415 naming content-type, and writes nothing', async (t) => {
  // Session 20, from the user's seat: `charset=iso-8859-1` was read as UTF-8 and answered 202;
  // Latin-1 'Ã©' (bytes C3 A9) was written as 'é'.
  const { app, total } = await setup(t)
  const latin1 = Buffer.from(JSON.stringify({ url: '/cafÃ©', ts }), 'latin1')
  const post = (type: string, payload: string | Buffer) =>
    app.inject({ method: 'POST', url: '/events', payload, headers: { 'content-type': type } })
  for (const type of [
    'application/json; charset=iso-8859-1',
    'application/x-ndjson;charset="windows-1252"',
    'application/json; charset=UTF-16',
  ]) {
    const res = await post(type, latin1)
    assert.equal(res.statusCode, 415, `${type}: ${res.body}`)
    const { error } = res.json()
    assert.equal(error.code, 'STRATA_ERR_UNSUPPORTED_MEDIA_TYPE')
    assert.equal(error.field, 'content-type')
    assert.match(error.message, /reads UTF-8: charset "[^"]+" is not supported/)
  }
  assert.equal(total(), 0)
  for (const type of [
    'application/json; charset=utf-8',
    'application/json; charset="UTF-8"',
    'application/json;charset=us-ascii',
  ]) {
    const res = await post(type, JSON.stringify({ url: '/a', ts }))
    assert.equal(res.statusCode, 202, `${type}: ${res.body}`)
  }
  assert.equal(total(), 3)
})

test('the 202 is JSON.stringify of every position the sink gave, in order, whatever their size', async (t) => {
  // A sink answering positions of every size (offsets past 2^32 up to 2^53 - 1, partitions up to
  // 2^31 - 1): the answer is written as bytes (acceptedJsonBytes), and an acknowledged event
  // whose position were written wrong, left out or repeated would be lost or counted twice by
  // the client that reads it.
  const positions: Array<{ partition: number; offset: number }> = []
  const sink = {
    async append(records: SinkRecord[]) {
      return records.map((_, i) => {
        const position = {
          partition: [0, 9, 10, 2 ** 31 - 1][i % 4]!,
          offset: [0, 9, 99, 100, 2 ** 32 + i, Number.MAX_SAFE_INTEGER - i][i % 6]!,
        }
        positions.push(position)
        return position
      })
    },
  }
  const app = await createServer({ ingest: createIngest({ sink }), bodyLimit: 1024 * 1024 })
  t.after(() => app.close())
  for (const count of [1, 7, 1000]) {
    positions.length = 0
    const body = Array.from({ length: count }, (_, i) => JSON.stringify({ url: `/p${i}`, ts })).join('\n')
    const res = await app.inject({
      method: 'POST',
      url: '/events',
      payload: body,
      headers: { 'content-type': 'application/x-ndjson' },
    })
    assert.equal(res.statusCode, 202)
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8')
    assert.equal(res.body, JSON.stringify({ count, records: positions }))
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body))
  }
})

test('acceptedJsonBytes is JSON.stringify of its result for any numbers, the longest String(n) included', () => {
  // The buffer is sized from MAX_NUMBER_BYTES a number: a bound one byte short threw (or cut
  // the answer) once enough positions had 25-character numbers (-0.0000012345678901234567).
  const longest = -0.0000012345678901234567
  for (const n of [longest, -Number.MAX_VALUE, 2 ** 53, -0, Number.MAX_SAFE_INTEGER]) {
    const result = { count: 1000, records: Array.from({ length: 1000 }, () => ({ partition: n, offset: n })) }
    assert.equal(acceptedJsonBytes(result).toString(), JSON.stringify(result))
  }
})
