// The request log: one line per answered request (method, URL, status, response time) through the
// process's pino logger, and never the token, whether it came in a header or in a logged field.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import pino, { type Logger as Pino } from 'pino'
import { registerSecret } from '../../src/core/secrets.ts'
import { createLogger } from '../../src/runtime/logger.ts'
import { createApp, listen } from '../../src/serving/app.ts'
import { accessLogger, directLine } from '../../src/serving/request-log.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { config, mergedScenario, openStore } from './fixture.ts'

const TOKEN = 'request-log-token-0123456789'

test('one JSON line per request with method, url, status and time; no header, no token', async (t) => {
  const defer = deferrer(t)
  registerSecret(TOKEN)
  const store = await openStore(t)
  await mergedScenario(store)
  const lines: string[] = []
  const logger = createLogger('serve', (line) => lines.push(line))
  const app = await createApp({
    config,
    store,
    auth: { token: TOKEN, protectQueries: true },
    log: logger.pino!,
  })
  defer(() => app.close())
  const { url } = await listen(app, { port: 0 })
  const authorization = { authorization: `Bearer ${TOKEN}`, cookie: `session=${TOKEN}` }
  assert.equal((await fetch(`${url}/views/pageviews_by_url/%2Fa`, { headers: authorization })).status, 200)
  assert.equal((await fetch(`${url}/views/pageviews_by_url/%2Fa`)).status, 401)
  assert.equal((await fetch(`${url}/no-such-route`)).status, 404)
  // A token in the URL (free text, no path to redact) is scrubbed from the line all the same.
  assert.equal(
    (await fetch(`${url}/views/pageviews_by_url/%2Fa?token=${TOKEN}`, { headers: authorization })).status,
    400,
  )

  const requests = lines.map((line) => JSON.parse(line)).filter((entry) => entry.req !== undefined)
  assert.deepEqual(
    requests.map((r) => [r.req.method, r.req.url, r.res.statusCode]),
    [
      ['GET', '/views/pageviews_by_url/%2Fa', 200],
      ['GET', '/views/pageviews_by_url/%2Fa', 401],
      ['GET', '/no-such-route', 404],
      ['GET', '/views/pageviews_by_url/%2Fa?token=***', 400],
    ],
  )
  for (const r of requests) {
    assert.equal(r.level, 'info')
    assert.equal(typeof r.responseTime, 'number')
    assert.match(r.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'the date and time')
    assert.match(r.msg, /^GET \/\S+ \d{3} [\d.]+ ms$/)
    assert.equal(r.req.headers, undefined, 'no headers in the request log')
    assert.match(r.reqId, /^req-/, 'the request id')
  }
  for (const line of lines) assert.ok(!line.includes(TOKEN), line)
})

test("pino's redaction blanks authorization, cookies, passwords and tokens in logged fields", () => {
  const lines: string[] = []
  const logger = createLogger('test', (line) => lines.push(line))
  // A field value too short to register as a secret: only the redaction by path can hide it.
  logger.pino!.info(
    {
      req: { headers: { authorization: 'Bearer abc', cookie: 'sid=abc' } },
      store: { password: 'abc' },
      token: 'abc',
    },
    'a request logged whole',
  )
  logger.info('fields too', { sasl: { password: 'abc' } })
  const [whole, fields] = lines.map((line) => JSON.parse(line))
  assert.equal(whole.req.headers.authorization, '***')
  assert.equal(whole.req.headers.cookie, '***')
  assert.equal(whole.store.password, '***')
  assert.equal(whole.token, '***')
  assert.equal(fields.sasl.password, '***')
  for (const line of lines) assert.ok(!line.includes('abc'), line)
})

test('levels: lines below the level are not written; an error ends with its code, its stack only at debug', async () => {
  const { StrataError } = await import('../../src/core/errors.ts')
  const failure = new StrataError('STRATA_ERR_STORE', 'the store is down')
  const atInfo: string[] = []
  const info = createLogger('test', (line) => atInfo.push(line), { level: 'info' })
  info.debug('not written')
  info.error('commit failed', failure)
  assert.equal(atInfo.length, 1)
  const line = JSON.parse(atInfo[0]!)
  assert.equal(line.msg, 'commit failed: the store is down [STRATA_ERR_STORE]')
  assert.equal(line.err.code, 'STRATA_ERR_STORE')
  assert.equal(line.err.stack, undefined)
  const atDebug: string[] = []
  const debug = createLogger('test', (line) => atDebug.push(line), { level: 'debug' })
  debug.debug('written')
  debug.error('commit failed', failure)
  assert.equal(atDebug.length, 2)
  assert.match(JSON.parse(atDebug[1]!).err.stack, /^StrataError: the store is down\n\s+at /)
})

test('readable lines in a terminal: the ISO date and time, the level and the role', () => {
  const lines: string[] = []
  createLogger('speed', (line) => lines.push(line), { pretty: true }).info('running')
  assert.match(lines.join('\n'), /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] INFO: \[speed\] running$/)
})

// The access line is written without pino's walk over a fields object where that gives pino's
// own line (request-log.ts: directLine); this holds the two byte for byte, and a URL pino would
// escape (a quote, a backslash, a non-ASCII or a cut-off URL) still goes through pino.
test('the access line is the line pino writes for the same fields, byte for byte', () => {
  for (const pretty of [false, true]) {
    const lines: string[] = []
    const logger = createLogger('serve', (line) => lines.push(line), { pretty, level: 'info' })
    const line = accessLogger(logger.pino as never)
    const access = (logger.pino as unknown as Pino).child({}, { redact: { paths: [] } })
    // Both loggers the roles use take the direct line (pretty output is made from pino's JSON
    // line by the stream, runtime/logger.ts); one that differed would fall back to pino.
    assert.notEqual(directLine(access), undefined)
    const asked: Array<[string, string, string, number, number]> = [
      ['req-1', 'GET', '/views/pageviews_by_url/%2Fp%2F12', 200, 0.26],
      ['req-2', 'GET', '/views/pageviews_by_url/%25s%25d', 503, 1234.56],
      ['req-3', 'POST', '/events', 202, 0],
      ['req-4', 'GET', '/views/pageviews_by_url/a"b\\c', 200, 1],
      ['req-5', 'GET', '/views/pageviews_by_url/\u00e9t\u00e9', 200, 1],
      ['req-6', 'GET', `/views/pageviews_by_url/${'x'.repeat(300)}`, 200, 1],
    ]
    for (const [reqId, method, url, status, ms] of asked) {
      lines.length = 0
      line(reqId, method, url, status, ms)
      const shown = url.length > 200 ? `${url.slice(0, 200)}…` : url
      const responseTime = Math.round(ms * 10) / 10
      access.info(
        { reqId, req: { method, url: shown }, res: { statusCode: status }, responseTime },
        `${method} ${shown} ${status} ${responseTime} ms`,
      )
      assert.equal(lines.length, 2, url)
      // The time is the one field that may differ (a new millisecond between the two writes).
      const untimed = (l: string) => l.replace(/"time":"[^"]*"|"time":\d+|^\S+ \S+/, 'T')
      assert.equal(untimed(lines[0]!), untimed(lines[1]!), url)
      if (!pretty) assert.equal(JSON.parse(lines[0]!).req.url, shown)
    }
  }
})

test('a logger that changes lines outside pino’s JSON (a mixin, a log-method hook) keeps pino’s path', () => {
  const lines: string[] = []
  const stream = { write: (line: string) => lines.push(line) }
  const mixed = pino({ mixin: () => ({ mixed: true }) }, stream)
  const hooked = pino({ hooks: { logMethod: (args, method) => method.apply(mixed, args) } }, stream)
  for (const logger of [mixed, hooked]) assert.equal(directLine(logger.child({})), undefined)
  accessLogger(mixed as never)('req-1', 'GET', '/views/pageviews_by_url/%2Fa', 200, 1)
  assert.equal(JSON.parse(lines.at(-1)!).mixed, true, "the mixin's field is in the line")
})

// Log injection (review of session 15): the direct line writes a value between quotes as it is,
// so only text JSON writes as itself may take it (request-log.ts: PLAIN). A line break, a control
// character, DEL, a quote or a backslash in the URL, the method or the request id, and a status
// pino would write as null, each give one line that parses back to what was logged, equal to
// pino's own line for the same fields.
test('a value JSON escapes never reaches the line as it is: one line a request, parsed back to the value', () => {
  const lines: string[] = []
  const logger = createLogger('serve', (line) => lines.push(line), { level: 'info' })
  const line = accessLogger(logger.pino as never)
  const access = (logger.pino as unknown as Pino).child({}, { redact: { paths: [] } })
  const odd = ['\n', '\r', '\t', '\u0000', '\u001f', '\u007f', '"', '\\', '\u2028', '\ud800']
  const asked: Array<[string, string, string, number]> = []
  for (const c of odd) {
    asked.push(['req-1', 'GET', `/views/pageviews_by_url/a${c}{"level":"fatal"}`, 200])
    asked.push([`req${c}2`, 'GET', '/views/pageviews_by_url/a', 200])
    asked.push(['req-3', `GE${c}T`, '/views/pageviews_by_url/a', 200])
  }
  for (const status of [Number.NaN, Number.POSITIVE_INFINITY]) asked.push(['req-4', 'GET', '/', status])
  for (const [reqId, method, url, status] of asked) {
    lines.length = 0
    line(reqId, method, url, status, 1)
    access.info(
      { reqId, req: { method, url }, res: { statusCode: status }, responseTime: 1 },
      `${method} ${url} ${status} 1 ms`,
    )
    assert.equal(lines.length, 2)
    const what = JSON.stringify([reqId, method, url, status])
    assert.equal(lines[0]!.split('\n').length, 1, `${what}: one line`)
    const entry = JSON.parse(lines[0]!)
    assert.deepEqual([entry.reqId, entry.req.method, entry.req.url], [reqId, method, url], what)
    const untimed = (l: string) => l.replace(/"time":"[^"]*"/, 'T')
    assert.equal(untimed(lines[0]!), untimed(lines[1]!), what)
  }
})

// The probes at creation (request-log.ts: directLine) are what keeps the direct line off a logger
// whose JSON differs from it without a mixin or a hook: a log formatter, a serializer of `req`,
// another message key, a nested key. Each such logger writes pino's line.
test('a logger whose JSON differs from the direct line (formatter, serializer, message key) writes pino’s line', () => {
  const lines: string[] = []
  const stream = { write: (line: string) => lines.push(line) }
  const loggers = [
    pino({ formatters: { log: (fields) => ({ ...fields, formatted: true }) } }, stream),
    pino({ serializers: { req: (req: { method: string }) => ({ verb: req.method }) } }, stream),
    pino({ messageKey: 'message' }, stream),
    pino({ nestedKey: 'payload' }, stream),
  ]
  for (const logger of loggers) {
    const access = logger.child({}, { redact: { paths: [] } })
    assert.equal(directLine(access), undefined)
    lines.length = 0
    accessLogger(logger as never)('req-1', 'GET', '/views/pageviews_by_url/%2Fa', 200, 1)
    const fields = { reqId: 'req-1', req: { method: 'GET', url: '/views/pageviews_by_url/%2Fa' } }
    access.info(
      { ...fields, res: { statusCode: 200 }, responseTime: 1 },
      'GET /views/pageviews_by_url/%2Fa 200 1 ms',
    )
    const untimed = (l: string) => l.replace(/"time":\d+/, 'T')
    assert.equal(untimed(lines[0]!), untimed(lines[1]!))
  }
})
