// The record check of records that did not come through Strata (kcat, any Kafka client): each
// reason ends with the code POST /events would have answered, so a dead letter's strata-reason
// header and the skip warning say what to fix in the same words (met from a user's seat: the
// reasons named no code).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ErrorCodes } from '../../src/core/errors.ts'
import { eventCheck } from '../../src/core/event.ts'

const check = eventCheck('ts')
const reasonOf = (value: Buffer): string => {
  const checked = check(value)
  assert.ok('reason' in checked, `accepted: ${value.toString()}`)
  return checked.reason
}

test('every reason a record is refused for ends with its STRATA_ERR_ code', () => {
  const cases: Array<[Buffer, string, RegExp]> = [
    [Buffer.alloc(0), ErrorCodes.INVALID_EVENT, /^empty value \(tombstone\)/],
    [Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), ErrorCodes.INVALID_JSON, /^not UTF-8/],
    [Buffer.from('not json'), ErrorCodes.INVALID_JSON, /^not JSON: /],
    [Buffer.from('[1,2]'), ErrorCodes.INVALID_EVENT, /must be a JSON object/],
    [Buffer.from('{"url":"/a"}'), ErrorCodes.INVALID_EVENT_TIME, /no event-time field "ts"/],
    [Buffer.from('{"ts":"bad"}'), ErrorCodes.INVALID_EVENT_TIME, /event-time field "ts" must be/],
    [
      Buffer.from(JSON.stringify({ ts: 1, pad: 'x'.repeat(300_000) })),
      ErrorCodes.EVENT_TOO_LARGE,
      /larger than/,
    ],
  ]
  for (const [value, code, words] of cases) {
    const reason = reasonOf(value)
    assert.match(reason, words)
    assert.ok(reason.endsWith(` [${code}]`), reason)
  }
})

test('an event is accepted with its text, no reason', () => {
  const checked = check(Buffer.from('{"ts":1767261600000,"url":"/a"}'))
  assert.ok('event' in checked)
})
