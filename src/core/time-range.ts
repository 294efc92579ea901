// A range of window starts, [from, to) in epoch ms: what a query asks for (GET /views/:view/:key,
// GET /views/:view/top, `strata query`), what a view's windowResults selects and what the stores
// read. One type for every layer, and one rule for a bad range: the edges (the HTTP routes, the
// CLI) parse and check it, and so does windowResults, the public API of a compiled view.
import { ErrorCodes, invalidInput } from './errors.ts'
import { parseEventTime } from './event-time.ts'

export interface TimeRange {
  /** Inclusive lower bound on window start, epoch ms. */
  from?: number
  /** Exclusive upper bound on window start, epoch ms. */
  to?: number
}

/** The range itself, or STRATA_ERR_INVALID_TIME_RANGE (400) when `from` is after `to`. */
export function checkTimeRange(range: TimeRange): TimeRange {
  const { from, to } = range
  if (from !== undefined && to !== undefined && from > to) {
    throw invalidInput(ErrorCodes.INVALID_TIME_RANGE, `from (${from}) is after to (${to})`, { field: 'from' })
  }
  return range
}

/** A time bound from a query string or flag: epoch ms or ISO-8601. */
export function parseTimeBound(value: string | undefined, field: 'from' | 'to'): number | undefined {
  if (value === undefined || value === '') return undefined
  const asNumber = /^\d+$/.test(value) ? Number(value) : value
  const ms = parseEventTime(asNumber)
  if (ms === undefined) {
    throw invalidInput(
      ErrorCodes.INVALID_TIME_RANGE,
      `${field} must be epoch milliseconds or ISO-8601, got "${value}"`,
      {
        field,
      },
    )
  }
  return ms
}

/** from/to as the HTTP API takes them, parsed and checked (STRATA_ERR_INVALID_TIME_RANGE, 400). */
export function parseTimeRange(query: { from?: string; to?: string }): TimeRange {
  return checkTimeRange({ from: parseTimeBound(query.from, 'from'), to: parseTimeBound(query.to, 'to') })
}
