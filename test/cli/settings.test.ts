// Flags and environment resolved once (src/cli/settings.ts): a flag wins over its variable, an
// empty variable counts as unset, and each default is the one the --help texts name.
import assert from 'node:assert/strict'
import { resolve } from 'node:path'
import { test } from 'node:test'
import {
  defaultBrokers,
  resolveBrokers,
  resolvePaths,
  resolvePort,
  resolveSettings,
} from '../../src/cli/settings.ts'

test('paths: the flag, else the variable, else the default; always absolute', () => {
  assert.deepEqual(resolvePaths({}, {}), {
    configPath: resolve('strata.config.ts'),
    dataDir: resolve('.strata/data'),
    storeUrl: undefined,
  })
  const env = { STRATA_CONFIG: 'env.config.ts', STRATA_DATA: 'env-data', STRATA_STORE: 'postgres://u@h/db' }
  assert.deepEqual(resolvePaths({}, env), {
    configPath: resolve('env.config.ts'),
    dataDir: resolve('env-data'),
    storeUrl: 'postgres://u@h/db',
  })
  assert.deepEqual(resolvePaths({ config: 'c.ts', data: 'd', store: 's' }, env), {
    configPath: resolve('c.ts'),
    dataDir: resolve('d'),
    storeUrl: 's',
  })
  // The tests' own runner clears STRATA_STORE this way: the embedded default.
  assert.equal(resolvePaths({}, { STRATA_STORE: '' }).storeUrl, undefined)
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
