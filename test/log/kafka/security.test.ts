// STRATA_KAFKA_* → SASL and TLS settings, their mapping onto the client's options, and how a
// failure is classified — without a broker (security.integration.test.ts has the real one).
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { inspect } from 'node:util'
import { AuthenticationError, NetworkError } from '@platformatic/kafka'
import { scrubSecrets } from '../../../src/core/secrets.ts'
import { baseClientOptions, toStrataError } from '../../../src/log/kafka/client-options.ts'
import {
  describeKafkaSecurity,
  kafkaSecurityFromEnv,
  securityClientOptions,
} from '../../../src/log/kafka/security.ts'

test('no STRATA_KAFKA_* variables: plain TCP, no SASL', () => {
  assert.equal(kafkaSecurityFromEnv({}), undefined)
  assert.deepEqual(securityClientOptions(undefined), {})
  const options = baseClientOptions({ brokers: '127.0.0.1:9092', security: null }, 'test')
  assert.equal('sasl' in options || 'tls' in options, false)
})

test('SCRAM with a password file and a CA: TLS on, the password hidden behind a function', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-kafka-env-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'pw'), 'p4ssw0rd-from-file\n')
  await writeFile(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\n')
  const security = kafkaSecurityFromEnv({
    STRATA_KAFKA_SASL_MECHANISM: 'scram-sha-512',
    STRATA_KAFKA_SASL_USERNAME: 'strata',
    STRATA_KAFKA_SASL_PASSWORD_FILE: join(dir, 'pw'),
    STRATA_KAFKA_TLS_CA: join(dir, 'ca.pem'),
  })
  assert.equal(security?.sasl?.mechanism, 'SCRAM-SHA-512')
  assert.equal(security?.sasl?.password, 'p4ssw0rd-from-file')
  assert.equal(String(security?.tls?.ca), '-----BEGIN CERTIFICATE-----\n')
  const options = securityClientOptions(security)
  assert.equal(typeof options.sasl?.password, 'function')
  assert.equal((options.sasl!.password as () => string)(), 'p4ssw0rd-from-file')
  assert.equal(options.tls?.rejectUnauthorized, true)
  assert.ok(!inspect(options, { depth: 5 }).includes('p4ssw0rd-from-file'), 'a dump of the options hides it')
  assert.equal(describeKafkaSecurity(security), 'SASL SCRAM-SHA-512 as strata, TLS (own CA)')
  assert.equal(scrubSecrets('login p4ssw0rd-from-file'), 'login ***', 'reading it registered it as a secret')
})

test('STRATA_KAFKA_TLS alone turns TLS on with the system CAs; false keeps it off', () => {
  assert.deepEqual(kafkaSecurityFromEnv({ STRATA_KAFKA_TLS: 'true' }), { tls: {} })
  assert.equal(kafkaSecurityFromEnv({ STRATA_KAFKA_TLS: 'false' }), undefined)
})

test('bad settings are STRATA_ERR_INVALID_CONFIG naming the variable, never the password', () => {
  const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
    [{ STRATA_KAFKA_SASL_MECHANISM: 'GSSAPI', STRATA_KAFKA_SASL_PASSWORD: 'pw-secret-1' }, /MECHANISM/],
    [{ STRATA_KAFKA_SASL_MECHANISM: 'PLAIN', STRATA_KAFKA_SASL_PASSWORD: 'pw-secret-1' }, /USERNAME/],
    [{ STRATA_KAFKA_SASL_MECHANISM: 'PLAIN', STRATA_KAFKA_SASL_USERNAME: 'u' }, /PASSWORD/],
    [{ STRATA_KAFKA_SASL_USERNAME: 'u', STRATA_KAFKA_SASL_PASSWORD: 'pw-secret-1' }, /no mechanism/],
    [{ STRATA_KAFKA_TLS_CA: '/no/such/ca.pem' }, /STRATA_KAFKA_TLS_CA: cannot read/],
    [{ STRATA_KAFKA_TLS: 'maybe' }, /STRATA_KAFKA_TLS/],
  ]
  for (const [env, message] of cases) {
    assert.throws(
      () => kafkaSecurityFromEnv(env),
      (error: { code?: string; message: string }) =>
        error.code === 'STRATA_ERR_INVALID_CONFIG' &&
        message.test(error.message) &&
        !error.message.includes('pw-secret-1'),
      JSON.stringify(env),
    )
  }
})

test('a refused login is KAFKA_AUTH and a distrusted certificate KAFKA_TLS, neither retriable', () => {
  const auth = toStrataError(
    new NetworkError('Connection to 127.0.0.1:9294 failed.', {
      cause: new AuthenticationError('SASL authentication failed.'),
    }),
    'Cannot list offsets',
  )
  assert.equal(auth.code, 'STRATA_ERR_KAFKA_AUTH')
  assert.equal(auth.retriable, false)
  const certificate = Object.assign(new Error('self-signed certificate in certificate chain'), {
    code: 'SELF_SIGNED_CERT_IN_CHAIN',
  })
  const tls = toStrataError(new NetworkError('Connection failed.', { cause: certificate }), 'Cannot connect')
  assert.equal(tls.code, 'STRATA_ERR_KAFKA_TLS')
  assert.equal(tls.retriable, false)
  const down = toStrataError(
    new NetworkError('Connection failed.', { cause: new Error('ECONNREFUSED') }),
    'x',
  )
  assert.equal(down.code, 'STRATA_ERR_KAFKA_UNAVAILABLE')
  assert.equal(down.retriable, true)
})
