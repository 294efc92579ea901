// `strata start`: every role in one process. With brokers: ingest to Kafka, the archiver copies
// the topic into the master dataset, the speed layer reads it as a consumer group, the batch
// layer recomputes on a schedule and publishes to Kafka. Without: the embedded default, where the
// master dataset's segments are the log that ingest appends to and the speed layer reads.
import type { StrataConfig } from '../core/config.ts'
import { RoleHealth } from '../core/role-health.ts'
import { startTraffic } from '../demo/traffic.ts'
import type { EventSink } from '../ingest/ingest.ts'
import { createIngest } from '../ingest/ingest.ts'
import { createKafkaSink } from '../ingest/kafka-sink.ts'
import type { HttpAuth } from '../serving/auth.ts'
import type { HttpLimits } from '../serving/limits.ts'
import { createStartingGate, later, startingError } from '../serving/starting.ts'
import type { SpeedWorker } from '../speed/index.ts'
import type { Store } from '../store/store.ts'
import type { Logger } from './logger.ts'
import { batchReporter, embeddedLogReporter, speedReporter } from './role-reporters.ts'
import {
  type Closable,
  kafkaEndOffsets,
  logSink,
  openEmbeddedLog,
  startArchiverRole,
  startBatchRole,
  startServeRole,
  startSpeedRole,
} from './roles.ts'
import { checkRoleSource } from './source-identity.ts'
import { checkStoreAgainstLog } from './store-check.ts'

const STORE_WHERE =
  'the folder <data>/store, or the --store folder; for PostgreSQL, drop or rename the schema'

export interface PipelineOptions {
  config: StrataConfig
  configPath: string
  masterRoot: string
  store: Store
  logger: Logger
  brokers?: string
  /** Consumer groups <prefix>-speed and <prefix>-archiver (default strata). */
  groupPrefix?: string
  port: number
  host?: string
  batchIntervalMs: number
  /** How long a master-dataset segment stays open before it is sealed (and batch can read it). */
  segmentAgeMs: number
  /** Generated traffic, events per second (0: none). */
  demoRate: number
  /** The HTTP token (auth.ts); without it every route is open. */
  auth?: HttpAuth
  limits?: HttpLimits
  allowedHosts?: readonly string[]
}

export interface Pipeline {
  url: string
  close(): Promise<void>
}

export async function startPipeline(options: PipelineOptions): Promise<Pipeline> {
  const { logger } = options
  const prefix = options.groupPrefix ?? 'strata'
  const context = { ...options }
  // The port first: a port in use fails here, before a partition is claimed, another speed
  // layer fenced or a byte written. Until the layers are up, routes answer 503
  // STRATA_ERR_STARTING (serving/starting.ts).
  const starting = createStartingGate()
  const roles = new RoleHealth()
  const sink = later<EventSink>()
  let endOffsets: (() => Promise<number[]>) | undefined
  let speed: SpeedWorker | undefined
  const serve = await startServeRole(context, {
    port: options.port,
    host: options.host,
    sink: sink.value,
    endOffsets: () => (endOffsets ? endOffsets() : Promise.reject(startingError())),
    speed: {
      stats: () => speed?.stats() ?? { mode: options.brokers ? 'kafka' : 'embedded', partitions: [] },
    },
    auth: options.auth,
    limits: options.limits,
    allowedHosts: options.allowedHosts,
    starting,
    roles,
  })
  const closables: Closable[] = [] // closed in reverse after serving: the log last
  const close = async (onError: (e: unknown) => void) => {
    await serve.close().catch(onError)
    for (const c of closables.reverse()) await c.close().catch(onError)
  }
  try {
    let speedLog: Parameters<typeof startSpeedRole>[1]
    await checkRoleSource('start', context) // the topic ensured; data folder and store of this source
    if (options.brokers) {
      const kafkaSink = createKafkaSink({
        brokers: options.brokers,
        topic: options.config.source.topic,
        partitions: options.config.source.partitions,
        replicationFactor: options.config.source.replicationFactor,
      })
      closables.push(kafkaSink)
      sink.set(kafkaSink)
      endOffsets = kafkaEndOffsets(context)
      closables.push(
        await startArchiverRole({ ...context, groupId: `${prefix}-archiver` }, options.segmentAgeMs),
      )
    } else {
      const log = await openEmbeddedLog(context, options.segmentAgeMs)
      closables.push(log)
      await checkStoreAgainstLog(options.store, await log.endOffsets(), STORE_WHERE)
      sink.set(logSink(log))
      endOffsets = () => log.endOffsets()
      speedLog = log
      roles.add(embeddedLogReporter(log))
      logger.info(`embedded log and master dataset in ${options.masterRoot}`)
    }
    speed = await startSpeedRole(
      options.brokers ? { ...context, groupId: `${prefix}-speed` } : context,
      speedLog,
    )
    closables.push(speed)
    const running = speed
    const readEnd = endOffsets
    roles.add(speedReporter(() => running.stats(), readEnd))
    const batch = startBatchRole(context, options.batchIntervalMs, Math.min(options.batchIntervalMs, 15_000))
    closables.push(batch)
    roles.add(batchReporter(batch))
    if (options.demoRate > 0) {
      const ingest = createIngest({ sink: sink.value, timeField: options.config.source.time })
      const traffic = startTraffic({
        ingest,
        rate: options.demoRate,
        onError: (e) => logger.error('demo traffic', e),
      })
      closables.push(traffic)
      logger.info(`demo traffic: ${options.demoRate} events/s`)
    }
    starting.open()
    return {
      url: serve.url,
      close: () => close((e) => logger.error('while stopping', e)),
    }
  } catch (error) {
    await close(() => undefined)
    throw error
  }
}
