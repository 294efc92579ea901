// The one rule for a range of window starts (core/time-range.ts), which the HTTP routes, the CLI
// and windowResults share.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkTimeRange, parseTimeRange } from '../../src/core/time-range.ts'

test('checkTimeRange: from after to is STRATA_ERR_INVALID_TIME_RANGE (400); open or equal bounds pass', () => {
  assert.throws(() => checkTimeRange({ from: 2, to: 1 }), {
    code: 'STRATA_ERR_INVALID_TIME_RANGE',
    status: 400,
    field: 'from',
    message: 'from (2) is after to (1)',
  })
  for (const range of [{}, { from: 1 }, { to: 1 }, { from: 1, to: 1 }, { from: 1, to: 2 }]) {
    assert.equal(checkTimeRange(range), range)
  }
})

test('parseTimeRange: epoch ms or ISO-8601 bounds, checked', () => {
  assert.deepEqual(parseTimeRange({ from: '1000', to: '1970-01-01T00:00:02Z' }), { from: 1000, to: 2000 })
  assert.deepEqual(parseTimeRange({}), { from: undefined, to: undefined })
  assert.throws(() => parseTimeRange({ from: 'yesterday' }), {
    code: 'STRATA_ERR_INVALID_TIME_RANGE',
    field: 'from',
  })
  assert.throws(() => parseTimeRange({ from: '2000', to: '1000' }), { code: 'STRATA_ERR_INVALID_TIME_RANGE' })
})
