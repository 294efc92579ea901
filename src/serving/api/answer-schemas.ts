// JSON schemas of the API's answers, shared by the routes' `response` schemas. They do two jobs:
// the OpenAPI document (openapi.ts) is generated from them, and Fastify serializes answers with
// them (fast-json-stringify). The second job is why every schema here is complete: a property
// a schema does not name is dropped from the answer. Where the shape is the user's (a view's
// value: a number, a list, a sketch's result), the schema is `{}`, any JSON, written as is.
// test/serving/api/openapi.test.ts checks every documented route has a schema for its answers.
import { errorTable } from '../../core/errors.ts'

/** Any JSON value (a view's result: its shape is the aggregate's). */
export const anyValue = { description: "the view's result; its shape is the aggregate's" } as const

/** Offsets per partition. */
export const horizonSchema = { type: 'array', items: { type: 'integer' } } as const

const nullableOffsets = { type: 'array', items: { type: ['integer', 'null'] } } as const

/** `{ error: { code, message, line?, field? } }`: every refusal (serving/errors.ts). */
export const errorEnvelope = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: Object.values(errorTable).map(([code]) => code) },
        message: { type: 'string' },
        line: { type: 'integer', description: 'the NDJSON line of a refused event, from 1' },
        field: { type: 'string', description: 'the field or argument at fault' },
      },
    },
  },
} as const

const errorWhy: Readonly<Record<number, string>> = {
  400: 'bad input: the code and message say what (the NDJSON line and field when known)',
  401: 'the token is missing or wrong (docs/security.md)',
  403: 'the Host header is not one this server answers to (--allowed-hosts)',
  404: 'no view of that name',
  413: 'the body or one event is too large',
  415: 'a content type POST /events does not take (the message lists those it takes), a charset other than UTF-8 (field content-type), or a compressed body (field content-encoding)',
  422: 'the answer would be too large',
  500: 'a failure in Strata; the server log has the cause',
  503: 'starting, shutting down, or the store is unavailable (Retry-After when it will answer later)',
  507: 'no room on the data folder’s disk; nothing was written',
}

/**
 * Response schemas for refusals: the given statuses, and `default` for those any route may answer
 * (401, 403, 500, 503: hooks that run before every route).
 */
export function errorAnswers(...statuses: number[]): Record<string, object> {
  const answers: Record<string, object> = {}
  for (const status of statuses) {
    answers[status] = { description: errorWhy[status] ?? 'refused', ...errorEnvelope }
  }
  answers.default = {
    description: 'refused: 401 without the token, 403 unknown host, 500, 503 starting or shutting down',
    ...errorEnvelope,
  }
  return answers
}

/** The served batch version an answer merges, or null before the first batch run. */
export const answerBatchSchema = {
  type: ['object', 'null'],
  required: ['version', 'horizon', 'codeHash', 'completedAt'],
  properties: {
    version: { type: 'integer' },
    horizon: horizonSchema,
    codeHash: { type: 'string' },
    completedAt: { type: 'integer', description: 'epoch ms' },
  },
} as const

/** What every answer of a view says it covers (query.ts: QueryAnswer). */
export const coverageProperties = {
  batch: answerBatchSchema,
  speed: { ...nullableOffsets, description: "the speed layer's consumed offset per partition" },
  asOf: {
    ...horizonSchema,
    description: 'the answer equals the view folded over every event below these offsets',
  },
  recomputing: { type: 'boolean', description: 'the served batch version is of an older definition' },
  lag: {
    type: ['array', 'null'],
    items: { type: 'integer' },
    description: "per partition, the log's end − asOf; null when the end is unknown",
  },
} as const

const overflowSchema = {
  type: 'string',
  enum: ['Infinity', '-Infinity', 'NaN'],
  description:
    'present when the value is a number past ±1.8e308 (a sum that overflowed): JSON has no Infinity, so value is null and this says what it is',
} as const

const windowSchema = {
  type: 'object',
  required: ['windowStart', 'windowEnd', 'value'],
  properties: {
    windowStart: { type: 'integer', description: 'epoch ms' },
    windowEnd: { type: 'integer', description: 'epoch ms, exclusive' },
    value: anyValue,
    overflow: overflowSchema,
    batch: { description: 'the batch part of the value (with parts=true)' },
    speed: { description: 'the speed part of the value (with parts=true)' },
  },
} as const

/** GET /views/:view/:key and POST /views/:view/query. */
export const queryAnswerSchema = {
  type: 'object',
  required: ['view', 'key', 'batch', 'speed', 'asOf', 'recomputing', 'lag'],
  properties: {
    view: { type: 'string' },
    key: { type: 'string' },
    windows: { type: 'array', items: windowSchema, description: 'per window, ascending (windowed views)' },
    value: { description: 'the value of a view without a window' },
    overflow: overflowSchema,
    ...coverageProperties,
  },
} as const

/** A recorded failure of a view's code on one event (core/view-errors.ts). */
export const foldErrorSchema = {
  type: 'object',
  required: ['view', 'partition', 'offset', 'message'],
  properties: {
    view: { type: 'string' },
    partition: { type: 'integer' },
    offset: { type: 'integer' },
    message: { type: 'string' },
  },
} as const

// core/view-errors.ts: ViewState (viewState is the rule) and ViewStop.
export const viewStateSchema = {
  type: 'string',
  enum: ['ok', 'failing', 'stopped'],
  description:
    "stopped: a layer stopped on an event the view (onError('stop')) threw on (stops); failing: its code throws on most events",
} as const

export const viewStopsSchema = {
  type: 'array',
  description: "where the view (onError('stop')) threw and stopped a layer: a speed partition, the batch run",
  items: {
    type: 'object',
    required: [...foldErrorSchema.required, 'layer'],
    properties: { ...foldErrorSchema.properties, layer: { type: 'string', enum: ['speed', 'batch'] } },
  },
} as const
