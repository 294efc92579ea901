// The serving layer's HTTP server. Routes are Fastify plugins registered here; each takes the
// parts of the running pipeline it needs, so `strata worker serve` can start it without ingest.
import Fastify, { type FastifyInstance } from 'fastify'
import type { Ingest } from '../ingest/ingest.ts'
import { eventsRoute } from './api/events-route.ts'
import { installErrorHandler } from './errors.ts'

export interface ServerOptions {
  ingest?: Ingest
  /** Largest request body in bytes (default 16 MiB). */
  bodyLimit?: number
  logger?: boolean
}

export async function createServer(options: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: options.bodyLimit ?? 16 * 1024 * 1024,
    logger: options.logger ?? false,
    // A slow or stuck client must not hold a connection forever.
    requestTimeout: 30_000,
  })
  installErrorHandler(app)
  app.get('/health', async () => ({ status: 'ok' }))
  if (options.ingest) await app.register(eventsRoute, { ingest: options.ingest })
  return app
}
