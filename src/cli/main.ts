// The `strata` command line. Each command lives in its own file under commands/ and is loaded
// only when run, so `strata --help` and `strata kafka status` start fast.
import { inspect } from 'node:util'
import { Command, CommanderError } from 'commander'
import { isStrataError } from '../core/errors.ts'
import { scrubSecrets } from '../core/secrets.ts'
import { registerBatchCommand } from './commands/batch.ts'
import { registerInitCommand } from './commands/init.ts'
import { registerKafkaCommands } from './commands/kafka.ts'
import { registerProduceCommand } from './commands/produce.ts'
import { registerQueryCommand } from './commands/query.ts'
import { registerResetCommand } from './commands/reset.ts'
import { registerStartCommand } from './commands/start.ts'
import { registerWorkerCommand } from './commands/worker.ts'
import { packageInfo } from './package-info.ts'

export function createProgram(): Command {
  const program = new Command('strata')
    .description('A Lambda Architecture for stream processing on Apache Kafka')
    .showHelpAfterError('(run with --help for usage)')
    .version(packageInfo().version, '-V, --version', 'the installed version of strata')
    .exitOverride()

  registerInitCommand(program)
  registerKafkaCommands(program)
  registerStartCommand(program)
  registerWorkerCommand(program)
  registerProduceCommand(program)
  registerBatchCommand(program)
  registerQueryCommand(program)
  registerResetCommand(program)
  return program
}

export async function main(argv: string[]): Promise<void> {
  const program = createProgram()
  try {
    await program.parseAsync(argv)
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      process.exitCode = error.exitCode
      return
    }
    if (isStrataError(error)) {
      console.error(scrubSecrets(`strata: ${error.message} [${error.code}]`))
    } else {
      // Not ours: its message or stack may quote a connection string or a credential.
      console.error(scrubSecrets(inspect(error)))
    }
    // Exit now: a command that failed half-way may leave handles open (a Kafka consumer that
    // joined some brokers but not the group, a store pool). A `strata worker` that failed to
    // start then lingered for minutes doing nothing, alive to its supervisor, so never restarted.
    process.exit(1)
  }
}
