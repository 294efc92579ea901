// Regression (found by the fault suite, issue 7): a kill -9 of the broker leading a partition made
// the archiver's fetch fail with a network error followed by platformatic's UserError "Cannot find
// broker with node id N"; that chain read as not retriable, so the consumer left its group for
// good and the archiver stopped archiving.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AuthenticationError, MultipleErrors, NetworkError, UserError } from '@platformatic/kafka'
import { fetchFailure } from '../../../src/log/kafka/fetcher.ts'

test('a fetch from a leader that died is retriable', () => {
  const error = new MultipleErrors('Cannot fetch', [
    new NetworkError('Connection to 127.0.0.1:38192 failed.', { cause: new Error('ECONNREFUSED') }),
    new UserError('Cannot find broker with node id 3'),
  ])
  const failure = fetchFailure(error)
  assert.equal(failure.code, 'STRATA_ERR_KAFKA_UNAVAILABLE')
  assert.equal(failure.retriable, true)
})

test('a fetch refused for its credentials, or a bad argument, stays fatal', () => {
  const auth = fetchFailure(
    new NetworkError('Connection to 127.0.0.1:9294 failed.', {
      cause: new AuthenticationError('SASL authentication failed.'),
    }),
  )
  assert.equal(auth.code, 'STRATA_ERR_KAFKA_AUTH')
  assert.equal(auth.retriable, false)
  assert.equal(fetchFailure(new UserError('bad fetch size')).retriable, false)
})
