// A scratch one-node cluster with a SASL_SSL (SCRAM-SHA-512) listener, for the security tests.
// Ports 9292 (PLAINTEXT), 9293 (CONTROLLER), 9294 (SASL_SSL); its own home in a temp folder; the
// main jar folder is shared. Stopped and removed by `t.after`.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  ensureKafkaJars,
  type NodeSpec,
  startCluster,
  stopCluster,
} from '../../../src/kafka-cluster/index.ts'
import {
  createTestCertificates,
  saslSslOverrides,
  scramUser,
} from '../../../src/kafka-cluster/secure-listener.ts'

export const SECURE_PORT = 9294

export interface SecureCluster {
  home: string
  /** The PLAINTEXT bootstrap (no credentials), for setup and checks. */
  plaintext: string
  /** The SASL_SSL bootstrap. */
  secure: string
  caFile: string
  username: string
  password: string
}

export async function startSecureCluster(t: {
  after: (fn: () => Promise<void>) => void
}): Promise<SecureCluster> {
  const home = await mkdtemp(join(tmpdir(), 'strata-kafka-sasl-'))
  const member: NodeSpec = { id: 1, host: '127.0.0.1', clientPort: 9292, controllerPort: 9293 }
  const { libDir } = await ensureKafkaJars()
  t.after(async () => {
    await stopCluster({ nodes: 1, home })
    await rm(home, { recursive: true, force: true })
  })
  const { caFile, keystoreFile } = await createTestCertificates(home)
  const username = 'strata-test'
  const password = `pw-${randomBytes(12).toString('hex')}`
  const started = await startCluster({
    nodes: 1,
    home,
    libDir,
    members: [member],
    heap: '512m',
    overrides: (node) => saslSslOverrides(node, SECURE_PORT, keystoreFile),
    scram: [scramUser(username, password)],
  })
  return {
    home,
    plaintext: started.bootstrap,
    secure: `127.0.0.1:${SECURE_PORT}`,
    caFile,
    username,
    password,
  }
}
