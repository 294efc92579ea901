// `strata task fold|combine`: internal, hidden from `strata --help`. The task processes of the
// Spark batch engine, which Spark's `pipe` starts on the executors (src/batch/spark/,
// docs/batch-on-spark.md): lines in on stdin, lines out on stdout, a failure is a non-zero exit
// (which fails the Spark task attempt; its output is discarded and the task retried).
import type { Command } from 'commander'
import { ErrorCodes, invalidInput } from '../../core/errors.ts'
import type { ViewHash } from '../../core/view-hash.ts'

function parseViews(text: string): ViewHash[] {
  try {
    const views = JSON.parse(text) as ViewHash[]
    if (
      Array.isArray(views) &&
      views.every((v) => typeof v.view === 'string' && typeof v.codeHash === 'string')
    )
      return views
  } catch {}
  throw invalidInput(ErrorCodes.INVALID_ARGUMENT, '--views: not a JSON array of {view, codeHash}', {
    field: '--views',
  })
}

export function registerTaskCommands(program: Command): void {
  const task = program
    .command('task', { hidden: true })
    .description('internal: the task processes of the Spark batch engine (run by Spark, not by hand)')

  task
    .command('fold')
    .description(
      'fold the tasks read from stdin (one JSON line each: config, views, root, partition, to) and print each (view, window, key) state',
    )
    .action(async () => {
      const { runFoldTasks } = await import('../../batch/spark/task-fold.ts')
      await runFoldTasks(process.stdin, process.stdout)
    })

  task
    .command('combine')
    .description("combine the states read from stdin by group with each view's monoid, and print them")
    .requiredOption('-c, --config <path>', 'the config file')
    .requiredOption('--views <json>', 'the views, in the run\'s order: [{"view":…,"codeHash":…}]')
    .action(async (flags: { config: string; views: string }) => {
      const { runCombineTask } = await import('../../batch/spark/task-combine.ts')
      await runCombineTask(flags.config, parseViews(flags.views), process.stdin, process.stdout)
    })
}
