// `strata start`: all layers in one process, on Kafka with --brokers, else on the embedded
// default. `--demo` adds the example views (when no config is given) and generated traffic.
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import { parseDuration } from '../../core/duration.ts'
import { createLogger } from '../../runtime/logger.ts'
import { startPipeline } from '../../runtime/pipeline.ts'
import { addCommonOptions, type CommonFlags, resolveContext } from '../context.ts'
import { positiveInt } from '../options.ts'
import {
  addHttpSecurityOptions,
  checkSecuritySettings,
  type HttpSecurityFlags,
  httpLimitsOf,
  resolveAllowedHosts,
  resolveHttpAuth,
} from '../security.ts'
import { onShutdown } from '../shutdown.ts'
import { lockWrittenFolders } from '../writer-lock.ts'

// From the built package (dist/), the example is compiled beside the sources: .js, not .ts.
export const exampleConfig = fileURLToPath(
  new URL(
    `../../../examples/pageviews/strata.config.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`,
    import.meta.url,
  ),
)

interface StartFlags extends CommonFlags, HttpSecurityFlags {
  brokers?: string
  groupPrefix: string
  port?: number
  host: string
  demo?: boolean
  demoRate: number
  batchInterval: string
  segmentAge: string
}

export function registerStartCommand(program: Command): void {
  addCommonOptions(
    addHttpSecurityOptions(program.command('start')).description(
      'run every layer in one process: ingest, archiver, speed, batch schedule and the HTTP API',
    ),
  )
    .option(
      '-b, --brokers <list>',
      'Kafka bootstrap brokers (env STRATA_BROKERS); without: the embedded default',
    )
    .option('-g, --group-prefix <prefix>', 'consumer groups <prefix>-speed and <prefix>-archiver', 'strata')
    .option('-p, --port <n>', 'HTTP port (env STRATA_PORT; default 8080)', positiveInt('--port'))
    .option('--host <host>', 'HTTP address to listen on', '127.0.0.1')
    .option('--demo', 'the example views (unless --config is given) and generated page-view traffic')
    .option('--demo-rate <n>', 'generated events per second with --demo', positiveInt('--demo-rate'), 200)
    .option('--batch-interval <duration>', 'time between batch runs (e.g. 30s, 5m)', '1m')
    .option('--segment-age <duration>', 'longest a master-dataset segment stays open before sealing', '10s')
    .addHelpText(
      'after',
      `
Examples:
  strata start --demo                                   # the demo on http://127.0.0.1:8080
  strata start --config strata.config.ts --brokers 127.0.0.1:9092`,
    )
    .action(async (flags: StartFlags) => {
      const logger = createLogger('strata')
      const auth = resolveHttpAuth(flags)
      checkSecuritySettings(
        logger,
        flags.brokers ?? process.env.STRATA_BROKERS,
        flags.store ?? process.env.STRATA_STORE,
      )
      const context = await resolveContext({
        ...flags,
        config: flags.config ?? (flags.demo ? exampleConfig : undefined),
      })
      // One writer per data folder (writer-lock.ts): a second start is refused here, untouched.
      const lock = lockWrittenFolders(context, 'strata start', { masterDataset: true, speedStore: true })
      const store = await context.openStore().catch((error) => {
        lock.release()
        throw error
      })
      const brokers = flags.brokers ?? process.env.STRATA_BROKERS
      const port =
        flags.port ?? (process.env.STRATA_PORT ? positiveInt('STRATA_PORT')(process.env.STRATA_PORT) : 8080)
      logger.info(`config ${context.configPath}: ${context.config.views.map((v) => v.name).join(', ')}`)
      logger.info(`data in ${context.dataDir}`)
      const pipeline = await startPipeline({
        config: context.config,
        configPath: context.configPath,
        masterRoot: context.masterRoot,
        store,
        logger,
        brokers,
        groupPrefix: flags.groupPrefix,
        port,
        host: flags.host,
        batchIntervalMs: parseDuration(flags.batchInterval, '--batch-interval'),
        segmentAgeMs: parseDuration(flags.segmentAge, '--segment-age'),
        demoRate: flags.demo ? flags.demoRate : 0,
        auth,
        limits: httpLimitsOf(flags),
        allowedHosts: resolveAllowedHosts(flags, flags.host),
      }).catch(async (error) => {
        await store.close()
        lock.release()
        throw error
      })
      logger.info(`ready: API on ${pipeline.url}`)
      onShutdown(logger, async () => {
        await pipeline.close()
        await store.close()
        lock.release()
      })
    })
}
