// `strata worker speed|batch|archiver|serve`: one role per process, for deployments across
// processes and machines. Every role of a deployment shares one store (PostgreSQL across
// machines) and one Kafka cluster.
import type { Command } from 'commander'
import { parseDuration } from '../../core/duration.ts'
import { ErrorCodes, invalidInput } from '../../core/errors.ts'
import { createLogger } from '../../runtime/logger.ts'
import { ROLES, type Role, startRoles } from '../../runtime/pipeline.ts'
import type { Store } from '../../store/store.ts'
import { addCommonOptions, resolveContext } from '../context.ts'
import { positiveInt } from '../options.ts'
import {
  addHttpSecurityOptions,
  checkSecuritySettings,
  type HttpSecurityFlags,
  httpLimitsOf,
  resolveAllowedHosts,
  resolveHttpAuth,
} from '../security.ts'
import { defaultPort, resolveSettings, type SettingsFlags } from '../settings.ts'
import { onShutdown } from '../shutdown.ts'
import { defaultStartupTimeout, describeStore, waitFor } from '../startup.ts'
import { lockWrittenFolders } from '../writer-lock.ts'

interface WorkerFlags extends SettingsFlags, HttpSecurityFlags {
  host: string
  batchInterval: string
  segmentAge: string
  startupTimeout: string
  ingest?: boolean
}

export function registerWorkerCommand(program: Command): void {
  addCommonOptions(
    addHttpSecurityOptions(program.command('worker'))
      .description(
        'run one role: speed (consumer group strata-speed), batch (on a schedule), archiver, serve',
      )
      .argument('<role>', ROLES.join(' | ')),
  )
    .option('-b, --brokers <list>', 'Kafka bootstrap brokers (env STRATA_BROKERS)')
    .option('-g, --group <id>', 'consumer group of speed or archiver (default strata-speed, strata-archiver)')
    .option(
      '-p, --port <n>',
      `HTTP port for serve (env STRATA_PORT; default ${defaultPort})`,
      positiveInt('--port'),
    )
    .option('--host <host>', 'HTTP address for serve', '127.0.0.1')
    .option('--batch-interval <duration>', 'time between batch runs', '1m')
    .option('--segment-age <duration>', 'longest an archived segment stays open', '10s')
    .option('--ingest', 'serve: also take POST /events and write it to the source topic (needs --brokers)')
    .option(
      '--startup-timeout <duration>',
      'how long to wait at start for the store and Kafka to be reachable, then exit 1',
      defaultStartupTimeout,
    )
    .action(async (role: string, flags: WorkerFlags) => {
      if (!(ROLES as readonly string[]).includes(role)) {
        throw invalidInput(ErrorCodes.INVALID_ARGUMENT, `unknown role "${role}": use ${ROLES.join(', ')}`, {
          field: 'role',
        })
      }
      const settings = resolveSettings(flags, { serves: role === 'serve' })
      const { brokers } = settings
      if (settings.mode === 'embedded' && (role === 'speed' || role === 'archiver')) {
        throw invalidInput(
          ErrorCodes.INVALID_ARGUMENT,
          `strata worker ${role} reads Kafka: give --brokers (or STRATA_BROKERS); for one machine, use strata start`,
          { field: 'brokers' },
        )
      }
      if (flags.ingest && (role !== 'serve' || !brokers)) {
        throw invalidInput(
          ErrorCodes.INVALID_ARGUMENT,
          role === 'serve'
            ? 'strata worker serve --ingest writes to Kafka: give --brokers (or STRATA_BROKERS)'
            : '--ingest is an option of strata worker serve',
          { field: 'ingest' },
        )
      }
      const logger = createLogger(role)
      const auth = role === 'serve' ? resolveHttpAuth(flags) : undefined
      checkSecuritySettings(logger, brokers, settings.storeUrl)
      const context = await resolveContext(settings)
      const timeoutMs = parseDuration(flags.startupTimeout, '--startup-timeout')
      // One writer per folder (writer-lock.ts): the archiver's master dataset, speed's LMDB store.
      const lock = lockWrittenFolders(context, `strata worker ${role}`, {
        masterDataset: role === 'archiver',
        speedStore: role === 'speed',
      })
      const storeName = describeStore(settings.storeUrl)
      let store: Store | undefined
      const http = settings.http
      // The roles' composition (runtime/pipeline.ts), as strata start's: serve binds its port
      // first, so a port in use fails before anything else.
      const running = await startRoles({
        run: role as Role,
        config: context.config,
        configPath: context.configPath,
        masterRoot: context.masterRoot,
        logger,
        brokers,
        groups: settings.groups,
        // A store or broker down at start is waited for (startup.ts), not a crash loop.
        openStore: async () => {
          store = await waitFor(storeName, () => context.openStore(), {
            timeoutMs,
            logger,
            code: ErrorCodes.STORE_UNAVAILABLE,
          })
          return store
        },
        attempt: (step) =>
          waitFor(
            (error) => (error.code === ErrorCodes.STORE ? storeName : `Kafka at ${brokers ?? 'the brokers'}`),
            step,
            { timeoutMs, logger, code: ErrorCodes.KAFKA_UNAVAILABLE },
          ),
        http: http && {
          port: http.port,
          host: http.host,
          auth,
          limits: httpLimitsOf(flags),
          allowedHosts: resolveAllowedHosts(flags, http.host),
          ingest: flags.ingest,
        },
        batchIntervalMs: parseDuration(flags.batchInterval, '--batch-interval'),
        segmentAgeMs: parseDuration(flags.segmentAge, '--segment-age'),
      })
      onShutdown(logger, async () => {
        await running.close()
        await store?.close()
        lock.release()
      })
    })
}
