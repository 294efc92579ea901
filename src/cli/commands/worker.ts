// `strata worker speed|batch|archiver|serve`: one role per process, for deployments across
// processes and machines. Every role of a deployment shares one store (PostgreSQL across
// machines) and one Kafka cluster.
import type { Command } from 'commander'
import { parseDuration } from '../../core/duration.ts'
import { ErrorCodes, invalidInput } from '../../core/errors.ts'
import { createLogger } from '../../runtime/logger.ts'
import { batchReporter, speedReporter } from '../../runtime/role-reporters.ts'
import {
  type Closable,
  kafkaEndOffsets,
  startArchiverRole,
  startBatchRole,
  startSpeedRole,
} from '../../runtime/roles.ts'
import { checkRoleSource } from '../../runtime/source-identity.ts'
import { addCommonOptions, type CommonFlags, resolveContext } from '../context.ts'
import { positiveInt } from '../options.ts'
import { exitWhenFailed } from '../role-watch.ts'
import {
  addHttpSecurityOptions,
  checkSecuritySettings,
  type HttpSecurityFlags,
  httpLimitsOf,
  resolveAllowedHosts,
  resolveHttpAuth,
} from '../security.ts'
import { bindServeRole } from '../serve-first.ts'
import { onShutdown } from '../shutdown.ts'
import { defaultStartupTimeout, describeStore, waitFor } from '../startup.ts'
import { lockWrittenFolders } from '../writer-lock.ts'

const roles = ['speed', 'batch', 'archiver', 'serve'] as const
type Role = (typeof roles)[number]

interface WorkerFlags extends CommonFlags, HttpSecurityFlags {
  brokers?: string
  group?: string
  port?: number
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
      .argument('<role>', roles.join(' | ')),
  )
    .option('-b, --brokers <list>', 'Kafka bootstrap brokers (env STRATA_BROKERS)')
    .option('-g, --group <id>', 'consumer group of speed or archiver (default strata-speed, strata-archiver)')
    .option('-p, --port <n>', 'HTTP port for serve (env STRATA_PORT; default 8080)', positiveInt('--port'))
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
      if (!(roles as readonly string[]).includes(role)) {
        throw invalidInput(ErrorCodes.INVALID_ARGUMENT, `unknown role "${role}": use ${roles.join(', ')}`, {
          field: 'role',
        })
      }
      const brokers = flags.brokers ?? process.env.STRATA_BROKERS
      if (!brokers && (role === 'speed' || role === 'archiver')) {
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
      checkSecuritySettings(logger, brokers, flags.store ?? process.env.STRATA_STORE)
      const context = await resolveContext(flags)
      const storeUrl = flags.store ?? process.env.STRATA_STORE
      const timeoutMs = parseDuration(flags.startupTimeout, '--startup-timeout')
      // One writer per folder (writer-lock.ts): the archiver's master dataset, speed's LMDB store.
      const lock = lockWrittenFolders(context, `strata worker ${role}`, {
        masterDataset: role === 'archiver',
        speedStore: role === 'speed',
      })
      // serve binds its port first: a port in use fails before anything else (serve-first.ts).
      const served =
        role === 'serve'
          ? await bindServeRole(
              { ...context, logger, brokers },
              {
                port:
                  flags.port ??
                  (process.env.STRATA_PORT ? positiveInt('STRATA_PORT')(process.env.STRATA_PORT) : 8080),
                host: flags.host,
                auth,
                limits: httpLimitsOf(flags),
                allowedHosts: resolveAllowedHosts(flags, flags.host),
                ingest: flags.ingest,
              },
            )
          : undefined
      // A store or broker down at start is waited for (startup.ts), not a crash loop.
      const store = await waitFor(describeStore(storeUrl), () => context.openStore(), {
        timeoutMs,
        logger,
        code: ErrorCodes.STORE_UNAVAILABLE,
      })
      const roleContext = { ...context, store, logger, brokers, groupId: flags.group }
      const waitForKafka = <T>(start: () => Promise<T>) =>
        waitFor(
          (error) =>
            error.code === ErrorCodes.STORE
              ? describeStore(storeUrl)
              : `Kafka at ${brokers ?? 'the brokers'}`,
          start,
          { timeoutMs, logger, code: ErrorCodes.KAFKA_UNAVAILABLE },
        )
      // The source topic ensured, and the data folder and the store checked against it.
      await waitForKafka(() => checkRoleSource(role as Role, roleContext))
      let running: Closable
      switch (role as Role) {
        case 'speed': {
          const speed = await waitForKafka(() => startSpeedRole(roleContext))
          const watch = exitWhenFailed(
            'speed layer',
            speedReporter(() => speed.stats(), kafkaEndOffsets(roleContext)),
            logger,
          )
          running = {
            async close() {
              watch.stop()
              await speed.close()
            },
          }
          break
        }
        case 'archiver': {
          const segmentAge = parseDuration(flags.segmentAge, '--segment-age')
          running = await waitForKafka(() => startArchiverRole(roleContext, segmentAge))
          break
        }
        case 'batch': {
          const schedule = startBatchRole(
            roleContext,
            parseDuration(flags.batchInterval, '--batch-interval'),
            0,
          )
          // The schedule's timer is unref'd (so `strata start` and tests end when they close), and
          // between runs nothing else holds the event loop once the store's idle connections close
          // (pg's 10 s idle timeout, or a PostgreSQL restart): the worker then "ended by itself"
          // and exited 1 before its next run. The role runs until a signal.
          const hold = setInterval(() => undefined, 2 ** 30)
          const watch = exitWhenFailed('batch layer', batchReporter(schedule), logger)
          running = {
            async close() {
              clearInterval(hold)
              watch.stop()
              await schedule.close()
            },
          }
          break
        }
        case 'serve':
          running = served!
          served!.open(store)
          break
      }
      onShutdown(logger, async () => {
        await running.close()
        await store.close()
        lock.release()
      })
    })
}
