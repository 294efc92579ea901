// `strata batch`: one batch recompute now, with a progress bar (events, events/s, ETA).
import cliProgress from 'cli-progress'
import type { Command } from 'commander'
import { type BatchPlan, runBatch } from '../../batch/batch-run.ts'
import { createKafkaPublisher, type KafkaPublisher } from '../../batch/kafka-publisher.ts'
import { createLogger } from '../../runtime/logger.ts'
import { checkRoleSource } from '../../runtime/source-identity.ts'
import { addCommonOptions, type CommonFlags, resolveContext } from '../context.ts'
import { positiveInt } from '../options.ts'
import { resolveBrokers, resolvePaths } from '../settings.ts'

interface BatchFlags extends CommonFlags {
  brokers?: string
  threads?: number
  force?: boolean
}

export function registerBatchCommand(program: Command): void {
  addCommonOptions(
    program
      .command('batch')
      .description('recompute the batch views from the master dataset now, up to its sealed end'),
  )
    .option(
      '-t, --threads <n>',
      'worker threads (default: the cores of this machine)',
      positiveInt('--threads'),
    )
    .option('-f, --force', 'recompute every view, even those already current')
    .option(
      '-b, --brokers <list>',
      'publish completions and results to Kafka (env STRATA_BROKERS; without it nothing is published)',
    )
    .action(async (flags: BatchFlags) => {
      const brokers = resolveBrokers(flags.brokers)
      const context = await resolveContext(resolvePaths(flags))
      const store = await context.openStore()
      const logger = createLogger('batch')
      await checkRoleSource('batch', { ...context, store, brokers, logger }).catch(async (error) => {
        await store.close()
        throw error
      })
      const publisher: KafkaPublisher | undefined = brokers ? createKafkaPublisher({ brokers }) : undefined
      const bar = new cliProgress.SingleBar(
        {
          format:
            ' batch |{bar}| {percentage}% | {value}/{total} events | {rate} events/s | ETA {eta_formatted}',
          hideCursor: true,
          // A terminal only: off one, stderr carries the JSON logs, and a bar is no log line.
          noTTYOutput: false,
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      )
      const started = Date.now()
      let done = 0
      try {
        const result = await runBatch({
          config: context.config,
          configPath: context.configPath,
          root: context.masterRoot,
          cacheRoot: context.masterCache,
          s3: context.s3,
          store,
          threads: flags.threads,
          force: flags.force,
          publisher,
          onStart: (plan: BatchPlan) => {
            if (plan.views.length > 0) bar.start(plan.offsets, 0, { rate: 0 })
          },
          onProgress: (n) => {
            done += n
            const seconds = (Date.now() - started) / 1000
            bar.update(done, { rate: Math.round(done / Math.max(seconds, 0.001)) })
          },
        })
        bar.stop()
        const { plan, versions, events, durationMs } = result
        if (versions.length === 0) {
          console.log(`batch views are current at horizon [${plan.horizon.join(', ')}]; nothing to do`)
        }
        for (const v of versions) {
          console.log(
            `${v.view}: version ${v.version}, horizon [${v.horizon.join(', ')}], ${v.groups} groups`,
          )
          if (v.foldErrors) {
            const last = v.foldErrors.recent.at(-1)
            console.log(
              `  ${v.view}: its code threw on ${v.foldErrors.count} events, skipped by this view only (GET /views/${v.view}/errors)${last ? `; last: partition ${last.partition} offset ${last.offset}: ${last.message}` : ''}`,
            )
          }
        }
        if (plan.skipped.length > 0 && versions.length > 0)
          console.log(`unchanged: ${plan.skipped.join(', ')}`)
        if (versions.length > 0) {
          const rate = Math.round(events / Math.max(durationMs / 1000, 0.001))
          console.log(`${events} events in ${(durationMs / 1000).toFixed(2)} s (${rate} events/s)`)
        }
      } finally {
        bar.stop()
        await publisher?.close()
        await store.close()
      }
    })
}
