// An event is a JSON object with an event time. The time lives in a field the source config
// names (default `ts`) and is epoch milliseconds or an ISO-8601 string. Validation happens once,
// at the edge (HTTP, CLI, SDK); what passes is accepted and must never be lost.
import { isUtf8 } from 'node:buffer'
import { ErrorCodes, invalidInput, type StrataError } from './errors.ts'
import { parseEventTime } from './event-time.ts'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
export type StrataEvent = { [field: string]: Json }

export interface EventLimits {
  /** Largest serialized event, in bytes. Kafka's default max.message.bytes is about 1 MiB. */
  maxEventBytes: number
  /** Deepest nesting of objects and arrays inside one event. */
  maxDepth: number
}

export const defaultEventLimits: EventLimits = { maxEventBytes: 256 * 1024, maxDepth: 32 }

// The event-time grammar and its one parser live in event-time.ts (zone-less times are UTC).
export { maxEventTime, parseEventTime } from './event-time.ts'

/** The event time of a validated event (validateEvent has already checked it parses). */
export function eventTime(event: StrataEvent, timeField: string): number {
  return parseEventTime(event[timeField]) as number
}

// Whether objects and arrays nest more than `levels` deep in `value` (an object or array counts as
// one level, a scalar as none). Runs on every record the speed layer and the archiver read, so it
// walks without allocating (no Object.values) and stops at the first branch that is too deep.
function nestedDeeperThan(value: object, levels: number): boolean {
  if (levels < 1) return true
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const child: unknown = value[i]
      if (child !== null && typeof child === 'object' && nestedDeeperThan(child, levels - 1)) return true
    }
    return false
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue
    const child: unknown = (value as Record<string, unknown>)[key]
    if (child !== null && typeof child === 'object' && nestedDeeperThan(child, levels - 1)) return true
  }
  return false
}

export interface EventCheck {
  timeField: string
  limits?: EventLimits
  /** 1-based line of the event in NDJSON input, for error messages. */
  line?: number
  /** Serialized size in bytes when already known (the raw line), to avoid re-serializing. */
  bytes?: number
}

/** Returns null when the value is a valid event, or the error that says why not. */
export function checkEvent(value: unknown, check: EventCheck): StrataError | null {
  const { timeField, line } = check
  const limits = check.limits ?? defaultEventLimits
  const where = line === undefined ? '' : ` on line ${line}`
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value
    return invalidInput(ErrorCodes.INVALID_EVENT, `an event must be a JSON object, got ${kind}${where}`, {
      line,
    })
  }
  const bytes = check.bytes ?? Buffer.byteLength(JSON.stringify(value))
  if (bytes > limits.maxEventBytes) {
    return invalidInput(
      ErrorCodes.EVENT_TOO_LARGE,
      `event of ${bytes} bytes is larger than the limit of ${limits.maxEventBytes} bytes${where}`,
      { line, status: 413 },
    )
  }
  if (nestedDeeperThan(value, limits.maxDepth)) {
    return invalidInput(
      ErrorCodes.INVALID_EVENT,
      `event is nested deeper than ${limits.maxDepth} levels${where}`,
      {
        line,
      },
    )
  }
  const time = (value as StrataEvent)[timeField]
  if (time === undefined) {
    return invalidInput(
      ErrorCodes.INVALID_EVENT_TIME,
      `event has no event-time field "${timeField}"${where}`,
      {
        line,
        field: timeField,
      },
    )
  }
  if (parseEventTime(time) === undefined) {
    return invalidInput(
      ErrorCodes.INVALID_EVENT_TIME,
      `event-time field "${timeField}" must be epoch milliseconds or an ISO-8601 date or date-time (see docs/ingest.md) of a real calendar day from 1970 to 9999, got ${JSON.stringify(time)}${where}`,
      { line, field: timeField },
    )
  }
  return null
}

// The one predicate of what counts as an event on the log, shared by the archiver (which
// dead-letters the rest) and the speed layer (which skips the rest), so batch and speed agree.
/** Returns the parsed event, or the reason the record is not an event. */
export type RecordCheck = (value: Buffer) => { event: unknown } | { reason: string }

/** The events Strata accepts anywhere: a JSON object with a valid event time. */
export function eventCheck(timeField: string): RecordCheck {
  return (value) => {
    if (value.length === 0) return { reason: 'empty value (tombstone)' }
    // toString() would turn invalid bytes into U+FFFD and accept an event that is not what was sent.
    if (!isUtf8(value)) return { reason: 'not UTF-8' }
    let event: unknown
    try {
      event = JSON.parse(value.toString())
    } catch (error) {
      return { reason: `not JSON: ${(error as Error).message}` }
    }
    const problem = checkEvent(event, { timeField, bytes: value.length })
    return problem ? { reason: problem.message } : { event }
  }
}
