// `strata start`: all layers in one process, on Kafka with --brokers, else on the embedded
// default. `--demo` adds the example views (when no config is given) and generated traffic.
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import { createLogger } from '../../runtime/logger.ts'
import { defaultStartupTimeout } from '../../runtime/startup.ts'
import { startStrata } from '../../runtime/strata.ts'
import { chooseConfig, noteConfig } from '../config-note.ts'
import { addCommonOptions } from '../context.ts'
import { addEngineOptions, type EngineFlags, resolveEngine } from '../engine-flags.ts'
import { flagDuration, port, positiveInt } from '../options.ts'
import {
  addHttpSecurityOptions,
  checkSecuritySettings,
  type HttpSecurityFlags,
  httpOptionsOf,
} from '../security.ts'
import { defaultGroupPrefix, defaultPort, resolveSettings, type SettingsFlags } from '../settings.ts'
import { startUntilSignal } from '../shutdown.ts'

// From the built package (dist/), the example is compiled beside the sources: .js, not .ts.
export const exampleConfig = fileURLToPath(
  new URL(
    `../../../examples/pageviews/strata.config.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`,
    import.meta.url,
  ),
)

interface StartFlags extends SettingsFlags, HttpSecurityFlags, EngineFlags {
  groupPrefix: string
  host: string
  demo?: boolean
  demoRate: number
  batchInterval: string
  segmentAge: string
  startupTimeout: string
}

export function registerStartCommand(program: Command): void {
  addCommonOptions(
    addEngineOptions(addHttpSecurityOptions(program.command('start'))).description(
      'run every layer in one process: ingest, archiver, speed, batch schedule and the HTTP API',
    ),
  )
    .option(
      '-b, --brokers <list>',
      'Kafka bootstrap brokers (env STRATA_BROKERS); without: the embedded default',
    )
    .option(
      '-g, --group-prefix <prefix>',
      'consumer groups <prefix>-speed and <prefix>-archiver',
      defaultGroupPrefix,
    )
    .option(
      '--session-timeout <duration>',
      'consumer-group session timeout of the speed layer and the archiver: how long a killed member keeps its partitions, 6s to 30m (env STRATA_SESSION_TIMEOUT; default 30s)',
    )
    .option(
      '--hang-timeout <duration>',
      "how long a view's code may go without returning: the batch layer says stalled and a stop ends the thread past it, the speed layer says stalled past half of it; 2s to 24d (env STRATA_HANG_TIMEOUT; default 60s)",
    )
    .option('-p, --port <n>', `HTTP port (env STRATA_PORT; default ${defaultPort})`, port('--port'))
    .option('--host <host>', 'HTTP address to listen on', '127.0.0.1')
    .option('--demo', 'the example views (unless --config is given) and generated page-view traffic')
    .option('--demo-rate <n>', 'generated events per second with --demo', positiveInt('--demo-rate'), 200)
    .option('--batch-interval <duration>', 'time between batch runs (e.g. 30s, 5m)', '1m')
    .option('--segment-age <duration>', 'longest a master-dataset segment stays open before sealing', '10s')
    .option(
      '--startup-timeout <duration>',
      "how long a step of the start on Kafka, or PostgreSQL's first answer, may go unanswered (a server that never answers), then exit 1; not retried",
      defaultStartupTimeout,
    )
    .addHelpText(
      'after',
      `
Examples:
  strata start --demo                                   # the demo on http://127.0.0.1:${defaultPort}
  strata start --config strata.config.ts --brokers 127.0.0.1:9092`,
    )
    .action(async (flags: StartFlags) => {
      const settings = resolveSettings(
        { ...flags, config: flags.config ?? (flags.demo ? exampleConfig : undefined) },
        { serves: true },
      )
      const logger = createLogger('strata')
      const engine = resolveEngine(flags, (line) => logger.info(line))
      const http = httpOptionsOf(flags, settings.http)
      checkSecuritySettings(logger, settings.brokers, settings.storeUrl)
      // No --config and no ./strata.config.ts: the config that last ran on this data folder.
      const configPath = chooseConfig(settings.configPath, settings.dataDir, (line) => logger.info(line))
      // The programmatic API (runtime/strata.ts) on what the flags and environment resolved to.
      const strata = await startUntilSignal(logger, (signal) =>
        startStrata({
          role: 'all',
          config: configPath,
          data: settings.dataDir,
          store: settings.storeUrl,
          master: settings.master,
          s3: settings.s3,
          brokers: settings.brokers,
          groupPrefix: flags.groupPrefix,
          sessionTimeout: settings.sessionTimeout,
          hangTimeout: settings.hangTimeout,
          ...http,
          batchInterval: flagDuration(flags.batchInterval, '--batch-interval'),
          batchEngine: engine.engine,
          ...(engine.spark ? { spark: engine.spark } : {}),
          segmentAge: flagDuration(flags.segmentAge, '--segment-age'),
          // Bounds each step on Kafka; unlike strata worker, a failure is not retried.
          startupTimeout: flagDuration(flags.startupTimeout, '--startup-timeout'),
          startupRetry: false,
          demoRate: flags.demo ? flags.demoRate : 0,
          logger,
          signal,
        }),
      )
      if (strata === undefined) return // a signal came while it started: nothing left running
      // Which config built this folder, for the commands run on it later without --config.
      noteConfig(settings.dataDir, configPath, flags.demo ? 'strata start --demo' : 'strata start')
    })
}
