// The serving layer answers a failure by its code (core/errors.ts's table) and keeps the
// message a StrataError carries, except the store's own detail when the store is unreachable.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import Fastify, { errorCodes, type InjectOptions } from 'fastify'
import { type ErrorCode, ErrorCodes, errorTable, StrataError, statusOf } from '../../src/core/errors.ts'
import {
  answerOf,
  CONDITION_LOG_INTERVAL_MS,
  fastifyCodes,
  installErrorHandler,
} from '../../src/serving/errors.ts'

test('a StrataError is answered with the status of its code and its own message', () => {
  for (const code of Object.values(ErrorCodes) as ErrorCode[]) {
    if (code === ErrorCodes.STORE) continue
    const answer = answerOf(new StrataError(code, `the real message of ${code}`))
    assert.equal(answer.status, statusOf(code), code)
    assert.deepEqual(answer.error.toJSON(), { error: { code, message: `the real message of ${code}` } })
  }
})

test('a ranking that kept meeting batch flips keeps its message, 503 with Retry-After', () => {
  const message = 'the batch version of pageviews changed 3 times while ranking its keys; retry'
  const answer = answerOf(new StrataError(ErrorCodes.STORE_UNAVAILABLE, message, { retriable: true }))
  assert.equal(answer.status, 503)
  assert.equal(answer.error.message, message)
  assert.equal(answer.error.code, ErrorCodes.STORE_UNAVAILABLE)
  assert.ok((answer.retryAfterS ?? 0) > 0)
})

test("a store that cannot be reached is STORE_UNAVAILABLE, without the store's detail", () => {
  const down = new StrataError(
    ErrorCodes.STORE,
    'PostgreSQL store (postgres://strata:***@db.internal/prod, schema s): reading failed: connect ECONNREFUSED',
    { retriable: true },
  )
  const answer = answerOf(down)
  assert.equal(answer.status, 503)
  assert.equal(answer.error.code, ErrorCodes.STORE_UNAVAILABLE)
  assert.doesNotMatch(answer.error.message, /postgres|db\.internal|ECONNREFUSED/)
  assert.ok((answer.retryAfterS ?? 0) > 0)
  // Not retriable (a login refused, a permission revoked): 500 with the code, and the store's
  // place and the driver's words only in the server log.
  const broken = answerOf(
    new StrataError(
      ErrorCodes.STORE,
      'PostgreSQL store (postgres://strata@db.internal:5432/prod, schema s): reading failed: role "strata" is not permitted to log in',
    ),
  )
  assert.equal(broken.status, 500)
  assert.equal(broken.error.code, ErrorCodes.STORE)
  assert.doesNotMatch(broken.error.message, /postgres|db\.internal|strata|schema/)
  assert.match(broken.error.message, /server log/)
  assert.equal(broken.retryAfterS, undefined)
})

test('no broker answering is 503 with Retry-After: the same request succeeds later', () => {
  const answer = answerOf(
    new StrataError(ErrorCodes.KAFKA_UNAVAILABLE, 'connect ECONNREFUSED 127.0.0.1:9092'),
  )
  assert.equal(answer.status, 503)
  assert.ok((answer.retryAfterS ?? 0) > 0)
  assert.equal(answerOf(new StrataError(ErrorCodes.KAFKA, 'a broker refused the request')).status, 500)
})

test("Fastify's codes map to ours with the status Fastify's factory gives them", () => {
  const factories = errorCodes as unknown as Record<string, new () => { statusCode: number }>
  for (const [fst, code] of Object.entries(fastifyCodes)) {
    assert.ok(factories[fst], `${fst} is no Fastify error`)
    assert.equal(statusOf(code), new factories[fst]!().statusCode, `${fst} → ${code}`)
  }
})

test('the handler answers every code with its status, body and message', async (t) => {
  const app = Fastify()
  t.after(() => app.close())
  installErrorHandler(app, () => undefined)
  app.get('/fail/:name', async (request) => {
    const name = (request.params as { name: keyof typeof errorTable }).name
    throw new StrataError(ErrorCodes[name], `why ${name} failed`, { field: 'f' })
  })
  app.get('/bug', async () => {
    throw new Error('postgres://u:secret@h/db broke')
  })
  for (const [name, [code, status]] of Object.entries(errorTable)) {
    if (code === ErrorCodes.STORE) continue
    const res = await app.inject(`/fail/${name}`)
    assert.equal(res.statusCode, status, code)
    assert.deepEqual(res.json(), { error: { code, message: `why ${name} failed`, field: 'f' } })
  }
  const none = await app.inject('/nope')
  assert.equal(none.statusCode, 404)
  assert.equal(none.json().error.code, ErrorCodes.NOT_FOUND)
  const bug = await app.inject('/bug')
  assert.equal(bug.statusCode, 500)
  assert.deepEqual(bug.json(), {
    error: { code: ErrorCodes.INTERNAL, message: 'internal error; see the server log' },
  })
})

test('a schema refusal names the query parameter or body property as field, not only in its message', async (t) => {
  // Met from a user's seat: ?limit=-1 and a body without key were answered with the place only
  // inside the message ("querystring/limit must be >= 1").
  const app = Fastify({ ajv: { customOptions: { removeAdditional: false } } }) // as server.ts
  t.after(() => app.close())
  installErrorHandler(app, () => undefined)
  app.get(
    '/top',
    { schema: { querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1 } } } } },
    async () => ({}),
  )
  app.post(
    '/query',
    {
      schema: {
        body: {
          type: 'object',
          required: ['key'],
          additionalProperties: false,
          properties: {
            key: { type: 'string' },
            range: {
              type: 'object',
              required: ['to'],
              additionalProperties: false,
              properties: { from: { type: 'integer' }, to: { type: 'integer' } },
            },
          },
        },
      },
    },
    async () => ({}),
  )
  const cases: Array<[string | InjectOptions, string]> = [
    ['/top?limit=-1', 'limit'],
    ['/top?limit=abc', 'limit'],
    [{ method: 'POST', url: '/query', payload: {} }, 'key'],
    [{ method: 'POST', url: '/query', payload: { key: 'a', extra: 1 } }, 'extra'],
    [{ method: 'POST', url: '/query', payload: { key: 'a', range: { from: 'x', to: 1 } } }, 'range.from'],
    // A property missing or unknown inside an object is named by its path, as a wrong one is.
    [{ method: 'POST', url: '/query', payload: { key: 'a', range: { from: 1 } } }, 'range.to'],
    [{ method: 'POST', url: '/query', payload: { key: 'a', range: { to: 1, by: 1 } } }, 'range.by'],
  ]
  for (const [request, field] of cases) {
    const res = await app.inject(request)
    assert.equal(res.statusCode, 400, res.body)
    const { error } = res.json()
    assert.equal(error.code, ErrorCodes.INVALID_ARGUMENT)
    assert.equal(error.field, field, JSON.stringify(request))
  }
})

test('a 503/507 condition is logged once per interval with the count, a 500 every time', async (t) => {
  // Met from a user's seat: a full disk under 4 retrying clients wrote 30 000 error lines in 20 s.
  const app = Fastify()
  t.after(() => app.close())
  const lines: string[] = []
  let clock = 1_000_000
  installErrorHandler(
    app,
    (message) => lines.push(message),
    () => clock,
  )
  app.post('/events', async () => {
    throw new StrataError(ErrorCodes.DISK_FULL, 'no room on disk')
  })
  app.get('/bug', async () => {
    throw new Error('a bug')
  })
  for (let i = 0; i < 50; i++)
    assert.equal((await app.inject({ method: 'POST', url: '/events' })).statusCode, 507)
  for (let i = 0; i < 3; i++) assert.equal((await app.inject('/bug')).statusCode, 500)
  assert.deepEqual(lines, [
    'POST /events answered 507',
    'GET /bug answered 500',
    'GET /bug answered 500',
    'GET /bug answered 500',
  ])
  clock += CONDITION_LOG_INTERVAL_MS
  await app.inject({ method: 'POST', url: '/events' })
  assert.equal(lines.at(-1), 'POST /events answered 507 (and 49 more answered the same since the last line)')
})
