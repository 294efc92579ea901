// The local Apache Kafka cluster for development and tests (docs/architecture.md, "The
// parts"): jars from Maven Central, KRaft storage, detached broker JVMs on loopback.

export type { ClusterOptions, ClusterStatus, NodeInfo, StartedCluster } from './cluster.ts'
export { clusterStatus, startCluster, stopCluster } from './cluster.ts'
export type { ClusterLayout, ClusterSize, NodeSpec, ServerOverrides } from './config.ts'
export { bootstrapOf, defaultMembers, isClusterSize } from './config.ts'
export type { KafkaJars, KafkaJarsOptions } from './jars.ts'
export { ensureKafkaJars } from './jars.ts'
// Shared with the local S3-compatible server (src/s3-server/): one lock, java, port checks
export { withClusterLock } from './lock.ts'
export { copyMavenJars, type MavenCopy } from './maven-jars.ts'
export type { NodeOptions } from './nodes.ts'
export { killNode, restartNode } from './nodes.ts'
export { clusterDir, findProjectRoot, stateHome } from './paths.ts'
export { isPortFree, javaBin, terminate } from './process.ts'
export type { ClusterAnswer } from './readiness.ts'
export { probeCluster } from './readiness.ts'
