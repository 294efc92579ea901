// The one event-time parser (issue 11): a zone-less time is UTC whatever TZ is, impossible
// calendar days and clock times are refused, and every accepted form agrees with a reference.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { daysInMonth, maxEventTime, parseEventTime } from '../../src/core/event-time.ts'

const pad = (n: number, width = 2): string => String(n).padStart(width, '0')

test('a zone-less date-time is UTC, with T or a space', () => {
  const utc = Date.UTC(2026, 0, 1, 0, 30)
  assert.equal(parseEventTime('2026-01-01T00:30'), utc)
  assert.equal(parseEventTime('2026-01-01 00:30'), utc)
  assert.equal(parseEventTime('2026-01-01T00:30:00.000'), utc)
  assert.equal(parseEventTime('2026-01-01'), Date.UTC(2026, 0, 1))
})

test('offsets: Z, ±hh:mm and ±hhmm', () => {
  const utc = Date.UTC(2026, 0, 1, 0, 30)
  assert.equal(parseEventTime('2026-01-01T00:30Z'), utc)
  assert.equal(parseEventTime('2026-01-01T06:00+05:30'), utc)
  assert.equal(parseEventTime('2026-01-01T06:00+0530'), utc)
  assert.equal(parseEventTime('2025-12-31T19:30:00-05:00'), utc)
  assert.equal(parseEventTime('1969-12-31T23:00:00-02:00'), Date.UTC(1970, 0, 1, 1))
})

test('fractional seconds beyond ms are cut, never rounded', () => {
  assert.equal(parseEventTime('2026-01-01T00:00:00.9999999Z'), Date.UTC(2026, 0, 1, 0, 0, 0, 999))
  assert.equal(parseEventTime('2026-01-01T00:00:00.5Z'), Date.UTC(2026, 0, 1, 0, 0, 0, 500))
})

test('impossible dates and times are refused, not shifted', () => {
  for (const bad of [
    '2026-02-30',
    '2026-02-29',
    '2100-02-29',
    '2026-13-01',
    '2026-00-10',
    '2026-04-31',
    '2026-01-00',
    '2026-01-01T24:00',
    '2026-01-01T24:61',
    '2026-01-01T12:60Z',
    '2026-01-01T23:59:60Z',
    '2026-01-01T12:00+24:00',
    '2026-01-01T12:00+05:60',
    '2026-01-01T12:00:00.Z',
    '2026-01-01Z',
    '2026-1-01',
    '0070-01-01',
  ]) {
    assert.equal(parseEventTime(bad), undefined, bad)
  }
  assert.equal(parseEventTime('2024-02-29'), Date.UTC(2024, 1, 29))
  assert.equal(parseEventTime('2000-02-29'), Date.UTC(2000, 1, 29))
})

// Reference: Date.parse of the ECMAScript date-time string format with an explicit offset, which
// the language defines exactly (no local zone involved).
test('property: valid times agree with the reference in every accepted spelling', () => {
  const valid = fc
    .record({
      year: fc.integer({ min: 1970, max: 9998 }),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 31 }),
      hour: fc.integer({ min: 0, max: 23 }),
      minute: fc.integer({ min: 0, max: 59 }),
      second: fc.integer({ min: 0, max: 59 }),
      fraction: fc.stringMatching(/^\d{1,9}$/),
      offset: fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
      sep: fc.constantFrom('T', ' '),
      zone: fc.constantFrom('none', 'Z', 'colon', 'plain'),
    })
    .filter((t) => t.day <= daysInMonth(t.year, t.month))
  fc.assert(
    fc.property(valid, (t) => {
      const date = `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}`
      const clock = `${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)}`
      const ms = t.fraction.slice(0, 3).padEnd(3, '0')
      const offset = t.zone === 'none' || t.zone === 'Z' ? 0 : t.offset
      const sign = offset < 0 ? '-' : '+'
      const hh = pad(Math.floor(Math.abs(offset) / 60))
      const mm = pad(Math.abs(offset) % 60)
      const zone =
        t.zone === 'none'
          ? ''
          : t.zone === 'Z'
            ? 'Z'
            : t.zone === 'colon'
              ? `${sign}${hh}:${mm}`
              : `${sign}${hh}${mm}`
      const reference = Date.parse(`${date}T${clock}.${ms}${sign}${hh}:${mm}`)
      const expected = reference >= 0 && reference <= maxEventTime ? reference : undefined
      assert.equal(parseEventTime(`${date}${t.sep}${clock}.${t.fraction}${zone}`), expected)
    }),
    { numRuns: 2000 },
  )
})

test('property: a date is accepted exactly when the calendar has it', () => {
  const any = fc.record({
    year: fc.integer({ min: 1970, max: 9999 }),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    hour: fc.integer({ min: 0, max: 25 }),
    minute: fc.integer({ min: 0, max: 61 }),
  })
  fc.assert(
    fc.property(any, (t) => {
      // Reference: a date-time is real when Date.UTC does not carry any field into the next one.
      const d = new Date(Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute))
      const real =
        t.month >= 1 &&
        t.day >= 1 &&
        d.getUTCFullYear() === t.year &&
        d.getUTCMonth() === t.month - 1 &&
        d.getUTCDate() === t.day &&
        d.getUTCHours() === t.hour &&
        d.getUTCMinutes() === t.minute
      const text = `${pad(t.year, 4)}-${pad(t.month)}-${pad(t.day)}T${pad(t.hour)}:${pad(t.minute)}Z`
      assert.equal(parseEventTime(text), real ? d.getTime() : undefined, text)
    }),
    { numRuns: 3000 },
  )
})
