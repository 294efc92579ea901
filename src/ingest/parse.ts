// Turning an ingest body into accepted events, or rejecting the whole of it.
//
// Contract (shared by POST /events, `strata produce` and the SDK): the input is either one JSON
// object (which may span lines) or NDJSON, one object per line (blank lines are skipped). Every
// event is validated by checkEvent before anything is written; the first bad line rejects the
// whole batch with a StrataError that names the line, so nothing of a bad batch is half-written.
// Accepted events keep their own JSON text (an NDJSON line as it came, minus its line ending; a
// pretty-printed object minus the whitespace between its tokens): the master dataset stores what
// was accepted, byte for byte — numbers as they were spelled, 1.0 and digits past 2^53 included.

import { isUtf8 } from 'node:buffer'
import { ErrorCodes, invalidInput, type StrataError } from '../core/errors.ts'
import { checkEvent, defaultEventLimits, type EventLimits, type StrataEvent } from '../core/event.ts'

export interface AcceptedEvent {
  event: StrataEvent
  /** The event's JSON text, one line, as it will be written to the log. */
  text: string
  /** 1-based line in the input where the event started. */
  line: number
}

export interface ParseOptions {
  timeField: string
  limits?: EventLimits
  /** Most events one batch may hold. */
  maxEvents?: number
  /** Collect up to this many errors instead of stopping at the first (the CLI reports several). */
  maxErrors?: number
}

export const defaultMaxEvents = 100_000

export class BatchRejected extends Error {
  readonly errors: StrataError[]
  constructor(errors: StrataError[]) {
    super(errors[0].message)
    this.name = 'BatchRejected'
    this.errors = errors
  }
}

/**
 * The text of an ingest body or stdin. JSON is UTF-8 (RFC 8259): invalid bytes are an error that
 * names their line, never replaced by U+FFFD and accepted as an event that was not sent. A
 * leading byte-order mark is dropped, as RFC 8259 allows.
 */
export function decodeInput(bytes: Buffer): string {
  if (!isUtf8(bytes)) {
    let line = 1
    let start = 0
    for (;;) {
      const end = bytes.indexOf(0x0a, start)
      if (!isUtf8(bytes.subarray(start, end === -1 ? bytes.length : end)) || end === -1) break
      line++
      start = end + 1
    }
    throw invalidInput(ErrorCodes.INVALID_JSON, `line ${line} is not valid UTF-8`, { line })
  }
  const text = bytes.toString('utf8')
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
}

/** Parses and validates a whole body. Throws the first StrataError (or BatchRejected when maxErrors > 1). */
export function parseEvents(body: string, options: ParseOptions): AcceptedEvent[] {
  const limits = options.limits ?? defaultEventLimits
  const maxEvents = options.maxEvents ?? defaultMaxEvents
  const maxErrors = options.maxErrors ?? 1
  const errors: StrataError[] = []
  const fail = (error: StrataError): void => {
    errors.push(error)
    if (errors.length >= maxErrors) throw maxErrors === 1 ? error : new BatchRejected(errors)
  }

  const single = parseSingleObject(body)
  if (single !== undefined) {
    const check = { timeField: options.timeField, limits, line: 1 }
    // Shape, depth and time first (bytes: 0 skips the size check): JSON.stringify of an object
    // nested thousands deep overflows the stack, which would answer 500 instead of 400.
    const shape = checkEvent(single, { ...check, bytes: 0 })
    const text = shape ? '' : compactJson(body.trim())
    const error = shape ?? checkEvent(single, { ...check, bytes: Buffer.byteLength(text) })
    if (error) fail(error)
    if (errors.length > 0) throw maxErrors === 1 ? errors[0] : new BatchRejected(errors)
    return [{ event: single as StrataEvent, text, line: 1 }]
  }

  const accepted: AcceptedEvent[] = []
  let line = 0
  let start = 0
  while (start <= body.length) {
    let end = body.indexOf('\n', start)
    if (end === -1) end = body.length
    line++
    let text = body.slice(start, end)
    start = end + 1
    if (text.endsWith('\r')) text = text.slice(0, -1)
    if (text.trim() === '') continue

    if (accepted.length + errors.length >= maxEvents) {
      fail(
        invalidInput(
          ErrorCodes.BATCH_TOO_LARGE,
          `a batch holds at most ${maxEvents} events; split the input`,
          { line },
        ),
      )
      break
    }
    const bytes = Buffer.byteLength(text)
    if (bytes > limits.maxEventBytes) {
      // Checked before parsing: never spend time parsing what will be refused.
      fail(
        invalidInput(
          ErrorCodes.EVENT_TOO_LARGE,
          `event of ${bytes} bytes is larger than the limit of ${limits.maxEventBytes} bytes on line ${line}`,
          { line },
        ),
      )
      continue
    }
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (cause) {
      fail(
        invalidInput(ErrorCodes.INVALID_JSON, `line ${line} is not valid JSON: ${jsonProblem(cause)}`, {
          line,
        }),
      )
      continue
    }
    const error = checkEvent(value, {
      timeField: options.timeField,
      limits,
      line,
      bytes,
      escapes: text.includes('\\u'),
    })
    if (error) {
      fail(error)
      continue
    }
    accepted.push({ event: value as StrataEvent, text: text.trim(), line })
  }
  if (errors.length > 0) throw maxErrors === 1 ? errors[0] : new BatchRejected(errors)
  if (accepted.length === 0) {
    throw invalidInput(ErrorCodes.EMPTY_BATCH, 'no events in the input: send one JSON object or NDJSON lines')
  }
  return accepted
}

// V8 places a JSON error within the text it parsed: "at position 7 (line 1 column 8)". Parsed
// here is one line of the body, so its "line 1" would contradict the body's line the message
// names: keep only the column.
function jsonProblem(cause: unknown): string {
  const message = (cause as Error).message
  return message.replace(/ at position \d+ \(line \d+ column (\d+)\)/, ' at column $1')
}

// A body that is one JSON object spread over several lines (pretty-printed) is one event.
// Only tried when the body has more than one non-blank line and starts with '{', so NDJSON
// bodies are not parsed twice.
function parseSingleObject(body: string): unknown {
  const trimmed = body.trim()
  if (!trimmed.startsWith('{')) return undefined
  const firstBreak = trimmed.indexOf('\n')
  if (firstBreak === -1) return undefined // one line: the NDJSON path handles it, with its checks
  try {
    const value = JSON.parse(trimmed)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined
  } catch {
    return undefined // not one object: read it as NDJSON, which reports the bad line
  }
}

/**
 * A valid JSON text without the whitespace between its tokens: one line, every token as it was
 * spelled. Re-serializing the parsed value instead would respell numbers (1.0 → 1) and round
 * integers past 2^53. Whitespace inside strings is kept; JSON strings hold no raw line breaks.
 */
export function compactJson(text: string): string {
  let out = ''
  let from = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c)
        i++ // a backslash escapes the next character, a quote included
      else if (c === 0x22) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      out += text.slice(from, i)
      from = i + 1
    }
  }
  return out + text.slice(from)
}
