import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatDuration, parseDuration } from '../../src/core/duration.ts'

test('parseDuration: the units people write', () => {
  assert.equal(parseDuration('500ms'), 500)
  assert.equal(parseDuration('30s'), 30_000)
  assert.equal(parseDuration('5m'), 300_000)
  assert.equal(parseDuration('1h'), 3_600_000)
  assert.equal(parseDuration('1d'), 86_400_000)
  assert.equal(parseDuration(250), 250)
})

test('parseDuration: anything ambiguous is rejected, naming the field', () => {
  for (const bad of ['1.5h', '1h30m', '0s', '-1m', '10', 'h', ' 1h', '1H', '', 0, -5, 1.5, Number.NaN]) {
    assert.throws(() => parseDuration(bad as string, 'window size'), {
      code: 'STRATA_ERR_INVALID_VIEW',
      field: 'window size',
    })
  }
})

test('formatDuration: the shortest exact spelling', () => {
  assert.equal(formatDuration(3_600_000), '1h')
  assert.equal(formatDuration(90_000), '90s')
  assert.equal(formatDuration(1500), '1500ms')
  assert.equal(formatDuration(2 * 86_400_000), '2d')
})
