// POST /events: one JSON object or NDJSON. 202 with the partition and offset of every event,
// after the log acknowledged them (acks=all on Kafka, fsync on the embedded log).
// 400 with { error: { code, message, line } } for bad input; nothing of that batch is written.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import { MAX_NUMBER_BYTES, writeAscii, writeNumber } from '../../core/number-bytes.ts'
import type { Ingest, IngestResult } from '../../ingest/ingest.ts'
import { EVENT_CONTENT_TYPES } from '../errors.ts'
import { errorAnswers } from './answer-schemas.ts'

export interface EventsRouteOptions {
  ingest: Ingest
  /** Told how many events each accepted request wrote (the events-in metric). */
  onAccepted?: (events: number) => void
}

const schema = {
  summary: 'Writes events to the log: one JSON object, or NDJSON (one per line)',
  consumes: EVENT_CONTENT_TYPES,
  // For the document only: parse.ts validates the body (Fastify's validator is turned off below),
  // so that a refusal names the NDJSON line.
  body: {
    type: 'object',
    description:
      "an event: an object with the source's event-time field (docs/ingest.md); NDJSON bodies carry one per line",
    additionalProperties: true,
  },
  response: {
    202: {
      description: 'written: the log acknowledged every event',
      type: 'object',
      required: ['count', 'records'],
      properties: {
        count: { type: 'integer' },
        records: {
          type: 'array',
          description: 'where each event was written, in input order',
          items: {
            type: 'object',
            required: ['partition', 'offset'],
            properties: { partition: { type: 'integer' }, offset: { type: 'integer' } },
          },
        },
      },
    },
    ...errorAnswers(400, 413, 415, 503, 507),
  },
} as const

export async function eventsRoute(
  app: FastifyInstance,
  { ingest, onAccepted }: EventsRouteOptions,
): Promise<void> {
  // Bodies are read as text whatever their JSON type: parse.ts does the parsing so that errors
  // carry the NDJSON line, and NDJSON is not JSON to Fastify's own parser. No text/plain: a web
  // page may POST that cross-site without a CORS preflight (415 instead).
  app.removeContentTypeParser(['application/json', 'text/plain'])
  app.addContentTypeParser(
    EVENT_CONTENT_TYPES,
    // As bytes: decodeInput rejects invalid UTF-8 (a string parser would replace it silently).
    { parseAs: 'buffer' },
    (_request, body, done) => done(null, body),
  )

  app.post(
    '/events',
    { schema, validatorCompiler: () => () => true, onRequest: [refuseEncoded, refuseCharset] },
    async (request, reply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
      const result = await ingest.ingestBytes(body)
      onAccepted?.(result.count)
      // The answer written here as bytes (a Buffer is sent as it is): the schema's serializer
      // cost ~0.8 µs an event on the HTTP loop for the 202 of a large batch (acceptedJsonBytes).
      return reply.code(202).type('application/json; charset=utf-8').send(acceptedJsonBytes(result))
    },
  )
}

// Fastify does not decode a Content-Encoding: a gzip body (Vector, Fluent Bit, a client that
// compresses) was read as its compressed bytes and refused as "not valid UTF-8", and a plain
// body labelled gzip was accepted. Refused before the body is read, naming the header (RFC 9110
// 15.5.16: 415 for an unsupported content coding).
async function refuseEncoded(request: FastifyRequest): Promise<void> {
  const encoding = request.headers['content-encoding']?.trim().toLowerCase()
  if (encoding === undefined || encoding === '' || encoding === 'identity') return
  throw new StrataError(
    ErrorCodes.UNSUPPORTED_MEDIA_TYPE,
    `POST /events takes an uncompressed body: content-encoding ${JSON.stringify(encoding.slice(0, 40))} is not supported; send it without compression`,
    { field: 'content-encoding' },
  )
}

// JSON is UTF-8 (RFC 8259 8.1), and decodeInput reads every body as UTF-8. A body declared in
// another charset (`application/json; charset=iso-8859-1`) was read as UTF-8 all the same: refused
// as "not valid UTF-8" when a byte was not, and written as other text than was sent when the
// bytes happened to form UTF-8 ('Ã©' in Latin-1 became 'é'). Refused before the body is read,
// naming the header; UTF-8 and its subset US-ASCII are taken.
const READ_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii'])

async function refuseCharset(request: FastifyRequest): Promise<void> {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(request.headers['content-type'] ?? '')?.[1]
  if (charset === undefined || READ_CHARSETS.has(charset.toLowerCase())) return
  throw new StrataError(
    ErrorCodes.UNSUPPORTED_MEDIA_TYPE,
    `POST /events reads UTF-8: charset ${JSON.stringify(charset.slice(0, 40))} is not supported; send the body as UTF-8 (charset=utf-8, or no charset)`,
    { field: 'content-type' },
  )
}

const COUNT = Buffer.from('{"count":')
const RECORDS = Buffer.from(',"records":[')
const PARTITION = Buffer.from('{"partition":')
const OFFSET = Buffer.from(',"offset":')
// The bytes of one position at most: `,{"partition":` N `,"offset":` N `}`.
const POSITION_BYTES = 1 + PARTITION.length + OFFSET.length + 2 * MAX_NUMBER_BYTES + 1

/**
 * The 202's body, as the response schema above has it: JSON.stringify({ count, records }) as
 * UTF-8, written straight into one buffer: no string per number, no rope of them flattened for
 * the length and encoded on the socket write (~10 ns an event less on the HTTP loop than the
 * string; BENCHMARKS.md, Ingest, session 15).
 */
export function acceptedJsonBytes({ count, records }: IngestResult): Buffer {
  const out = Buffer.allocUnsafe(
    COUNT.length + MAX_NUMBER_BYTES + RECORDS.length + records.length * POSITION_BYTES + 2,
  )
  let at = writeAscii(out, 0, COUNT)
  at = writeNumber(out, at, count)
  at = writeAscii(out, at, RECORDS)
  for (let i = 0; i < records.length; i++) {
    const { partition, offset } = records[i]!
    if (i > 0) out[at++] = 0x2c // ,
    at = writeAscii(out, at, PARTITION)
    at = writeNumber(out, at, partition)
    at = writeAscii(out, at, OFFSET)
    at = writeNumber(out, at, offset)
    out[at++] = 0x7d // }
  }
  out[at++] = 0x5d // ]
  out[at++] = 0x7d // }
  return out.subarray(0, at)
}
