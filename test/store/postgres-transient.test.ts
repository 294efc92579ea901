// Which PostgreSQL driver errors are retriable (the speed layer retries them through an outage,
// a role waits on them at start). Regression: "Connection terminated unexpectedly", what pg says
// when the server goes away under a query (a restart mid-commit), carries no code and read as
// not retriable.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { StrataError } from '../../src/core/errors.ts'
import { isTransient, parseTarget, storeError } from '../../src/store/postgres/connection.ts'

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code })

test('connection losses, refusals, restarts and serialization failures are retriable', () => {
  for (const error of [
    new Error('Connection terminated unexpectedly'),
    new Error('Connection terminated due to connection timeout'),
    withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
    withCode('terminating connection due to administrator command', '57P01'),
    withCode('the database system is starting up', '57P03'),
    withCode('could not serialize access', '40001'),
    new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], ''),
  ]) {
    assert.equal(isTransient(error), true, error.message)
  }
})

test('bad SQL, permissions and authentication are not retriable', () => {
  for (const error of [
    withCode('relation "x" does not exist', '42P01'),
    withCode('permission denied for table x', '42501'),
    withCode('password authentication failed for user "u"', '28P01'),
    new Error('something else'),
  ]) {
    assert.equal(isTransient(error), false, error.message)
  }
})

test('storeError carries the decision, and no password', () => {
  const target = parseTarget('postgres://u:hunter22@127.0.0.1:5432/db')
  const error = storeError(
    new Error('Connection terminated unexpectedly'),
    target,
    'committing',
  ) as StrataError
  assert.ok(error instanceof StrataError)
  assert.equal(error.retriable, true)
  assert.doesNotMatch(error.message, /hunter22/)
})
