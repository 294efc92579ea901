// Regression (found by the fault suite, issue 7): a pooled connection that PostgreSQL closed
// while it was checked out (a server restart in the middle of a speed commit) emitted an 'error'
// event nobody listened to — pg-pool listens only to idle clients — and the process died with
// "Unhandled 'error' event" instead of the commit failing and the next one retrying.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createPool, inTransaction, parseTarget } from '../../src/store/postgres/connection.ts'
import { testUrl } from './postgres-helpers.ts'

test('a connection closed by the server mid-transaction fails that transaction, not the process', async (t) => {
  const pool = createPool(parseTarget(testUrl), 2)
  t.after(() => pool.end())
  await assert.rejects(
    inTransaction(pool, async (client) => {
      // The server ends this very connection, as a restart (or an administrator) would.
      await client.query('SELECT pg_terminate_backend(pg_backend_pid())')
    }),
  )
  // Let the socket's close and any 'error' event be delivered before we look.
  await new Promise((resolve) => setTimeout(resolve, 200))
  const { rows } = await pool.query('SELECT 1 AS one')
  assert.equal(rows[0].one, 1)
})
