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

// What the stores, sketches and JSON answers cannot hold, found in one walk of the event (every
// record the speed layer and the archiver read goes through it, so it does not allocate and stops
// at the first problem):
// - objects and arrays nested more than `levels` deep (an object or array is one level);
// - numbers that are not finite: JSON has no Infinity, but `1e400` parses to it, and would be
//   counted as Infinity and written back as null;
// - strings (values or field names) holding a lone UTF-16 surrogate (`"\ud800"` is valid JSON):
//   no UTF-8 can carry it, so a state or answer holding it cannot be encoded or decoded again.
//   Only an escape can write one, so the caller says whether the text has a `\u` at all.
type Unstorable = 'depth' | 'number' | 'surrogate' | undefined

function unstorable(value: object, levels: number, surrogates: boolean): Unstorable {
  if (levels < 1) return 'depth'
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = unstorableChild(value[i], levels, surrogates)
      if (problem !== undefined) return problem
    }
    return undefined
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue
    if (surrogates && !key.isWellFormed()) return 'surrogate'
    const problem = unstorableChild((value as Record<string, unknown>)[key], levels, surrogates)
    if (problem !== undefined) return problem
  }
  return undefined
}

function unstorableChild(child: unknown, levels: number, surrogates: boolean): Unstorable {
  if (typeof child === 'number') return Number.isFinite(child) ? undefined : 'number'
  if (typeof child === 'string') return surrogates && !child.isWellFormed() ? 'surrogate' : undefined
  if (child !== null && typeof child === 'object') return unstorable(child, levels - 1, surrogates)
  return undefined
}

export interface EventCheck {
  timeField: string
  limits?: EventLimits
  /** 1-based line of the event in NDJSON input, for error messages. */
  line?: number
  /** Serialized size in bytes when already known (the raw line), to avoid re-serializing. */
  bytes?: number
  /**
   * False when the raw JSON text is known to hold no `\u` escape, so no string can hold a lone
   * surrogate and the walk skips that check (default true).
   */
  escapes?: boolean
}

/** Returns null when the value is a valid event, or the error that says why not. */
export function checkEvent(value: unknown, check: EventCheck): StrataError | null {
  const { timeField, line } = check
  const limits = check.limits ?? defaultEventLimits
  const where = line === undefined ? '' : ` on line ${line}`
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value
    // A JSON array of events is what a client sends first: say how several events are sent.
    const hint =
      Array.isArray(value) && line !== undefined
        ? ' (several events are sent as NDJSON: one object per line, content-type application/x-ndjson)'
        : ''
    return invalidInput(
      ErrorCodes.INVALID_EVENT,
      `an event must be a JSON object, got ${kind}${where}${hint}`,
      {
        line,
      },
    )
  }
  const bytes = check.bytes ?? Buffer.byteLength(JSON.stringify(value))
  if (bytes > limits.maxEventBytes) {
    return invalidInput(
      ErrorCodes.EVENT_TOO_LARGE,
      `event of ${bytes} bytes is larger than the limit of ${limits.maxEventBytes} bytes${where}`,
      { line },
    )
  }
  const problem = unstorable(value, limits.maxDepth, check.escapes ?? true)
  if (problem !== undefined) {
    const message =
      problem === 'depth'
        ? `event is nested deeper than ${limits.maxDepth} levels`
        : problem === 'number'
          ? 'event holds a number too large for a double (JSON has no Infinity)'
          : 'event holds a lone UTF-16 surrogate escape (such as \\ud800), which no UTF-8 text can carry'
    return invalidInput(ErrorCodes.INVALID_EVENT, `${message}${where}`, { line })
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
/**
 * Returns the parsed event, or the reason the record is not an event. `text`, when given, is the
 * value's bytes decoded (what was parsed): a caller that needs the text too (the archiver's
 * segment builder) reuses it instead of decoding the bytes again.
 */
export type RecordCheck = (value: Buffer) => { event: unknown; text?: string } | { reason: string }

/** The events Strata accepts anywhere: a JSON object with a valid event time. */
export function eventCheck(timeField: string): RecordCheck {
  // A reason ends with its code, as a failed command's line does: a dead letter's strata-reason
  // header and the skip warning name what a producer must fix in the words of POST /events.
  return (value) => {
    if (value.length === 0) return { reason: `empty value (tombstone) [${ErrorCodes.INVALID_EVENT}]` }
    // toString() would turn invalid bytes into U+FFFD and accept an event that is not what was sent.
    if (!isUtf8(value)) return { reason: `not UTF-8 [${ErrorCodes.INVALID_JSON}]` }
    let event: unknown
    let text: string
    try {
      text = value.toString()
      event = JSON.parse(text)
    } catch (error) {
      return { reason: `not JSON: ${(error as Error).message} [${ErrorCodes.INVALID_JSON}]` }
    }
    const problem = checkEvent(event, { timeField, bytes: value.length, escapes: text.includes('\\u') })
    return problem ? { reason: `${problem.message} [${problem.code}]` } : { event, text }
  }
}
