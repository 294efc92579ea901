// POST /events: one JSON object or NDJSON. 202 with the partition and offset of every event,
// after the log acknowledged them (acks=all on Kafka, fsync on the embedded log).
// 400 with { error: { code, message, line } } for bad input; nothing of that batch is written.
import type { FastifyInstance } from 'fastify'
import type { Ingest } from '../../ingest/ingest.ts'
import { decodeInput } from '../../ingest/parse.ts'
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

  app.post('/events', { schema, validatorCompiler: () => () => true }, async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
    const result = await ingest.ingestText(decodeInput(body))
    onAccepted?.(result.count)
    return reply.code(202).send(result)
  })
}
