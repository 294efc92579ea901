// `strata batch`: one batch recompute now, with a progress bar (events, events/s, ETA).
// SIGINT or SIGTERM stops the run at its next safe point (batch-run.ts): nothing half-written is
// served, the store is closed, and the command exits 130 or 143 with STRATA_ERR_INTERRUPTED
// saying which views kept their previous version. A second signal exits at once. A fold that
// reports no progress for --hang-timeout (a view that never returns on an event) is said on
// stderr, once each timeout, instead of a bar that silently stops moving.
import cliProgress from 'cli-progress'
import type { Command } from 'commander'
import { silentFoldTasks } from '../../batch/worker-pool.ts'
import { InterruptedError } from '../../core/errors.ts'
import { describeDamage } from '../../master-dataset/index.ts'
import { type BatchPlan, recompute } from '../../runtime/recompute.ts'
import { defaultStartupTimeout } from '../../runtime/startup.ts'
import { hangTimeoutMs } from '../../runtime/strata-options.ts'
import { addCommonOptions, type CommonFlags, resolveContext } from '../context.ts'
import { addEngineOptions, type EngineFlags, resolveEngine } from '../engine-flags.ts'
import { exitCodeOf, failureLine } from '../failure.ts'
import { flagDuration, positiveInt } from '../options.ts'
import { resolveBrokers, resolveHangTimeout, resolvePaths } from '../settings.ts'
import { echoOfFirstSignal } from '../shutdown.ts'

interface BatchFlags extends CommonFlags, EngineFlags {
  brokers?: string
  threads?: number
  force?: boolean
  segmentCheck?: boolean
  hangTimeout?: string
  startupTimeout: string
}

export function registerBatchCommand(program: Command): void {
  addCommonOptions(
    addEngineOptions(
      program
        .command('batch')
        .description('recompute the batch views from the master dataset now, up to its sealed end'),
    ),
  )
    .option(
      '-t, --threads <n>',
      'worker threads (default: the cores of this machine)',
      positiveInt('--threads'),
    )
    .option('-f, --force', 'recompute every view, even those already current')
    .option(
      '--no-segment-check',
      'do not hash the sealed NDJSON segments beside the fold (the versions come from their packed copies either way; the batch role of strata start and strata worker batch checks them in the background). A run that folds waits for its check: about a quarter longer on a local master dataset',
    )
    .option(
      '--hang-timeout <duration>',
      'how long the fold may report no progress before a line on stderr says a view may never return on an event; 2s to 24d (env STRATA_HANG_TIMEOUT; default 60s)',
    )
    .option(
      '--startup-timeout <duration>',
      "how long PostgreSQL's first answer (connect and a first query) may take with --store postgres://… (a server that takes the connection and never answers), then exit 1 with STRATA_ERR_STORE_UNAVAILABLE",
      defaultStartupTimeout,
    )
    .option(
      '-b, --brokers <list>',
      'publish completions and results to Kafka (env STRATA_BROKERS; without it nothing is published)',
    )
    .action(async (flags: BatchFlags) => {
      const brokers = resolveBrokers(flags.brokers)
      const engine = resolveEngine(flags, (line) => process.stderr.write(`${line}\n`))
      const paths = resolvePaths(flags)
      const silentAfterMs = hangTimeoutMs(resolveHangTimeout(flags.hangTimeout))
      const startupTimeout = flagDuration(flags.startupTimeout, '--startup-timeout')
      const bar = new cliProgress.SingleBar(
        {
          format:
            ' batch |{bar}| {percentage}% | {value}/{total} events | {rate} events/s | ETA {eta_formatted}',
          hideCursor: true,
          noTTYOutput: false,
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      )
      const started = Date.now()
      let done = 0
      const interrupt = new AbortController()
      let firstAt = 0
      let total = 0
      let barHidden = false
      let saidAt = 0
      // The fold threads' own silence (worker-pool.ts silentFoldTasks: the rule the batch role's
      // /health reads), said once each timeout instead of a bar that silently stops moving.
      const watch = setInterval(
        () => {
          if (interrupt.signal.aborted || Date.now() - saidAt < silentAfterMs) return
          const silent = silentFoldTasks(silentAfterMs)[0]
          if (silent === undefined) return
          saidAt = Date.now()
          bar.stop()
          barHidden = true
          process.stderr.write(
            `strata batch: no event folded for ${Math.round(silent.forMs / 1000)} s (${done} of ${total}): a view's code may never return on an event; Ctrl-C stops the run and the versions served now stay\n`,
          )
        },
        Math.min(1000, silentAfterMs / 4),
      )
      watch.unref()
      // The handlers are in place before the first await: a signal that came before them met
      // Node's default and ended the process with no word (s15-hazard's note). Until the run
      // starts (the config still loading: its TypeScript compiled, its top level run) nothing is
      // open or written, so a signal then exits at once, with the same code and line.
      let running = false
      const onSignal = (signal: NodeJS.Signals) => {
        if (!running) {
          bar.stop()
          const early = new InterruptedError(
            signal,
            `strata batch was interrupted by ${signal} before its run started: nothing was recomputed or written, the versions served stay`,
          )
          process.stderr.write(`${failureLine(early)}\n`)
          process.exit(exitCodeOf(early))
        }
        if (interrupt.signal.aborted) {
          if (echoOfFirstSignal(firstAt)) return
          process.stderr.write(
            `\n${signal} again: exiting without waiting (a version this run staged is dropped when the store is next opened; it was never served)\n`,
          )
          process.exit(128 + (signal === 'SIGINT' ? 2 : 15))
        }
        firstAt = Date.now()
        bar.stop()
        process.stderr.write(
          `${signal}: stopping the batch run; no version is flipped from now on (${signal} again to exit at once)\n`,
        )
        interrupt.abort(signal)
      }
      const onInterrupt = () => onSignal('SIGINT')
      const onTerminate = () => onSignal('SIGTERM')
      process.on('SIGINT', onInterrupt)
      process.on('SIGTERM', onTerminate)
      // What started this process is gone (bin/strata.js): as SIGTERM.
      process.on('strata:parent-gone' as 'exit', onTerminate)
      try {
        // The config as the CLI finds it (the demo's after strata start --demo: config-note.ts).
        const context = await resolveContext(paths)
        // From here a signal stops the run at its next safe point (recompute's `signal`).
        running = true
        const result = await recompute({
          config: context.configPath,
          data: context.dataDir,
          store: paths.storeUrl,
          master: paths.master,
          s3: paths.s3,
          brokers,
          threads: flags.threads,
          force: flags.force,
          segmentCheck: flags.segmentCheck,
          startupTimeout,
          ...engine,
          signal: interrupt.signal,
          onStart: (plan: BatchPlan) => {
            total = plan.offsets
            if (plan.views.length > 0 && !interrupt.signal.aborted) bar.start(plan.offsets, 0, { rate: 0 })
          },
          onProgress: (n) => {
            if (interrupt.signal.aborted) return // the bar is stopped: it must not draw again
            done += n
            if (barHidden && n > 0) {
              barHidden = false // moving again after a silence: the bar comes back below the line
              bar.start(total, done, { rate: 0 })
            }
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
        // Each was logged as a warning when found; said again last, where a job's output ends.
        for (const damage of result.damagedSegments) {
          process.stderr.write(
            `strata batch: master dataset damaged: ${describeDamage(damage)} [STRATA_ERR_SEGMENT_CORRUPT]\n`,
          )
        }
      } finally {
        clearInterval(watch)
        bar.stop()
        process.off('SIGINT', onInterrupt)
        process.off('SIGTERM', onTerminate)
        process.off('strata:parent-gone' as 'exit', onTerminate)
      }
    })
}
