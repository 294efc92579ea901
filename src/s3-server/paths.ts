// Where the local S3-compatible server keeps its state, beside the Kafka cluster's under the
// state folder (`<project root>/.strata`, env STRATA_HOME; kafka-cluster/paths.ts):
//
//   s3/lib/s3proxy-<v>-<hash>/   the jars Maven copied for one pom, `.complete` marks a full copy
//   s3/maven.log                 the output of the last Maven run
//   s3/server-<port>/            one folder per port
//     server.json                endpoint and credentials (what status and clients read)
//     s3proxy.properties         the server's configuration (filesystem backend)
//     logback.xml                its log configuration (INFO to stdout.log)
//     data/                      the filesystem backend: one folder per bucket, one file per object
//     stdout.log                 the JVM's output
//     pid                        the running server's pid, removed when it is stopped
import { join } from 'node:path'
import { findProjectRoot, stateHome } from '../kafka-cluster/index.ts'

export function s3Home(home: string = stateHome()): string {
  return join(home, 's3')
}

export function s3PomPath(): string {
  return join(findProjectRoot(), 'tools', 's3proxy', 'pom.xml')
}

export function serverDir(port: number, home: string = stateHome()): string {
  return join(s3Home(home), `server-${port}`)
}

export interface ServerPaths {
  dir: string
  info: string
  properties: string
  logback: string
  dataDir: string
  stdoutLog: string
  pidFile: string
}

export function serverPaths(dir: string): ServerPaths {
  return {
    dir,
    info: join(dir, 'server.json'),
    properties: join(dir, 's3proxy.properties'),
    logback: join(dir, 'logback.xml'),
    dataDir: join(dir, 'data'),
    stdoutLog: join(dir, 'stdout.log'),
    pidFile: join(dir, 'pid'),
  }
}
