// `strata worker speed|batch|archiver|serve`: one role per process, for deployments across
// processes and machines. Every role of a deployment shares one store (PostgreSQL across
// machines) and one Kafka cluster.
import type { Command } from 'commander'
import { ErrorCodes, invalidInput } from '../../core/errors.ts'
import { createLogger } from '../../runtime/logger.ts'
import { ROLES, type Role } from '../../runtime/pipeline.ts'
import { defaultStartupTimeout } from '../../runtime/startup.ts'
import { startStrata } from '../../runtime/strata.ts'
import { chooseConfig } from '../config-note.ts'
import { addCommonOptions } from '../context.ts'
import { addEngineOptions, type EngineFlags, resolveEngine } from '../engine-flags.ts'
import { flagDuration, port } from '../options.ts'
import {
  addHttpSecurityOptions,
  checkSecuritySettings,
  type HttpSecurityFlags,
  httpOptionsOf,
} from '../security.ts'
import { defaultPort, resolveSettings, type SettingsFlags } from '../settings.ts'
import { startUntilSignal } from '../shutdown.ts'

interface WorkerFlags extends SettingsFlags, HttpSecurityFlags, EngineFlags {
  host: string
  batchInterval: string
  segmentAge: string
  startupTimeout: string
  ingest?: boolean
}

export function registerWorkerCommand(program: Command): void {
  addCommonOptions(
    addEngineOptions(addHttpSecurityOptions(program.command('worker')))
      .description(
        'run one role: speed (consumer group strata-speed), batch (on a schedule), archiver, serve',
      )
      .argument('<role>', ROLES.join(' | ')),
  )
    .option('-b, --brokers <list>', 'Kafka bootstrap brokers (env STRATA_BROKERS)')
    .option('-g, --group <id>', 'consumer group of speed or archiver (default strata-speed, strata-archiver)')
    .option('-p, --port <n>', `HTTP port for serve (env STRATA_PORT; default ${defaultPort})`, port('--port'))
    .option('--host <host>', 'HTTP address for serve', '127.0.0.1')
    .option('--batch-interval <duration>', 'time between batch runs', '1m')
    .option('--segment-age <duration>', 'longest an archived segment stays open', '10s')
    .option(
      '--session-timeout <duration>',
      'consumer-group session timeout of the speed or archiver role: how long a killed member keeps its partitions, 6s to 30m (env STRATA_SESSION_TIMEOUT; default 30s)',
    )
    .option(
      '--hang-timeout <duration>',
      "how long a view's code may go without returning: the batch layer says stalled and a stop ends the thread past it, the speed layer says stalled past half of it; 2s to 24d (env STRATA_HANG_TIMEOUT; default 60s)",
    )
    .option('--ingest', 'serve: also take POST /events and write it to the source topic (needs --brokers)')
    .option(
      '--startup-timeout <duration>',
      'how long the whole start may wait for the store and Kafka to be reachable (retrying), a broker or PostgreSQL to answer, then exit 1',
      defaultStartupTimeout,
    )
    .action(async (role: string, flags: WorkerFlags) => {
      // One role: the API's 'all' is `strata start`.
      if (!(ROLES as readonly string[]).includes(role)) {
        throw invalidInput(ErrorCodes.INVALID_ARGUMENT, `unknown role "${role}": use ${ROLES.join(', ')}`, {
          field: 'role',
        })
      }
      refuseGroupFlags(role, flags)
      const settings = resolveSettings(flags, { serves: role === 'serve' })
      const logger = createLogger(role)
      // The batch role's engine; the other roles have no batch to run.
      const engine = resolveEngine(flags, (line) => logger.info(line))
      if (engine.engine === 'spark' && role !== 'batch') {
        throw invalidInput(ErrorCodes.INVALID_ARGUMENT, `--engine spark is for the batch role, not ${role}`, {
          field: '--engine',
        })
      }
      const http = httpOptionsOf(flags, settings.http)
      checkSecuritySettings(logger, settings.brokers, settings.storeUrl)
      // No --config and no ./strata.config.ts: the config `strata start` noted in the data folder,
      // by the rule of every command that reads one (config-note.ts).
      const configPath = chooseConfig(settings.configPath, settings.dataDir, (line) => logger.info(line))
      // The programmatic API (runtime/strata.ts) on what the flags and environment resolved to;
      // it refuses a role that cannot run on them (speed without Kafka, --ingest off serve).
      await startUntilSignal(logger, (signal) =>
        startStrata({
          role: role as Role,
          config: configPath,
          data: settings.dataDir,
          store: settings.storeUrl,
          master: settings.master,
          s3: settings.s3,
          brokers: settings.brokers,
          group: flags.group,
          sessionTimeout: settings.sessionTimeout,
          hangTimeout: settings.hangTimeout,
          ingest: flags.ingest,
          ...http,
          batchInterval: flagDuration(flags.batchInterval, '--batch-interval'),
          batchEngine: engine.engine,
          ...(engine.spark ? { spark: engine.spark } : {}),
          segmentAge: flagDuration(flags.segmentAge, '--segment-age'),
          // A store or broker down at start is waited for (runtime/startup.ts), not a crash loop.
          startupTimeout: flagDuration(flags.startupTimeout, '--startup-timeout'),
          startupRetry: true,
          logger,
          signal,
        }),
      )
    })
}

/**
 * --group and --session-timeout tune a consumer group: only speed and archiver join one. Given
 * on serve or batch they would be silently ignored, so they are refused; STRATA_SESSION_TIMEOUT
 * is not, since one environment is often shared by every role of a deployment.
 */
function refuseGroupFlags(role: string, flags: Pick<WorkerFlags, 'group' | 'sessionTimeout'>): void {
  if (role === 'speed' || role === 'archiver') return
  const given =
    flags.group !== undefined
      ? '--group'
      : flags.sessionTimeout !== undefined
        ? '--session-timeout'
        : undefined
  if (given === undefined) return
  throw invalidInput(
    ErrorCodes.INVALID_ARGUMENT,
    `${given} is for the speed and archiver roles (their consumer groups); strata worker ${role} joins no group`,
    { field: given },
  )
}
