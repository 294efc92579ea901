// The serving layer as the CLI starts it: from a config and an open store, plus whatever else
// runs in the process. `strata start` passes a sink (or an ingest) and the log's end offsets;
// `strata worker serve` passes the store, and end offsets from Kafka admin if it has brokers.
//
//   const app = await createApp({ config, store, sink, endOffsets: () => log.endOffsets() })
//   const { url } = await listen(app, { port: 8080 })     // … later: await app.close()
//
// The caller owns the store, the log and the sink: closing the app closes only the HTTP server.
import type { FastifyInstance } from 'fastify'
import { compileViews, type StrataConfig } from '../core/config.ts'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import { createIngest, type EventSink, type Ingest } from '../ingest/ingest.ts'
import type { Store } from '../store/store.ts'
import { createServer, type ServerOptions } from './server.ts'

export interface AppOptions extends Omit<ServerOptions, 'store' | 'views' | 'ingest'> {
  config: StrataConfig
  store: Store
  /** Where POST /events writes: an ingest is built with the source's event-time field. */
  sink?: EventSink
  /** An ingest built by the caller (instead of `sink`). */
  ingest?: Ingest
}

export async function createApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, store, sink, ingest, ...rest } = options
  return createServer({
    ...rest,
    store,
    views: compileViews(config),
    realtimeKeys: rest.realtimeKeys ?? ((view: string) => store.realtimeKeys(view)),
    ingest: ingest ?? (sink ? createIngest({ sink, timeField: config.source.time }) : undefined),
  })
}

/** The API's port when none is given (docs/architecture.md); the command line's default too (cli/settings.ts). */
export const DEFAULT_PORT = 8080

export interface ListenOptions {
  /** Default DEFAULT_PORT; 0 picks a free port. */
  port?: number
  /** Default 127.0.0.1: exposing the API beyond the machine is a decision, not a default. */
  host?: string
}

/** Starts listening; resolves with the base URL (http://host:port) once the port is bound. */
export async function listen(app: FastifyInstance, options: ListenOptions = {}): Promise<{ url: string }> {
  const host = options.host ?? '127.0.0.1'
  const wanted = options.port ?? DEFAULT_PORT
  await app.listen({ port: wanted, host }).catch((error) => {
    if (error?.code !== 'EADDRINUSE') throw error
    throw new StrataError(
      ErrorCodes.PORT_IN_USE,
      `port ${wanted} on ${host} is in use (another strata?); stop what listens there, or give another --port`,
      { cause: error },
    )
  })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : options.port
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}` }
}
