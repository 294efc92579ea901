// Where the local Spark standalone cluster keeps its state, beside Kafka's and S3Proxy's under the
// state folder (`<project root>/.strata`, env STRATA_HOME; kafka-cluster/paths.ts):
//
//   spark/lib/spark-<v>-<hash>/   the jars Maven copied for one pom, `.complete` marks a full copy
//   spark/home-<v>-<hash>/        a SPARK_HOME for the Worker's executor launcher: RELEASE (empty)
//                                 and jars/ (a link to the lib folder). Without it the launcher
//                                 stops with "Library directory ... does not exist".
//   spark/driver/                 the batch engine's driver jar, built from tools/spark-driver/
//   spark/maven.log               the output of the last Maven run
//   spark/cluster-<port>/         one cluster per master port
//     cluster.json                the master URL and every process's ports (what status reads)
//     master/                     pid, stdout.log
//     worker-<n>/                 pid, stdout.log, work/ (executors' folders and logs)
import { join } from 'node:path'
import { findProjectRoot, stateHome } from '../kafka-cluster/index.ts'

export function sparkHome(home: string = stateHome()): string {
  return join(home, 'spark')
}

export function sparkPomPath(): string {
  return join(findProjectRoot(), 'tools', 'spark', 'pom.xml')
}

export function driverPomPath(): string {
  return join(findProjectRoot(), 'tools', 'spark-driver', 'pom.xml')
}

export function clusterDir(port: number, home: string = stateHome()): string {
  return join(sparkHome(home), `cluster-${port}`)
}

export interface ProcessPaths {
  dir: string
  pidFile: string
  stdoutLog: string
  workDir: string
}

export function processPaths(clusterFolder: string, name: string): ProcessPaths {
  const dir = join(clusterFolder, name)
  return { dir, pidFile: join(dir, 'pid'), stdoutLog: join(dir, 'stdout.log'), workDir: join(dir, 'work') }
}
