// A store that fails with its connection string in the message (as a foreign driver might):
// no answer of the API — /health, /metrics, queries — carries the password.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createServer } from '../../src/serving/server.ts'
import type { Store } from '../../src/store/store.ts'
import { views } from './fixture.ts'

const PASSWORD = 'hunter2-store-password'

// Every method rejects; a unit stand-in, not a claim about any real driver.
const failingStore = new Proxy(
  {},
  {
    get: () => async () => {
      throw new Error(`could not connect to postgres://strata:${PASSWORD}@10.0.0.9:5432/db`)
    },
  },
) as unknown as Store

test('/health, /metrics and queries never echo a failing store’s connection string', async (t) => {
  const app = await createServer({ store: failingStore, views, endOffsets: async () => [0, 0, 0, 0, 0, 0] })
  t.after(() => app.close())
  for (const url of [
    '/health',
    '/metrics',
    '/views',
    '/views/pageviews_by_url/%2Fa',
    '/views/top_urls/top',
  ]) {
    const res = await app.inject({ method: 'GET', url })
    assert.ok(!res.body.includes(PASSWORD), `${url} answered ${res.statusCode}: ${res.body}`)
  }
  const health = await app.inject({ method: 'GET', url: '/health' })
  assert.equal(health.statusCode, 503)
})
