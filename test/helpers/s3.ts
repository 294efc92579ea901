// Shared by the object-storage integration tests: a real S3Proxy (src/s3-server/) on a free
// loopback port with a fresh temp backend, stopped after the test file.
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { S3Settings } from '../../src/master-dataset/index.ts'
import { type StartedS3Server, startS3Server, stopS3Server } from '../../src/s3-server/index.ts'

export interface TestS3 {
  server: StartedS3Server
  /** The backend's folder: one folder per bucket, one file per object key. */
  dataDir: string
  settings: S3Settings
  /** The AWS variables a child process needs to reach it. */
  env: Record<string, string>
  stop(): Promise<void>
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/**
 * Starts S3Proxy with the buckets given (on `port`, else a free one); the credentials go into
 * process.env for the SDK.
 */
export async function startTestS3(buckets: string[] = ['strata-test'], port?: number): Promise<TestS3> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-s3-'))
  port ??= await freePort()
  const server = await startS3Server({ port, dir, buckets })
  const env = {
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_REGION: server.region,
  }
  Object.assign(process.env, env)
  return {
    server,
    dataDir: server.dataDir,
    settings: { endpoint: server.endpoint, forcePathStyle: true },
    env: { ...env, STRATA_S3_ENDPOINT: server.endpoint },
    async stop() {
      await stopS3Server({ port, dir })
      await rm(dir, { recursive: true, force: true })
    },
  }
}
