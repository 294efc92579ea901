// The one parser of event times. Ingest (HTTP, CLI, SDK), the archiver's and the speed layer's
// record check, the batch and speed folds and the query bounds all call parseEventTime, so every
// layer puts an event in the same window whatever the process's time zone (TZ) is.
//
// Accepted (docs/ingest.md, "Event time"):
//   epoch milliseconds: a safe integer
//   YYYY-MM-DD                                          midnight UTC
//   YYYY-MM-DD(T| )hh:mm[:ss[.f{1,9}]][Z|±hh:mm|±hhmm]  no zone means UTC
// Fractional seconds beyond milliseconds are cut (truncated toward the past), never rounded.
// Every field is checked against the calendar: 2026-02-30, 2026-13-01, 2025-02-29, 24:00, 12:60
// and 23:59:60 (a leap second; epoch ms has none) are not times. Date.parse is not used: it
// reads a zone-less date-time in the local zone and shifts impossible dates (Feb 30 -> Mar 2).

const isoTime =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z)|([+-])(\d{2}):?(\d{2}))?)?$/

// Event times lie in [1970-01-01, 9999-12-31T23:59:59.999Z]: the same range whether written as
// epoch ms or as ISO-8601, and every accepted time prints as a four-digit-year ISO date.
export const maxEventTime = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

const MINUTE = 60_000

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
}

/** Days in `month` (1-12) of `year` in the proleptic Gregorian calendar. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
}

/** Epoch ms of an ISO-8601 string in the accepted grammar, or undefined. Zone-less is UTC. */
export function parseIsoTime(text: string): number | undefined {
  const m = isoTime.exec(text)
  if (m === null) return undefined
  const year = Number(m[1])
  const month = Number(m[2])
  const day = Number(m[3])
  const hour = m[4] === undefined ? 0 : Number(m[4])
  const minute = m[5] === undefined ? 0 : Number(m[5])
  const second = m[6] === undefined ? 0 : Number(m[6])
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'))
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  if (hour > 23 || minute > 59 || second > 59) return undefined
  let offset = 0
  if (m[9] !== undefined) {
    const offsetHours = Number(m[10])
    const offsetMinutes = Number(m[11])
    if (offsetHours > 23 || offsetMinutes > 59) return undefined
    offset = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes)
  }
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear does not.
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  date.setUTCHours(hour, minute, second, ms)
  return date.getTime() - offset * MINUTE
}

/** Epoch ms from an event-time value, or undefined when it is not a valid time. */
export function parseEventTime(value: unknown): number | undefined {
  let ms: number | undefined
  if (typeof value === 'number') ms = Number.isSafeInteger(value) ? value : undefined
  else if (typeof value === 'string') ms = parseIsoTime(value)
  return ms !== undefined && ms >= 0 && ms <= maxEventTime ? ms : undefined
}
