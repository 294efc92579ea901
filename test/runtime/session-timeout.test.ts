// --session-timeout (STRATA_SESSION_TIMEOUT; StrataOptions.sessionTimeout): the consumer-group
// session timeout of the speed layer and the archiver, checked at the edge with the field named,
// and carried with its heartbeat (at most a third of it) into the consumer options of each role.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { resolveSessionTimeout, resolveSettings } from '../../src/cli/settings.ts'
import type { StrataConfig } from '../../src/core/config.ts'
import { ErrorCodes } from '../../src/core/errors.ts'
import { isStrataError, startStrata } from '../../src/index.ts'
import { archiverOptions, type RoleContext, speedWorkerOptions } from '../../src/runtime/roles.ts'
import { groupTimers } from '../../src/runtime/strata-options.ts'
import { spawnStrata } from '../helpers/process.ts'
import { exampleConfig } from './start-helpers.ts'

const refused = (field: string, message: RegExp) => (error: unknown) =>
  isStrataError(error) &&
  error.code === ErrorCodes.INVALID_ARGUMENT &&
  (error as { field?: string }).field === field &&
  message.test(error.message)

test('groupTimers: the session in ms, the heartbeat a third of it and at most 3 s; 30 s by default', () => {
  assert.deepEqual(groupTimers(), { sessionTimeoutMs: 30_000, heartbeatIntervalMs: 3_000 })
  assert.deepEqual(groupTimers('6s'), { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 2_000 })
  assert.deepEqual(groupTimers('10s'), { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 3_000 })
  assert.deepEqual(groupTimers(7_000), { sessionTimeoutMs: 7_000, heartbeatIntervalMs: 2_333 })
  assert.deepEqual(groupTimers('30m'), { sessionTimeoutMs: 1_800_000, heartbeatIntervalMs: 3_000 })
})

test('groupTimers: outside Kafka bounds (6 s to 30 min) or not a duration is refused with its field', () => {
  assert.throws(() => groupTimers('5999ms'), refused('sessionTimeout', /between 6s and 30m.*got 5999ms/))
  assert.throws(() => groupTimers('31m', '--session-timeout'), refused('--session-timeout', /got 31m/))
  assert.throws(
    () => groupTimers('1.5m', '--session-timeout'),
    refused('--session-timeout', /must look like/),
  )
  assert.throws(() => groupTimers(0), refused('sessionTimeout', /positive integer/))
})

test('settings: --session-timeout, else STRATA_SESSION_TIMEOUT, each named in its error', () => {
  assert.equal(resolveSessionTimeout(undefined, {}), undefined)
  assert.equal(resolveSessionTimeout(undefined, { STRATA_SESSION_TIMEOUT: '' }), undefined)
  assert.equal(resolveSessionTimeout(undefined, { STRATA_SESSION_TIMEOUT: '8s' }), '8s')
  assert.equal(resolveSessionTimeout('7s', { STRATA_SESSION_TIMEOUT: '8s' }), '7s')
  assert.equal(
    resolveSettings({ sessionTimeout: '9s' }, { serves: false }, {}).sessionTimeout,
    '9s',
    'resolveSettings carries it',
  )
  assert.throws(() => resolveSessionTimeout('1s', {}), refused('--session-timeout', /between 6s and 30m/))
  assert.throws(
    () => resolveSessionTimeout(undefined, { STRATA_SESSION_TIMEOUT: 'soon' }),
    refused('STRATA_SESSION_TIMEOUT', /must look like/),
  )
})

test('the timers reach the consumer options of the speed role and of the archiver role', () => {
  const config = { source: { topic: 'events', partitions: 2, time: 'ts' } } as unknown as StrataConfig
  const context = {
    config,
    configPath: '/nowhere/strata.config.ts',
    masterRoot: '/nowhere/master',
    store: {},
    logger: {},
    brokers: '127.0.0.1:1',
    groupId: 'g',
    groupTimers: groupTimers('7s'),
  } as unknown as RoleContext
  assert.deepEqual(speedWorkerOptions(context).consumer, {
    sessionTimeoutMs: 7_000,
    heartbeatIntervalMs: 2_333,
  })
  const archiver = archiverOptions(context, 10_000, { write: async () => undefined })
  assert.equal(archiver.sessionTimeoutMs, 7_000)
  assert.equal(archiver.heartbeatIntervalMs, 2_333)
  assert.equal(archiver.groupId, 'g')
  // Without timers, the consumer's own defaults (30 s, 3 s) apply.
  const bare = { ...context, groupTimers: undefined } as RoleContext
  assert.equal(speedWorkerOptions(bare).consumer, undefined)
  assert.equal(archiverOptions(bare, 10_000, { write: async () => undefined }).sessionTimeoutMs, undefined)
})

test('startStrata refuses a bad sessionTimeout before it opens or locks anything', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-session-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  await assert.rejects(
    startStrata({ config: exampleConfig, data: join(dir, 'data'), port: 0, sessionTimeout: '2s' }),
    refused('sessionTimeout', /between 6s and 30m/),
  )
  // A second start on the same folder is not refused as locked: nothing was left behind.
  const strata = await startStrata({
    config: exampleConfig,
    data: join(dir, 'data'),
    port: 0,
    sessionTimeout: '6s',
  })
  await strata.close()
})

test('strata worker speed --session-timeout 1s: exit 1, one line naming the flag and the code', async () => {
  const run = spawnStrata(['worker', 'speed', '--brokers', '127.0.0.1:1', '--session-timeout', '1s'])
  assert.equal(await run.exited, 1, run.output())
  assert.match(run.output(), /--session-timeout must be between 6s and 30m.*\[STRATA_ERR_INVALID_ARGUMENT\]/)
})

test('strata worker serve|batch refuse --session-timeout and --group (no group to tune), not STRATA_SESSION_TIMEOUT', async () => {
  const serve = spawnStrata(['worker', 'serve', '--session-timeout', '10s'])
  assert.equal(await serve.exited, 1, serve.output())
  assert.match(
    serve.output(),
    /--session-timeout is for the speed and archiver roles.*strata worker serve joins no group.*\[STRATA_ERR_INVALID_ARGUMENT\]/,
  )
  const batch = spawnStrata(['worker', 'batch', '--group', 'mine'])
  assert.equal(await batch.exited, 1, batch.output())
  assert.match(
    batch.output(),
    /--group is for the speed and archiver roles.*strata worker batch joins no group/,
  )
  // A shared environment is not refused: serve goes on to its own next failure (no config file).
  const env = spawnStrata(['worker', 'serve', '--config', '/nonexistent/strata.config.ts'], {
    STRATA_SESSION_TIMEOUT: '10s',
  })
  assert.equal(await env.exited, 1, env.output())
  assert.doesNotMatch(env.output(), /session/i)
  assert.match(env.output(), /nonexistent\/strata\.config\.ts/)
})
