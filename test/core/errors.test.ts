// The error table: every code has one HTTP status, set where the code is defined, and every
// StrataError takes its status from its code (no layer picks one).
import assert from 'node:assert/strict'
import { STATUS_CODES } from 'node:http'
import { test } from 'node:test'
import {
  type ErrorCode,
  ErrorCodes,
  errorTable,
  invalidInput,
  StrataError,
  statusOf,
} from '../../src/core/errors.ts'

test('every code in the table has an HTTP error status', () => {
  const entries = Object.entries(errorTable)
  assert.ok(entries.length > 40)
  for (const [name, [code, status]] of entries) {
    assert.equal(code, `STRATA_ERR_${name}`, name)
    assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, `${code}: ${status}`)
    assert.ok(STATUS_CODES[status], `${code}: ${status} is no HTTP status`)
    assert.equal(statusOf(code), status, code)
  }
  assert.equal(new Set(entries.map(([, [code]]) => code)).size, entries.length, 'a code is listed twice')
})

test('ErrorCodes names exactly the codes of the table', () => {
  assert.deepEqual(
    Object.entries(ErrorCodes),
    Object.entries(errorTable).map(([name, [code]]) => [name, code]),
  )
})

test("a StrataError's status is its code's, whoever raises it", () => {
  for (const code of Object.values(ErrorCodes) as ErrorCode[]) {
    assert.equal(new StrataError(code, 'm').status, statusOf(code), code)
    assert.equal(new StrataError(code, 'm', { retriable: true }).status, statusOf(code), code)
  }
  assert.equal(new StrataError(ErrorCodes.FENCED, 'no longer ours').status, 409)
  assert.equal(new StrataError(ErrorCodes.DISK_FULL, 'no room').status, 507)
  assert.equal(invalidInput(ErrorCodes.EVENT_TOO_LARGE, 'too large', { line: 2 }).status, 413)
  assert.equal(invalidInput(ErrorCodes.UNKNOWN_VIEW, 'no view').status, 404)
  assert.equal(invalidInput(ErrorCodes.INVALID_JSON, 'not json').retriable, false)
})
