// `strata worker serve` binds its port before it waits for the store (which may take minutes
// while PostgreSQL starts): a port in use fails at once, and meanwhile the routes answer 503
// STRATA_ERR_STARTING (serving/starting.ts) instead of the connection being refused.

import { RoleHealth } from '../core/role-health.ts'
import { createKafkaSink } from '../ingest/kafka-sink.ts'
import type { Logger } from '../runtime/logger.ts'
import { storeSpeedReporter } from '../runtime/role-reporters.ts'
import { type Closable, kafkaEndOffsets, startServeRole } from '../runtime/roles.ts'
import type { HttpAuth } from '../serving/auth.ts'
import type { HttpLimits } from '../serving/limits.ts'
import { createStartingGate, later } from '../serving/starting.ts'
import type { Store } from '../store/store.ts'
import type { Context } from './context.ts'

export interface BoundServe extends Closable {
  /** The store is open: the routes answer from now on. */
  open(store: Store): void
}

export async function bindServeRole(
  context: Context & { logger: Logger; brokers?: string },
  options: {
    port: number
    host: string
    auth?: HttpAuth
    limits?: HttpLimits
    allowedHosts?: readonly string[]
    ingest?: boolean
  },
): Promise<BoundServe> {
  const { brokers } = context
  const store = later<Store>()
  const starting = createStartingGate()
  const roleContext = { ...context, store: store.value }
  // --ingest: an ingest-only front (no speed layer or archiver in this process), the same
  // producer and validation as strata start's POST /events.
  const sink =
    options.ingest && brokers
      ? createKafkaSink({
          brokers,
          topic: context.config.source.topic,
          partitions: context.config.source.partitions,
          replicationFactor: context.config.source.replicationFactor,
        })
      : undefined
  // No speed layer here: its partitions as the store shows them (a stall anywhere is seen).
  const roles = new RoleHealth()
  const endOffsets = brokers ? kafkaEndOffsets(roleContext) : undefined
  if (endOffsets) roles.add(storeSpeedReporter(store.value, endOffsets))
  const serve = await startServeRole(roleContext, {
    port: options.port,
    host: options.host,
    auth: options.auth,
    limits: options.limits,
    allowedHosts: options.allowedHosts,
    sink,
    endOffsets,
    starting,
    roles,
  }).catch(async (error) => {
    await sink?.close()
    throw error
  })
  return {
    open(real) {
      store.set(real)
      starting.open()
    },
    async close() {
      await serve.close()
      await sink?.close()
    },
  }
}
