// The `strata` command line. Each command lives in its own file under commands/ and is loaded
// only when run, so `strata --help` and `strata kafka status` start fast.
import { Command, CommanderError } from 'commander'
import { packageInfo } from '../core/package-info.ts'
import { configureLogs } from '../runtime/logger.ts'
import { registerBatchCommand } from './commands/batch.ts'
import { registerInitCommand } from './commands/init.ts'
import { registerKafkaCommands } from './commands/kafka.ts'
import { registerProduceCommand } from './commands/produce.ts'
import { registerQueryCommand } from './commands/query.ts'
import { registerResetCommand } from './commands/reset.ts'
import { registerS3Commands } from './commands/s3.ts'
import { registerSparkCommands } from './commands/spark.ts'
import { registerStartCommand } from './commands/start.ts'
import { registerTaskCommands } from './commands/task.ts'
import { registerWorkerCommand } from './commands/worker.ts'
import { exitFailed } from './failure.ts'
import { type LogFlags, resolveLogLevel, showsStacks } from './settings.ts'

export function createProgram(): Command {
  const program = new Command('strata')
    .description('A Lambda Architecture for stream processing on Apache Kafka')
    .showHelpAfterError('(run with --help for usage)')
    .version(packageInfo().version, '-V, --version', 'the installed version of strata')
    .option(
      '--log-level <level>',
      'fatal, error, warn, info, debug, trace or silent (env STRATA_LOG_LEVEL; default info)',
    )
    .option('--verbose', 'debug logs, and the stack of an error that ends a command')
    .exitOverride()
    // Before any command runs: the level every logger of the process is created with.
    .hook('preAction', () => {
      configureLogs({ level: resolveLogLevel(program.opts<LogFlags>()) })
    })

  registerInitCommand(program)
  registerKafkaCommands(program)
  registerS3Commands(program)
  registerSparkCommands(program)
  registerStartCommand(program)
  registerWorkerCommand(program)
  registerProduceCommand(program)
  registerBatchCommand(program)
  registerQueryCommand(program)
  registerResetCommand(program)
  registerTaskCommands(program)
  return program
}

export async function main(argv: string[]): Promise<void> {
  // `strata … | head`: a reader that closed its end is done reading, not a failure (as cat does).
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0)
    throw error
  })
  const program = createProgram()
  try {
    await program.parseAsync(argv)
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      process.exitCode = error.exitCode
      return
    }
    // One line with a code (failure.ts); the stack too with --verbose or a debug level.
    exitFailed(error, showsStacks(program.opts<LogFlags>()))
  }
}
