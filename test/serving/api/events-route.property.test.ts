// Issue 7, bad input tried at scale on the HTTP edge: fast-check drives POST /events of the real
// Fastify app, over a real port, with malformed bodies of every class the validator knows. Every
// one is answered 4xx with { error: { code, message, line? } }, never 5xx; NDJSON errors name the
// bad line; nothing of a rejected batch reaches the sink; the server keeps answering. Valid
// batches are written in full and in order.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { ErrorCodes } from '../../../src/core/errors.ts'
import { createIngest, type SinkRecord } from '../../../src/ingest/ingest.ts'
import { EVENT_CONTENT_TYPES } from '../../../src/serving/errors.ts'
import { createServer } from '../../../src/serving/server.ts'
import { badBatch, goodBatch } from '../../ingest/bad-input.ts'

const codes = new Set<string>(Object.values(ErrorCodes))
// STRATA_FUZZ_SCALE=50 multiplies every numRuns: the run at scale recorded in RELIABILITY.md.
const scale = Math.max(1, Number(process.env.STRATA_FUZZ_SCALE ?? 1) || 1)
const runs = (n: number) => n * scale
/** What was tried, per class and per answer, printed as test diagnostics (RELIABILITY.md's figures). */
function tally() {
  const counts = new Map<string, number>()
  return {
    add: (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1),
    text: () => [...counts].map(([key, n]) => `${key} ${n}`).join(', '),
  }
}
const MAX_EVENTS = 50
const BODY_LIMIT = 1024 * 1024

/** The app with a sink that records every append, so "nothing written" is observed, not assumed. */
async function start(t: { after: (fn: () => Promise<void>) => void }) {
  const appended: SinkRecord[] = []
  const sink = {
    async append(records: SinkRecord[]) {
      return records.map((record) => ({ partition: 0, offset: appended.push(record) - 1 }))
    },
  }
  // Small batch and body limits so that "too many events" and "body too large" are cheap to try;
  // the defaults are the same code with other numbers (one case below uses them).
  const ingest = createIngest({ sink, maxEvents: MAX_EVENTS })
  const app = await createServer({ ingest, bodyLimit: BODY_LIMIT })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.after(() => app.close())
  const { port } = app.server.address() as { port: number }
  const url = `http://127.0.0.1:${port}`
  const post = async (body: Buffer | string, contentType: string | null = 'application/x-ndjson') => {
    const res = await fetch(`${url}/events`, {
      method: 'POST',
      body,
      headers: contentType === null ? {} : { 'content-type': contentType },
    })
    return { status: res.status, json: (await res.json()) as any }
  }
  const alive = async () => assert.equal((await fetch(`${url}/health`)).status, 200)
  return { appended, post, alive }
}

function assertRejected(res: { status: number; json: any }, status?: number) {
  assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}: ${JSON.stringify(res.json)}`)
  if (status !== undefined) assert.equal(res.status, status, JSON.stringify(res.json))
  assert.ok(codes.has(res.json?.error?.code), `a known code: ${JSON.stringify(res.json)}`)
  assert.equal(typeof res.json.error.message, 'string')
}

test('POST /events: one bad line among good ones is a 4xx naming the code and line, and nothing is written', async (t) => {
  const { appended, post, alive } = await start(t)
  const tried = tally()
  await fc.assert(
    fc.asyncProperty(
      badBatch,
      fc.constantFrom('application/x-ndjson', 'application/json', 'application/ndjson'),
      async (batch, type) => {
        const before = appended.length
        const res = await post(batch.body, type)
        assertRejected(res, batch.bad.status)
        assert.equal(res.json.error.code, batch.bad.code, `${batch.bad.kind}: ${res.json.error.message}`)
        assert.equal(res.json.error.line, batch.line, `${batch.bad.kind}: ${res.json.error.message}`)
        assert.equal(appended.length, before, 'nothing of a rejected batch is written')
        await alive()
        tried.add(`${batch.bad.kind} → ${res.status}`)
      },
    ),
    { numRuns: runs(300) },
  )
  t.diagnostic(`bad lines tried: ${tried.text()}`)
})

test('POST /events: any bytes at all get a 202 or a 4xx with a code, never a 5xx', async (t) => {
  const { appended, post, alive } = await start(t)
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s)),
    fc
      .constantFrom('', ' ', '\n\n', '\r\n', '\uFEFF', '{', '}', '[]', '{}', 'null', '\u0000')
      .map((s) => Buffer.from(s)),
  )
  const answers = tally()
  await fc.assert(
    fc.asyncProperty(bytes, async (body) => {
      const before = appended.length
      const res = await post(body)
      if (res.status === 202) {
        assert.equal(appended.length - before, res.json.count)
      } else {
        assertRejected(res)
        assert.equal(appended.length, before)
      }
      await alive()
      answers.add(`${res.status} ${res.json?.error?.code ?? 'accepted'}`)
    }),
    { numRuns: runs(300) },
  )
  t.diagnostic(`arbitrary bodies answered: ${answers.text()}`)
})

test('POST /events: wrong or missing Content-Type is a 415 and nothing is written', async (t) => {
  const { appended, post, alive } = await start(t)
  await fc.assert(
    fc.asyncProperty(
      goodBatch,
      fc.constantFrom(
        null,
        'application/xml',
        'text/html',
        'application/octet-stream',
        'multipart/form-data; boundary=x',
        'image/png',
      ),
      async ({ body }, type) => {
        const res = await post(body, type)
        assertRejected(res, 415)
        assert.equal(res.json.error.code, ErrorCodes.UNSUPPORTED_MEDIA_TYPE)
        // Whatever was sent (or nothing), the answer names the types POST /events takes.
        for (const accepted of EVENT_CONTENT_TYPES)
          assert.ok(res.json.error.message.includes(accepted), accepted)
        assert.equal(appended.length, 0)
        await alive()
      },
    ),
    { numRuns: runs(50) },
  )
})

test('POST /events: empty bodies, huge batches and oversized bodies are 4xx and nothing is written', async (t) => {
  const { appended, post, alive } = await start(t)
  const line = JSON.stringify({ type: 'page_view', url: '/a', user: 'u', ts: 1764000000000 })
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc
          .constantFrom('', '\n', ' \r\n \n', '\uFEFF')
          .map((body) => ({ body, code: ErrorCodes.EMPTY_BATCH, status: 400 })),
        fc.integer({ min: MAX_EVENTS + 1, max: MAX_EVENTS * 40 }).map((n) => ({
          body: Array(n).fill(line).join('\n'),
          code: ErrorCodes.BATCH_TOO_LARGE,
          status: 413,
        })),
        fc.integer({ min: 1, max: 64 * 1024 }).map((extra) => ({
          body: `${line}\n`.repeat(Math.ceil((BODY_LIMIT + extra) / (line.length + 1))),
          code: ErrorCodes.BATCH_TOO_LARGE,
          status: 413,
        })),
      ),
      async ({ body, code, status }) => {
        const res = await post(body)
        assertRejected(res, status)
        assert.equal(res.json.error.code, code, res.json.error.message)
        assert.equal(appended.length, 0)
        await alive()
      },
    ),
    { numRuns: runs(40) },
  )
})

test('POST /events with the default limits: 100 001 events or a body over 16 MiB are 413, nothing written', async (t) => {
  const appended: SinkRecord[] = []
  const app = await createServer({
    ingest: createIngest({
      sink: { append: async (r) => r.map(() => ({ partition: 0, offset: appended.push(...r) })) },
    }),
  })
  t.after(() => app.close())
  const line = JSON.stringify({ url: '/a', ts: 1764000000000 })
  for (const body of [
    Array(100_001).fill(line).join('\n'),
    `{"ts":1,"pad":"${'x'.repeat(16 * 1024 * 1024)}"}`,
  ]) {
    const res = await app.inject({
      method: 'POST',
      url: '/events',
      payload: body,
      headers: { 'content-type': 'application/x-ndjson' },
    })
    assert.equal(res.statusCode, 413, res.body)
    assert.equal(res.json().error.code, ErrorCodes.BATCH_TOO_LARGE)
  }
  assert.equal(appended.length, 0)
})

test('POST /events: a valid batch is written in full and in order, with one position per event', async (t) => {
  const { appended, post } = await start(t)
  await fc.assert(
    fc.asyncProperty(goodBatch, async ({ body, events }) => {
      const before = appended.length
      const res = await post(body)
      assert.equal(res.status, 202, JSON.stringify(res.json))
      assert.equal(res.json.count, events.length)
      assert.deepEqual(
        res.json.records.map((r: { offset: number }) => r.offset),
        events.map((_, i) => before + i),
      )
      assert.deepEqual(
        appended.slice(before).map((r) => JSON.parse(r.value.toString())),
        events,
      )
    }),
    { numRuns: runs(200) },
  )
})
