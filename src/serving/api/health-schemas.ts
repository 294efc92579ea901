// Response schemas of GET /health, /health/live and /health/ready (health-route.ts says what each
// part means). A 503 is either the health answer (a part down, or status "starting" while the
// layers come up: starting.ts) or the error envelope (shutting down: drain.ts), hence anyOf.
import { ROLE_STATES } from '../../core/role-health.ts'
import { errorAnswers, errorEnvelope } from './answer-schemas.ts'

const partSchema = {
  type: 'object',
  required: ['status'],
  properties: {
    status: { type: 'string', enum: ['up', 'down', 'absent', 'failing'] },
    error: { type: 'string', description: 'why it is down: an error code' },
    lost: { type: 'integer', description: 'records retention deleted before the speed layer read them' },
    views: {
      type: 'array',
      items: { type: 'string' },
      description: 'the views that are not ok: failing (their code throws on most events) or stopped',
    },
    stopped: {
      type: 'array',
      items: { type: 'string' },
      description: "the views a layer stopped on (onError('stop')): their answers no longer move",
    },
  },
} as const

const roleSchema = {
  type: 'object',
  required: ['role', 'state'],
  properties: {
    role: { type: 'string' },
    state: { type: 'string', enum: ROLE_STATES },
    reason: { type: 'string', description: 'why it is not running, with the error code' },
    failures: { type: 'integer', description: 'failures in a row now' },
    held: {
      type: 'string',
      description:
        'present while the role holds its batches because POST /events bursts (at most 2 s at a time, then as long free): why its lag rises meanwhile',
    },
    partitions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['partition', 'state'],
        properties: {
          partition: { type: 'integer' },
          state: { type: 'string', enum: ROLE_STATES },
          lag: { type: ['integer', 'null'] },
          reason: { type: 'string' },
        },
      },
    },
    instance: {
      type: 'object',
      required: ['host', 'pid', 'startedAt'],
      properties: { host: { type: 'string' }, pid: { type: 'integer' }, startedAt: { type: 'string' } },
      description:
        'present on a worker of another process seen through its heartbeat in the store (strata worker serve): its host, pid and start',
    },
    heardAt: { type: 'string', description: "that worker's last heartbeat (ISO time)" },
    heardAgoMs: {
      type: 'integer',
      description: 'ms since that heartbeat; past 30000 the worker is stalled ("no heartbeat … for N s")',
    },
    progress: {
      type: 'object',
      additionalProperties: { type: ['number', 'string', 'null'] },
      description:
        "its progress: a worker's totals and each partition's lag (lag.pN) when last heard; the batch role's lastRunAt, lastFailedAt and nextRunAt (ISO times, null when none)",
    },
    totals: {
      type: 'object',
      additionalProperties: { type: 'integer' },
      description:
        'what the role has done since it started (the archiver: segments, records, rejected; the batch layer: damagedSegments, sealed segments found failing their checksum; segmentsChecked of segmentsListed, how far the scrub of those segments is)',
    },
  },
} as const

const rolesSchema = { type: 'array', items: roleSchema } as const

const healthSchema = {
  type: 'object',
  required: ['status'],
  properties: {
    status: { type: 'string', enum: ['ok', 'degraded', 'down', 'starting'] },
    reason: {
      type: 'string',
      description:
        'with status "starting": what the start waits for now (the store, the brokers) and why, as its log says',
    },
    parts: {
      type: 'object',
      properties: { store: partSchema, log: partSchema, ingest: partSchema, views: partSchema },
    },
    roles: rolesSchema,
  },
} as const

const liveSchema = {
  type: 'object',
  required: ['status'],
  properties: {
    status: { type: 'string', enum: ['alive', 'failed'] },
    starting: { type: 'boolean' },
    roles: { ...rolesSchema, description: 'the roles that failed for good' },
  },
} as const

const readySchema = {
  type: 'object',
  required: ['status'],
  properties: {
    status: { type: 'string', enum: ['ready', 'not ready', 'starting'] },
    reason: { type: 'string', description: 'with status "starting": what the start waits for now and why' },
    parts: { type: 'object', properties: { store: partSchema } },
  },
} as const

const unavailable = (description: string, body: object) => ({ description, anyOf: [body, errorEnvelope] })

export const healthRouteSchema = {
  summary: 'Every part and role of this process with its state',
  response: {
    200: { description: 'ok or degraded', ...healthSchema },
    503: unavailable('down, starting, or shutting down (the error envelope)', healthSchema),
    ...errorAnswers(),
  },
} as const

export const liveRouteSchema = {
  summary: 'Liveness: 503 asks a supervisor to restart the process',
  response: {
    200: liveSchema,
    503: unavailable('a role failed for good, or shutting down (the error envelope)', liveSchema),
    ...errorAnswers(),
  },
} as const

export const readyRouteSchema = {
  summary: 'Readiness: 200 when queries can be answered',
  response: {
    200: readySchema,
    503: unavailable('the store is down, starting, or shutting down (the error envelope)', readySchema),
    ...errorAnswers(),
  },
} as const
