// --engine, --spark-master and --spark-port: where the batch layer folds and combines, for
// `strata batch`, `strata worker batch` and `strata start` (docs/batch-on-spark.md). Checked
// here, at the edge, before anything is opened.
import type { Command } from 'commander'
import { BATCH_ENGINES, type BatchEngine } from '../batch/batch-run.ts'
import type { SparkEngineOptions } from '../batch/spark/spark-engine.ts'
import { ErrorCodes, invalidInput, StrataError } from '../core/errors.ts'
import { flagDuration, port } from './options.ts'

export interface EngineFlags {
  engine?: string
  sparkMaster?: string
  sparkPort?: number
  sparkNoExecutor?: string
}

export function addEngineOptions(command: Command): Command {
  return command
    .option(
      '--engine <name>',
      "where the batch layer folds and combines: local (this machine's worker threads) or spark (an Apache Spark job; docs/batch-on-spark.md)",
      'local',
    )
    .option(
      '--spark-master <url>',
      'the Spark master for --engine spark: spark://host:port (env STRATA_SPARK_MASTER; `strata spark start` prints one)',
    )
    .option(
      '--spark-port <n>',
      "the Spark driver's first port (RPC; +1 its block manager, +2 on the executors'); default: ports Spark picks",
      port('--spark-port'),
    )
    .option(
      '--spark-no-executor <duration>',
      'fail the Spark job when no executor has been registered for this long, e.g. 30s or 5m (env STRATA_SPARK_NO_EXECUTOR; default 2m)',
    )
}

export function resolveEngine(
  flags: EngineFlags,
  log?: (line: string) => void,
): { engine: BatchEngine; spark?: SparkEngineOptions } {
  const engine = flags.engine ?? 'local'
  if (!(BATCH_ENGINES as readonly string[]).includes(engine)) {
    throw invalidInput(
      ErrorCodes.INVALID_ARGUMENT,
      `--engine ${engine}: not one of ${BATCH_ENGINES.join(', ')}`,
      {
        field: '--engine',
      },
    )
  }
  const master = flags.sparkMaster ?? process.env['STRATA_SPARK_MASTER']
  if (engine === 'local') {
    const sparkFlag = (
      [
        ['--spark-master', flags.sparkMaster],
        ['--spark-port', flags.sparkPort],
        ['--spark-no-executor', flags.sparkNoExecutor],
      ] as const
    ).find(([, value]) => value !== undefined)
    if (sparkFlag) {
      throw invalidInput(
        ErrorCodes.INVALID_ARGUMENT,
        '--spark-master, --spark-port and --spark-no-executor go with --engine spark',
        { field: sparkFlag[0] },
      )
    }
    return { engine: 'local' }
  }
  if (!master) {
    throw invalidInput(
      ErrorCodes.INVALID_ARGUMENT,
      '--engine spark needs --spark-master spark://host:port (or env STRATA_SPARK_MASTER); `strata spark start` starts a local cluster and prints its URL',
      { field: '--spark-master' },
    )
  }
  const noExecutor = flags.sparkNoExecutor ?? process.env['STRATA_SPARK_NO_EXECUTOR']
  return {
    engine: 'spark',
    spark: {
      master,
      ...(flags.sparkPort !== undefined ? { basePort: flags.sparkPort } : {}),
      ...(noExecutor !== undefined ? { noExecutorMs: noExecutorDuration(noExecutor) } : {}),
      ...(log ? { log } : {}),
    },
  }
}

/** The no-executor timeout, as a duration ('30s', '5m'); refused with the flag's name otherwise. */
function noExecutorDuration(input: string): number {
  try {
    return flagDuration(input, '--spark-no-executor')
  } catch (error) {
    if (!(error instanceof StrataError)) throw error
    throw invalidInput(ErrorCodes.INVALID_ARGUMENT, error.message, { field: '--spark-no-executor' })
  }
}
