// GET /metrics — Prometheus text exposition of this process's registry (metrics.ts).
import type { FastifyInstance } from 'fastify'
import type { ServingMetrics } from '../metrics.ts'

export interface MetricsRouteOptions {
  metrics: ServingMetrics
}

export async function metricsRoute(app: FastifyInstance, { metrics }: MetricsRouteOptions): Promise<void> {
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.render()
    return reply.type(metrics.contentType).send(text)
  })
}
