// Ingest: accepted events go to the log (Kafka with acks=all, or the embedded log) and the
// caller learns where each one landed. Validation happens first, for the whole batch, so a bad
// line means nothing is written (see parse.ts).
import { defaultEventLimits, type EventLimits, type StrataEvent } from '../core/event.ts'
import type { RecordPosition } from '../log/log.ts'
import { type AcceptedEvent, decodeInput, defaultMaxEvents, type ParseOptions, parseEvents } from './parse.ts'
import { bodyScanner } from './scan.ts'

export interface SinkRecord {
  key: string | null
  /** The event's JSON text, or its UTF-8 bytes (a slice of the request body). */
  value: string | Buffer
}

/** What ingest writes to: the Kafka producer bound to the source topic, or the embedded log. */
export interface EventSink {
  append(records: SinkRecord[]): Promise<RecordPosition[]>
}

export interface IngestOptions {
  sink: EventSink
  /** The event-time field of the source (default `ts`). */
  timeField?: string
  /** Field whose value becomes the record key (so one key stays in one partition); none by default. */
  keyField?: string
  limits?: EventLimits
  maxEvents?: number
}

export interface IngestResult {
  count: number
  /** Where each event was written, in input order. */
  records: RecordPosition[]
}

export interface Ingest {
  /** Validates a whole body without writing anything (throws on the first bad line, or BatchRejected). */
  parse(body: string, options?: Pick<ParseOptions, 'maxErrors'>): AcceptedEvent[]
  /** Writes events that parse() accepted. */
  write(accepted: AcceptedEvent[]): Promise<IngestResult>
  /**
   * A request body as bytes: one JSON object or NDJSON. The same events, records and errors as
   * ingestText(decodeInput(body)); a body scan.ts proves valid is written from its own bytes.
   */
  ingestBytes(body: Buffer): Promise<IngestResult>
  /** A request body or stdin: one JSON object or NDJSON. */
  ingestText(body: string, options?: Pick<ParseOptions, 'maxErrors'>): Promise<IngestResult>
  /** Events as objects (the SDK call). */
  ingestEvents(events: StrataEvent | StrataEvent[]): Promise<IngestResult>
  readonly timeField: string
}

export function createIngest(options: IngestOptions): Ingest {
  const timeField = options.timeField ?? 'ts'
  const { sink, keyField, limits, maxEvents } = options
  const scan = bodyScanner({
    timeField,
    keyField,
    limits: limits ?? defaultEventLimits,
    maxEvents: maxEvents ?? defaultMaxEvents,
  })

  async function write(accepted: AcceptedEvent[]): Promise<IngestResult> {
    const records = accepted.map(({ event, text }) => ({ key: keyOf(event, keyField), value: text }))
    const positions = await sink.append(records)
    return { count: positions.length, records: positions }
  }

  const parse = (body: string, extra: Pick<ParseOptions, 'maxErrors'> = {}) =>
    parseEvents(body, { timeField, limits, maxEvents, ...extra })

  return {
    timeField,
    parse,
    write,
    async ingestBytes(body) {
      const scanned = scan?.(body)
      if (scanned === undefined) return write(parse(decodeInput(body)))
      const positions = await sink.append(scanned)
      return { count: positions.length, records: positions }
    },
    async ingestText(body, extra = {}) {
      return write(parse(body, extra))
    },
    async ingestEvents(events) {
      const list = Array.isArray(events) ? events : [events]
      // Objects go through the same text path as HTTP bodies: one validator for every door.
      const body = list.map((event) => JSON.stringify(event) ?? 'undefined').join('\n')
      return write(parse(body))
    },
  }
}

function keyOf(event: StrataEvent, keyField: string | undefined): string | null {
  if (keyField === undefined) return null
  const value = event[keyField]
  if (value === undefined || value === null) return null
  return typeof value === 'string' ? value : JSON.stringify(value)
}
