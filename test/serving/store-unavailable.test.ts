// Queries while the store is down (a PostgreSQL restart): the serving layer answers 503 with
// STRATA_ERR_STORE_UNAVAILABLE and Retry-After, not a 500 "internal error" — nothing is wrong with
// the request, and the same query succeeds once the store is back. A store error that is not
// retriable (a bug, a permission) stays a 500. The real outage: store-outage.integration.test.ts.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCodes, StrataError } from '../../src/core/errors.ts'
import type { Store } from '../../src/store/store.ts'
import { openStore, serve } from './fixture.ts'

/** The store, with every read failing with `error` while `down()` says so. */
function failing(store: Store, down: () => boolean, error: () => Error): Store {
  return new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        if (down() && name !== 'close') return Promise.reject(error())
        return value.apply(target, args)
      }
    },
  })
}

const lost = () =>
  new StrataError(ErrorCodes.STORE, 'PostgreSQL store: reading failed: connect ECONNREFUSED', {
    retriable: true,
  })

test('a query while the store is unavailable is answered 503 with a code and Retry-After', async (t) => {
  let down = true
  const logged: string[] = []
  const app = await serve(
    t,
    failing(await openStore(t), () => down, lost),
    {
      logServerError: (message, error) => logged.push(`${message}: ${(error as Error).message}`),
    },
  )
  for (const url of ['/views/pageviews_by_url/%2Fa', '/views/pageviews_by_url/top?limit=3', '/views']) {
    const res = await app.inject(url)
    assert.equal(res.statusCode, 503, `${url}: ${res.body}`)
    assert.equal(res.json().error.code, ErrorCodes.STORE_UNAVAILABLE)
    assert.ok(Number(res.headers['retry-after']) > 0, 'no Retry-After')
    assert.doesNotMatch(res.body, /ECONNREFUSED|postgres/, 'the answer leaks the store detail')
  }
  // The 5xx is in the server's log with its cause (the answer hides it); a 503 condition once
  // per interval, not once per request (serving/errors.ts).
  assert.equal(logged.length, 1)
  assert.match(logged[0] ?? '', /^GET \/views\/pageviews_by_url\/%2Fa answered 503: .*ECONNREFUSED/)
  down = false
  assert.equal((await app.inject('/views/pageviews_by_url/%2Fa')).statusCode, 200)
})

test('a store error that is not retriable is still a 500, logged with its cause', async (t) => {
  const logged: string[] = []
  const app = await serve(
    t,
    failing(
      await openStore(t),
      () => true,
      () => new StrataError(ErrorCodes.STORE, 'permission denied for schema strata'),
    ),
    { logServerError: (message, error) => logged.push(`${message}: ${(error as Error).message}`) },
  )
  const res = await app.inject('/views/pageviews_by_url/%2Fa')
  assert.equal(res.statusCode, 500)
  assert.deepEqual(logged, [
    'GET /views/pageviews_by_url/%2Fa answered 500: permission denied for schema strata',
  ])
  assert.equal(res.headers['retry-after'], undefined)
})
