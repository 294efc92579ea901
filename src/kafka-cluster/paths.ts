// Where the local Kafka cluster keeps its state. Everything lives under one state folder
// (`<project root>/.strata`, git-ignored; `./.strata` when installed as a package; env
// STRATA_HOME overrides it):
//
//   kafka/lib/kafka-<v>-<hash>/    the jars Maven copied for one pom, `.complete` marks a full copy
//   kafka/maven.log                the output of the last Maven run
//   kafka/cluster-<N>/             one folder per cluster shape (N = 1 or 3 nodes)
//     cluster.json                 cluster id and the ports of every node (what status/stop read)
//     log4j2.properties            shared by the nodes; each writes to its own logs/ folder
//     node-<id>/server.properties
//     node-<id>/data/              log.dirs (topic partitions and the KRaft metadata log)
//     node-<id>/logs/server.log    the broker's log (kafka.logs.dir)
//     node-<id>/stdout.log         JVM stdout/stderr (crashes before log4j starts land here)
//     node-<id>/pid                the pid of the running broker, removed when it is stopped
import { existsSync } from 'node:fs'
import { dirname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The repository root: the nearest folder above this file that holds `tools/kafka/pom.xml`.
 * Found from the module's own location, so it does not depend on the caller's cwd.
 */
export function findProjectRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from)
  for (;;) {
    if (existsSync(join(dir, 'tools', 'kafka', 'pom.xml')) && existsSync(join(dir, 'package.json')))
      return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`no Strata project root (tools/kafka/pom.xml) above ${from}`)
    dir = parent
  }
}

/**
 * The state folder: env STRATA_HOME, else `<project root>/.strata`. Installed as a package, the
 * project root is the package's folder under node_modules, which the next `npm install` replaces:
 * the state goes to `./.strata` of the current folder instead, beside the default data folder.
 */
export function stateHome(env: NodeJS.ProcessEnv = process.env): string {
  const home = env['STRATA_HOME']
  if (home) return resolve(home)
  const root = findProjectRoot()
  return root.split(sep).includes('node_modules') ? resolve('.strata') : join(root, '.strata')
}

export function kafkaHome(home: string = stateHome()): string {
  return join(home, 'kafka')
}

export function defaultLibDir(home: string = stateHome()): string {
  return join(kafkaHome(home), 'lib')
}

export function pomPath(): string {
  return join(findProjectRoot(), 'tools', 'kafka', 'pom.xml')
}

export function clusterDir(nodes: number, home: string = stateHome()): string {
  return join(kafkaHome(home), `cluster-${nodes}`)
}

/** The files of one node of a cluster. */
export interface NodePaths {
  dir: string
  serverProperties: string
  dataDir: string
  logsDir: string
  serverLog: string
  stdoutLog: string
  pidFile: string
}

export function nodePaths(clusterFolder: string, nodeId: number): NodePaths {
  const dir = join(clusterFolder, `node-${nodeId}`)
  const logsDir = join(dir, 'logs')
  return {
    dir,
    serverProperties: join(dir, 'server.properties'),
    dataDir: join(dir, 'data'),
    logsDir,
    serverLog: join(logsDir, 'server.log'),
    stdoutLog: join(dir, 'stdout.log'),
    pidFile: join(dir, 'pid'),
  }
}
