// Graceful shutdown for long-running commands: on SIGINT or SIGTERM, stop taking work, flush what
// is in flight (speed commits, open segments), close the store, exit. A second signal exits now.
import type { Logger } from '../runtime/logger.ts'

export function onShutdown(logger: Logger, close: () => Promise<void>): void {
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn(`${signal} again: exiting without waiting`)
      process.exit(130)
    }
    stopping = true
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
}
