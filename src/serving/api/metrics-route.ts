// GET /metrics — Prometheus text exposition of this process's registry (metrics.ts).
import type { FastifyInstance } from 'fastify'
import type { ServingMetrics } from '../metrics.ts'
import { errorAnswers } from './answer-schemas.ts'

export interface MetricsRouteOptions {
  metrics: ServingMetrics
}

const schema = {
  summary: 'Prometheus text exposition',
  produces: ['text/plain'],
  response: {
    200: {
      description: 'Prometheus text format 0.0.4',
      content: { 'text/plain': { schema: { type: 'string' } } },
    },
    ...errorAnswers(),
  },
} as const

export async function metricsRoute(app: FastifyInstance, { metrics }: MetricsRouteOptions): Promise<void> {
  app.get('/metrics', { schema }, async (_request, reply) => {
    const text = await metrics.render()
    return reply.type(metrics.contentType).send(text)
  })
}
