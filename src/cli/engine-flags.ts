// --engine, --spark-master and --spark-port: where the batch layer folds and combines, for
// `strata batch`, `strata worker batch` and `strata start` (docs/batch-on-spark.md). Checked
// here, at the edge, before anything is opened.
import type { Command } from 'commander'
import { BATCH_ENGINES, type BatchEngine } from '../batch/batch-run.ts'
import type { SparkEngineOptions } from '../batch/spark/spark-engine.ts'
import { ErrorCodes, invalidInput } from '../core/errors.ts'
import { positiveInt } from './options.ts'

export interface EngineFlags {
  engine?: string
  sparkMaster?: string
  sparkPort?: number
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
      positiveInt('--spark-port'),
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
    if (flags.sparkMaster !== undefined || flags.sparkPort !== undefined) {
      throw invalidInput(
        ErrorCodes.INVALID_ARGUMENT,
        '--spark-master and --spark-port go with --engine spark',
        {
          field: flags.sparkMaster !== undefined ? '--spark-master' : '--spark-port',
        },
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
  return {
    engine: 'spark',
    spark: {
      master,
      ...(flags.sparkPort !== undefined ? { basePort: flags.sparkPort } : {}),
      ...(log ? { log } : {}),
    },
  }
}
