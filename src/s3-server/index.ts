// The local S3-compatible server for development and tests (S3Proxy from Maven Central, filesystem
// backend, loopback): what `strata s3 start|stop|status` and the integration tests use.

export type { S3ProxyJars } from './jars.ts'
export { ensureS3ProxyJars } from './jars.ts'
export type { S3ServerInfo, S3ServerOptions, S3ServerStatus, StartedS3Server } from './server.ts'
export {
  DEFAULT_BUCKET,
  DEFAULT_S3_PORT,
  LOCAL_ACCESS_KEY,
  LOCAL_SECRET_KEY,
  s3ServerStatus,
  startS3Server,
  stopS3Server,
} from './server.ts'
