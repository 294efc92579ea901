// Graceful shutdown for long-running commands: on SIGINT or SIGTERM, stop taking work, flush what
// is in flight (speed commits, open segments), close the store, exit. A second signal exits now.
import { InterruptedError } from '../core/errors.ts'
import type { Logger } from '../runtime/logger.ts'

/**
 * Whether a signal arriving now is the echo of the first one, received at `firstAt`: one Ctrl-C
 * (or a `timeout`, a process-group kill) reaches npm and this process at once, and npm passes
 * its copy on, so a second signal within a second is that same one, not a second request.
 */
export function echoOfFirstSignal(firstAt: number): boolean {
  return Date.now() - firstAt < 1000
}

export function onShutdown(logger: Logger, close: () => Promise<void>): void {
  let stopping = false
  let firstAt = 0
  const stop = (signal: string) => {
    if (stopping) {
      if (echoOfFirstSignal(firstAt)) return
      logger.warn(`${signal} again: exiting without waiting`)
      process.exit(130)
    }
    stopping = true
    firstAt = Date.now()
    logger.info(`${signal}: shutting down`)
    close().then(
      () => process.exit(0),
      (error) => {
        logger.error('shutdown failed', error)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
  // What started this process is gone (bin/strata.js): stop as on SIGTERM, unless already stopping
  // (npm forwards its SIGTERM and exits, so both arrive).
  process.on('strata:parent-gone' as 'exit', () => {
    if (!stopping) stop('parent gone')
  })
  // A long-running command ends only by a signal. If its event loop empties first, its role
  // stopped by itself (the speed layer's consumer gives up when a store commit fails, e.g. while
  // PostgreSQL restarts): exit 1, so a supervisor restarts it instead of reading exit 0 as done.
  process.once('beforeExit', () => {
    if (stopping) return
    logger.error(
      'nothing is running any more: exiting with code 1 so that a supervisor restarts this process',
    )
    process.exitCode = 1
  })
}

/**
 * Starts a long-running command with its shutdown handlers already in place: `start` gets the
 * signal its start gives up on (runtime/strata.ts, `signal`). Before, the handlers came once the
 * start resolved, and a SIGTERM while the config compiled or the embedded log opened met Node's
 * default: the process ended by the signal, no word, no exit code a supervisor reads as clean.
 * Now a signal then ends the start at its next step (nothing left locked, open or half-written)
 * or, once started, closes what started; either way the command exits 0 as on any SIGTERM.
 * Resolves with what started, or undefined when a signal stopped the start.
 *
 * A start that fails by itself while a signal arrives (a damaged segment found as the SIGTERM
 * comes) is a failure, not a stop: the error is thrown (main.ts prints its one line with its code
 * and exits 1), whichever came first. Only the signal's own doing, STRATA_ERR_INTERRUPTED, is a
 * clean stop. Before session 16 any error after a signal was dropped and the process exited 0
 * with no line, so a supervisor saw a clean stop of a service that could not start
 * (docs/operations.md, "Signals while starting").
 */
export async function startUntilSignal<T extends { close(): Promise<void> }>(
  logger: Logger,
  start: (signal: AbortSignal) => Promise<T>,
): Promise<T | undefined> {
  const interrupt = new AbortController()
  const starting = start(interrupt.signal)
  onShutdown(logger, async () => {
    interrupt.abort()
    const running = await starting.catch((error) =>
      // The start's own failure: thrown below, to main's exit 1; this stop never exits 0.
      error instanceof InterruptedError ? undefined : new Promise<never>(() => undefined),
    )
    await running?.close()
  })
  try {
    return await starting
  } catch (error) {
    if (interrupt.signal.aborted && error instanceof InterruptedError) return undefined
    throw error
  }
}
