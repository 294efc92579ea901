// Flags and environment resolved once (src/cli/settings.ts): a flag wins over its variable, an
// empty variable counts as unset, and each default is the one the --help texts name.
import assert from 'node:assert/strict'
import { resolve } from 'node:path'
import { test } from 'node:test'
import {
  defaultBrokers,
  resolveBrokers,
  resolveMaster,
  resolvePaths,
  resolvePort,
  resolveSettings,
} from '../../src/cli/settings.ts'

test('paths: the flag, else the variable, else the default; always absolute', () => {
  assert.deepEqual(resolvePaths({}, {}), {
    configPath: resolve('strata.config.ts'),
    dataDir: resolve('.strata/data'),
    storeUrl: undefined,
    master: undefined,
    s3: { forcePathStyle: false },
  })
  const env = { STRATA_CONFIG: 'env.config.ts', STRATA_DATA: 'env-data', STRATA_STORE: 'postgres://u@h/db' }
  assert.deepEqual(resolvePaths({}, env), {
    configPath: resolve('env.config.ts'),
    dataDir: resolve('env-data'),
    storeUrl: 'postgres://u@h/db',
    master: undefined,
    s3: { forcePathStyle: false },
  })
  assert.deepEqual(resolvePaths({ config: 'c.ts', data: 'd', store: 's' }, env), {
    configPath: resolve('c.ts'),
    dataDir: resolve('d'),
    storeUrl: 's',
    master: undefined,
    s3: { forcePathStyle: false },
  })
  // The tests' own runner clears STRATA_STORE this way: the embedded default.
  assert.equal(resolvePaths({}, { STRATA_STORE: '' }).storeUrl, undefined)
})

test('master: --master, else STRATA_MASTER; an s3:// URL checked; the endpoint and path style for S3-compatible stores', () => {
  assert.equal(resolveMaster(undefined, {}).master, undefined)
  assert.equal(resolveMaster('m', {}).master, resolve('m'))
  assert.equal(resolveMaster(undefined, { STRATA_MASTER: 's3://bucket/p' }).master, 's3://bucket/p')
  assert.equal(resolveMaster('s3://flag/x', { STRATA_MASTER: 's3://bucket/p' }).master, 's3://flag/x')
  assert.throws(() => resolveMaster('s3://B_/x', {}), { code: 'STRATA_ERR_INVALID_ARGUMENT' })
  assert.deepEqual(resolveMaster(undefined, { AWS_ENDPOINT_URL: 'http://127.0.0.1:9000' }).s3, {
    endpoint: 'http://127.0.0.1:9000',
    forcePathStyle: true,
  })
  const both = { STRATA_S3_ENDPOINT: 'http://a:1', AWS_ENDPOINT_URL: 'http://b:2', STRATA_S3_PATH_STYLE: '0' }
  assert.deepEqual(resolveMaster(undefined, both).s3, { endpoint: 'http://a:1', forcePathStyle: false })
})

test('brokers: none given is the embedded default; produce alone falls back to a local broker', () => {
  assert.equal(resolveBrokers(undefined, {}), undefined)
  assert.equal(resolveBrokers(undefined, { STRATA_BROKERS: '' }), undefined)
  assert.equal(resolveBrokers(undefined, { STRATA_BROKERS: 'k:9092' }), 'k:9092')
  assert.equal(resolveBrokers('f:9092', { STRATA_BROKERS: 'k:9092' }), 'f:9092')
  assert.equal(defaultBrokers, '127.0.0.1:9092')
})

test('port: --port, else STRATA_PORT checked like the flag, else 8080', () => {
  assert.equal(resolvePort(undefined, {}), 8080)
  assert.equal(resolvePort(undefined, { STRATA_PORT: '' }), 8080)
  assert.equal(resolvePort(undefined, { STRATA_PORT: '9000' }), 9000)
  assert.equal(resolvePort(7000, { STRATA_PORT: '9000' }), 7000)
  assert.throws(
    () => resolvePort(undefined, { STRATA_PORT: 'eighty' }),
    (error: Error & { code?: string }) =>
      error.code === 'STRATA_ERR_INVALID_ARGUMENT' &&
      error.message === 'STRATA_PORT must be a positive whole number, got "eighty"',
  )
})

test('settings: the mode follows the brokers; a process that does not serve never reads its port', () => {
  const embedded = resolveSettings({ host: '127.0.0.1' }, { serves: true }, {})
  assert.equal(embedded.mode, 'embedded')
  assert.equal(embedded.brokers, undefined)
  assert.deepEqual(embedded.http, { port: 8080, host: '127.0.0.1' })
  const kafka = resolveSettings({}, { serves: false }, { STRATA_BROKERS: 'k:9092', STRATA_PORT: 'bad' })
  assert.equal(kafka.mode, 'kafka')
  assert.equal(kafka.brokers, 'k:9092')
  assert.equal(kafka.http, undefined)
})

test('settings: consumer groups from strata start --group-prefix or strata worker --group', () => {
  assert.deepEqual(resolveSettings({}, { serves: false }, {}).groups, {
    speed: 'strata-speed',
    archiver: 'strata-archiver',
  })
  assert.deepEqual(resolveSettings({ groupPrefix: 'p' }, { serves: false }, {}).groups, {
    speed: 'p-speed',
    archiver: 'p-archiver',
  })
  assert.deepEqual(resolveSettings({ group: 'g' }, { serves: false }, {}).groups, {
    speed: 'g',
    archiver: 'g',
  })
})
