// A SASL_SSL listener (SCRAM-SHA-512 over TLS) beside the PLAINTEXT one, for testing Strata's
// Kafka security settings against a real broker. Inter-broker and controller traffic stay on
// PLAINTEXT on loopback (readiness probes and replication need no credentials); only clients that
// dial the secure port must authenticate. The certificates come from a throwaway CA made with
// openssl in the cluster's home: nothing here is fit for anything but a local test cluster.
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ErrorCodes, StrataError } from '../core/errors.ts'
import type { NodeSpec, ServerOverrides } from './config.ts'

const run = promisify(execFile)

export interface TestCertificates {
  /** PEM of the CA that signed the broker certificate: what clients trust (STRATA_KAFKA_TLS_CA). */
  caFile: string
  /** PEM holding the broker's certificate chain and its unencrypted PKCS#8 key (Kafka PEM keystore). */
  keystoreFile: string
}

/** A CA and a broker certificate for 127.0.0.1 and localhost, valid for two days. */
export async function createTestCertificates(dir: string): Promise<TestCertificates> {
  const path = (name: string) => join(dir, name)
  const openssl = async (...args: string[]) => {
    try {
      await run('openssl', args)
    } catch (error) {
      throw new StrataError(ErrorCodes.CLUSTER, `openssl ${args[0]} failed: ${(error as Error).message}`, {
        cause: error,
      })
    }
  }
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=strata-test-ca',
    '-keyout',
    path('ca.key'),
    '-out',
    path('ca.pem'),
  )
  await openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    path('broker.key'),
    '-out',
    path('broker.csr'),
  )
  await writeFile(path('broker.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  await openssl(
    'x509',
    '-req',
    '-days',
    '2',
    '-in',
    path('broker.csr'),
    '-CA',
    path('ca.pem'),
    '-CAkey',
    path('ca.key'),
    '-CAcreateserial',
    '-extfile',
    path('broker.ext'),
    '-out',
    path('broker.pem'),
  )
  // Kafka's PEM keystore: the key (PKCS#8, which openssl 3 writes by default) and the chain.
  const key = await readFile(path('broker.key'), 'utf8')
  const chain = (await readFile(path('broker.pem'), 'utf8')) + (await readFile(path('ca.pem'), 'utf8'))
  await writeFile(path('broker-keystore.pem'), key + chain, { mode: 0o600 })
  return { caFile: path('ca.pem'), keystoreFile: path('broker-keystore.pem') }
}

/**
 * Server properties that add a SASL_SSL listener on `port` with SCRAM-SHA-512 to `node`, keeping
 * its PLAINTEXT and CONTROLLER listeners. Users come from formatStorage's `--add-scram`.
 */
export function saslSslOverrides(node: NodeSpec, port: number, keystoreFile: string): ServerOverrides {
  const prefix = 'listener.name.sasl_ssl'
  return {
    listeners: `PLAINTEXT://${node.host}:${node.clientPort},CONTROLLER://${node.host}:${node.controllerPort},SASL_SSL://${node.host}:${port}`,
    'advertised.listeners': `PLAINTEXT://${node.host}:${node.clientPort},SASL_SSL://${node.host}:${port}`,
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL',
    [`${prefix}.sasl.enabled.mechanisms`]: 'SCRAM-SHA-512',
    [`${prefix}.scram-sha-512.sasl.jaas.config`]:
      'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    [`${prefix}.ssl.keystore.type`]: 'PEM',
    [`${prefix}.ssl.keystore.location`]: keystoreFile,
  }
}

/** The `--add-scram` entry for one SCRAM-SHA-512 user. */
export function scramUser(name: string, password: string): string {
  if (!/^[\w.-]+$/.test(name) || /[,\]=]/.test(password)) {
    throw new StrataError(
      ErrorCodes.INVALID_ARGUMENT,
      'SCRAM user names and passwords must not hold , ] or =',
    )
  }
  return `SCRAM-SHA-512=[name=${name},password=${password}]`
}
