// `strata kafka start|stop|status`: the local Apache Kafka cluster for development and tests
// (src/kafka-cluster/). Progress goes to stderr, results to stdout, so
// `export STRATA_BROKERS=$(strata kafka start)` works.
import type { Command } from 'commander'
import { ErrorCodes, invalidInput } from '../../core/errors.ts'
import type { ClusterStatus } from '../../kafka-cluster/cluster.ts'
import type { ClusterSize } from '../../kafka-cluster/config.ts'

function clusterSize(value: string): ClusterSize {
  if (value === '1' || value === '3') return Number(value) as ClusterSize
  throw invalidInput(ErrorCodes.INVALID_ARGUMENT, `--nodes must be 1 or 3, got "${value}"`, {
    field: '--nodes',
  })
}

const progress = (line: string) => process.stderr.write(`${line}\n`)

const STATE_HELP = `
State lives in .strata/kafka/ at the project root (env STRATA_HOME overrides .strata):
  lib/             the jars Maven resolved from Maven Central (tools/kafka/pom.xml), per pom
  cluster-1/       the 1-node cluster: 127.0.0.1:9092 (controller :9093)
  cluster-3/       the 3-node cluster: 127.0.0.1:19092,29092,39092 (controllers :N9093)
  cluster-N/node-<id>/logs/server.log is each broker's log; pid the running broker's pid.`

export function registerKafkaCommands(program: Command): void {
  const kafka = program
    .command('kafka')
    .description(
      'run a local Apache Kafka 4.x cluster (KRaft, jars from Maven Central) for development and tests',
    )
    .addHelpText('after', STATE_HELP)

  kafka
    .command('start')
    .description('start the local cluster (idempotent) and print its bootstrap servers')
    .option('-n, --nodes <n>', '1 (127.0.0.1:9092) or 3 (RF 3, min.insync.replicas=2)', clusterSize, 1)
    .option('--fresh', "stop the cluster if it runs, wipe that cluster's data and format it anew")
    .addHelpText(
      'after',
      `
The first start resolves the Kafka jars with Maven (a minute or more with an empty ~/.m2),
formats the storage and starts one detached JVM per node; it returns once every broker has
registered, and prints the bootstrap servers on stdout. Running it again while the cluster
is up only reports it. Both clusters can run at the same time.

Examples:
  strata kafka start
  strata kafka start --nodes 3 --fresh
  export STRATA_BROKERS=$(strata kafka start)`,
    )
    .action(async (flags: { nodes: ClusterSize; fresh?: boolean }) => {
      const { startCluster } = await import('../../kafka-cluster/index.ts')
      const started = Date.now()
      const cluster = await startCluster({ nodes: flags.nodes, fresh: flags.fresh === true, log: progress })
      const seconds = ((Date.now() - started) / 1000).toFixed(1)
      progress(
        cluster.alreadyRunning
          ? `the ${flags.nodes}-node Kafka cluster is already running (cluster id ${cluster.clusterId})`
          : `the ${flags.nodes}-node Kafka cluster is up in ${seconds} s (cluster id ${cluster.clusterId})`,
      )
      process.stdout.write(`${cluster.bootstrap}\n`)
    })

  kafka
    .command('stop')
    .description('stop the local cluster: SIGTERM to the recorded broker pids, SIGKILL after 30 s')
    .option(
      '-n, --nodes <n>',
      'only the 1- or 3-node cluster (default: every cluster with pids recorded)',
      clusterSize,
    )
    .action(async (flags: { nodes?: ClusterSize }) => {
      const { stopCluster } = await import('../../kafka-cluster/index.ts')
      const stopped = await stopCluster({ nodes: flags.nodes, log: progress })
      progress(
        stopped.length === 0 ? 'no Kafka broker of ours was running' : `stopped ${stopped.length} broker(s)`,
      )
    })

  kafka
    .command('status')
    .description(
      'show each node (pid, alive, listener, data dir, log file) and whether the cluster answers; exits 3 when none answers',
    )
    .option('-n, --nodes <n>', 'only the 1- or 3-node cluster (default: both)', clusterSize)
    .option('--json', 'print the status as JSON')
    .action(async (flags: { nodes?: ClusterSize; json?: boolean }) => {
      const { clusterStatus } = await import('../../kafka-cluster/index.ts')
      const sizes: ClusterSize[] = flags.nodes ? [flags.nodes] : [1, 3]
      const statuses = await Promise.all(sizes.map((nodes) => clusterStatus({ nodes })))
      // One write, and a closed pipe (`| head`) is not an error.
      process.stdout.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPIPE') throw error
      })
      process.stdout.write(flags.json ? `${JSON.stringify(statuses, null, 2)}\n` : formatStatus(statuses))
      // As `strata s3 status` and `strata spark status` (and LSB's status actions): 3 when no
      // cluster asked about answers, for scripts (`strata kafka status -n 1 || strata kafka start`).
      if (!statuses.some((status) => status.answering)) process.exitCode = 3
    })
}

function formatStatus(statuses: ClusterStatus[]): string {
  const lines: string[] = []
  for (const status of statuses) {
    const answer = status.answer
      ? `answers (cluster ${status.answer.clusterId}, brokers [${status.answer.brokers.join(', ')}])`
      : 'does not answer'
    const recorded = status.clusterId ? `cluster id ${status.clusterId}` : 'never started'
    lines.push(`${status.nodes}-node cluster at ${status.bootstrap}: ${answer}; ${recorded}`)
    for (const node of status.members) {
      const state = node.alive ? `pid ${node.pid} alive` : 'not running'
      lines.push(
        `  node ${node.id}  ${state}  listener ${node.listener} (controller ${node.controller})`,
        `          data ${node.dataDir}`,
        `          log  ${node.logFile}`,
      )
    }
  }
  return `${lines.join('\n')}\n`
}
