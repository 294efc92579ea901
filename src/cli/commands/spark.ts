// `strata spark start|stop|status`: the local Apache Spark standalone cluster (a master and two
// one-core workers from Maven Central's jars, on loopback) for development and tests
// (src/spark-cluster/). Progress goes to stderr; `start` prints the master URL on stdout, so
// `strata batch --engine spark --spark-master "$(strata spark start)"` works.
import type { Command } from 'commander'
import { port, positiveInt } from '../options.ts'

const progress = (line: string) => process.stderr.write(`${line}\n`)

const STATE_HELP = `
Ports: the master's RPC port P (--port, default 7077), its web UI P+1, worker n's RPC port P+2n and
web UI P+2n+1. State lives in .strata/spark/ at the project root (env STRATA_HOME overrides .strata):
  lib/               the jars Maven resolved from Maven Central (tools/spark/pom.xml), per pom
  home-<v>-<hash>/   the SPARK_HOME the workers launch executors from (RELEASE, jars/)
  cluster-<port>/    one cluster: cluster.json, master/ and worker-<n>/ (pid, stdout.log, work/)`

export function registerSparkCommands(program: Command): void {
  const spark = program
    .command('spark')
    .description('run a local Apache Spark standalone cluster (a master and workers) on loopback')
    .addHelpText('after', STATE_HELP)

  spark
    .command('start')
    .description('start the local Spark cluster (idempotent) and print its master URL')
    .option(
      '-p, --port <n>',
      "the master's RPC port on 127.0.0.1 (the others follow it)",
      port('--port'),
      7077,
    )
    .option('-w, --workers <n>', 'workers', positiveInt('--workers'), 2)
    .option('--cores <n>', 'cores each worker offers', positiveInt('--cores'), 1)
    .option('--memory <size>', 'memory each worker offers its executors (Spark sizes: 512m, 1g)', '1g')
    .addHelpText(
      'after',
      `
The first start resolves Spark's jars with Maven (about 20 s with a warm ~/.m2, minutes with an
empty one); it returns once every worker has registered with the master, and prints the master
URL (spark://127.0.0.1:7077) on stdout. Running it again while the cluster is up only reports it.

Examples:
  strata spark start
  strata batch --engine spark --spark-master spark://127.0.0.1:7077
  strata spark stop`,
    )
    .action(async (flags: { port: number; workers: number; cores: number; memory: string }) => {
      if (!/^\d+[kmgt]?$/i.test(flags.memory)) {
        const { invalidInput, ErrorCodes } = await import('../../core/errors.ts')
        throw invalidInput(
          ErrorCodes.INVALID_ARGUMENT,
          `--memory ${flags.memory}: not a size like 512m or 1g`,
          {
            field: '--memory',
          },
        )
      }
      const { startSparkCluster } = await import('../../spark-cluster/index.ts')
      const started = Date.now()
      const cluster = await startSparkCluster({
        port: flags.port,
        workers: flags.workers,
        cores: flags.cores,
        memory: flags.memory,
        log: progress,
      })
      const seconds = ((Date.now() - started) / 1000).toFixed(1)
      progress(
        cluster.alreadyRunning
          ? `the Spark cluster is already running at ${cluster.master} (web UI ${cluster.ui})`
          : `the Spark ${cluster.version} cluster is up at ${cluster.master} in ${seconds} s: ${cluster.workers.length} workers (web UI ${cluster.ui})`,
      )
      process.stdout.write(`${cluster.master}\n`)
    })

  spark
    .command('stop')
    .description('stop the local Spark cluster: workers (and their executors), then the master')
    .option('-p, --port <n>', "the master's RPC port it was started with", port('--port'), 7077)
    .action(async (flags: { port: number }) => {
      const { stopSparkCluster } = await import('../../spark-cluster/index.ts')
      progress(
        (await stopSparkCluster({ port: flags.port }))
          ? 'stopped the Spark cluster'
          : 'no Spark cluster of ours was running',
      )
    })

  spark
    .command('status')
    .description('show the cluster: whether the master answers, workers registered, each JVM')
    .option('-p, --port <n>', "the master's RPC port it was started with", port('--port'), 7077)
    .option('--json', 'print the status as JSON')
    .action(async (flags: { port: number; json?: boolean }) => {
      const { sparkClusterStatus } = await import('../../spark-cluster/index.ts')
      const status = await sparkClusterStatus({ port: flags.port })
      const lines = [
        `Spark master ${status.master}: ${status.answers ? `answers, ${status.aliveWorkers} workers registered` : 'does not answer'} (web UI ${status.ui})`,
        ...status.processes.map(
          (p) => `  ${p.name.padEnd(9)} ${p.alive ? `pid ${p.pid}` : 'not running'}  log ${p.logFile}`,
        ),
      ]
      process.stdout.write(`${flags.json ? JSON.stringify(status, null, 2) : lines.join('\n')}\n`)
      // A cluster that is not whole is not a success for a script that checks it.
      const whole = status.answers && status.processes.every((p) => p.alive)
      if (!whole) process.exitCode = 3
    })
}
