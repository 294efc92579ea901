// The local Apache Spark standalone cluster for development and tests (a master and workers from
// Maven Central's jars on loopback): what `strata spark start|stop|status` and the Spark batch
// engine's tests use (docs/batch-on-spark.md).

export type {
  SparkClusterInfo,
  SparkClusterOptions,
  SparkClusterStatus,
  StartedSparkCluster,
} from './cluster.ts'
export {
  DEFAULT_SPARK_PORT,
  masterJson,
  sparkClusterStatus,
  sparkEnv,
  startSparkCluster,
  stopSparkCluster,
} from './cluster.ts'
export type { SparkJars } from './jars.ts'
export { ensureSparkJars } from './jars.ts'
export { driverPomPath, sparkHome } from './paths.ts'
