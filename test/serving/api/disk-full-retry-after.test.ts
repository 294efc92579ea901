// A 507 STRATA_ERR_DISK_FULL on POST /events (the embedded log found no room for the request,
// nothing of it written) came without Retry-After while every 503 had one, so a client's retry
// loop had nothing to pace itself by. Now the 507 carries Retry-After too; a non-retriable
// DISK_FULL (none today) would not.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createIngest } from '../../../src/ingest/ingest.ts'
import { diskFull } from '../../../src/log/embedded/room.ts'
import { DISK_FULL_RETRY_AFTER_S } from '../../../src/serving/errors.ts'
import { createServer } from '../../../src/serving/server.ts'
import { deferrer } from '../../helpers/cleanup.ts'

test('POST /events refused for want of disk room: 507 STRATA_ERR_DISK_FULL with Retry-After', async (t) => {
  const defer = deferrer(t)
  let full = true
  const sink = {
    append: async (records: unknown[]) => {
      if (full) throw diskFull(0, '/data/p0000')
      return records.map((_, offset) => ({ partition: 0, offset }))
    },
  }
  const app = await createServer({ ingest: createIngest({ sink, timeField: 'ts' }) })
  defer(() => app.close())
  const post = () =>
    app.inject({ method: 'POST', url: '/events', payload: { type: 'page_view', ts: 1764000000000 } })
  const refused = await post()
  assert.equal(refused.statusCode, 507)
  assert.equal(refused.json().error.code, 'STRATA_ERR_DISK_FULL')
  assert.equal(refused.headers['retry-after'], String(DISK_FULL_RETRY_AFTER_S))
  assert.ok(DISK_FULL_RETRY_AFTER_S > 0)
  // Room again: accepted, and no Retry-After on a success.
  full = false
  const accepted = await post()
  assert.equal(accepted.statusCode, 202)
  assert.equal(accepted.headers['retry-after'], undefined)
})
