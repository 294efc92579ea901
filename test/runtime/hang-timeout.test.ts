// --hang-timeout (STRATA_HANG_TIMEOUT; StrataOptions.hangTimeout): how long a view's code may go
// without returning. Checked at the edge with the field named (at least 2 s); the batch layer is
// stalled, and a close ends the thread, past it; the speed layer is stalled past half of it. The
// default keeps 60 s and 30 s. test/cli/view-never-returns.test.ts runs a process on 4 s.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { flagDuration } from '../../src/cli/options.ts'
import { resolveHangTimeout, resolveSettings } from '../../src/cli/settings.ts'
import type { StrataConfig } from '../../src/core/config.ts'
import { ErrorCodes } from '../../src/core/errors.ts'
import { isStrataError, startStrata } from '../../src/index.ts'
import { CLOSE_TIMEOUT_MS, speedHangMs } from '../../src/runtime/role.ts'
import { BATCH_SILENT_AFTER_MS, batchReporter, speedReporter } from '../../src/runtime/role-reporters.ts'
import { type RoleContext, speedWorkerOptions } from '../../src/runtime/roles.ts'
import { hangTimeoutMs } from '../../src/runtime/strata-options.ts'
import { STUCK_FOLD_MS } from '../../src/speed/index.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { spawnStrata } from '../helpers/process.ts'
import { exampleConfig } from './start-helpers.ts'

const refused = (field: string, message: RegExp) => (error: unknown) =>
  isStrataError(error) &&
  error.code === ErrorCodes.INVALID_ARGUMENT &&
  (error as { field?: string }).field === field &&
  message.test(error.message)

test('hangTimeoutMs: 60 s by default, any duration from 2 s; shorter or not a duration is refused with its field', () => {
  assert.equal(hangTimeoutMs(), 60_000)
  assert.equal(hangTimeoutMs(), CLOSE_TIMEOUT_MS)
  assert.equal(speedHangMs(), 30_000)
  assert.equal(hangTimeoutMs('2s'), 2_000)
  assert.equal(hangTimeoutMs('5m'), 300_000)
  assert.throws(() => hangTimeoutMs('1999ms'), refused('hangTimeout', /at least 2s.*got 1999ms/))
  assert.throws(() => hangTimeoutMs('soon', '--hang-timeout'), refused('--hang-timeout', /must look like/))
  assert.throws(() => hangTimeoutMs(0), refused('hangTimeout', /positive integer/))
})

test('settings: --hang-timeout, else STRATA_HANG_TIMEOUT, each named in its error', () => {
  assert.equal(resolveHangTimeout(undefined, {}), undefined)
  assert.equal(resolveHangTimeout(undefined, { STRATA_HANG_TIMEOUT: '8s' }), '8s')
  assert.equal(resolveHangTimeout('7s', { STRATA_HANG_TIMEOUT: '8s' }), '7s')
  assert.equal(resolveSettings({ hangTimeout: '9s' }, { serves: false }, {}).hangTimeout, '9s')
  assert.throws(() => resolveHangTimeout('1s', {}), refused('--hang-timeout', /at least 2s/))
  assert.throws(
    () => resolveHangTimeout(undefined, { STRATA_HANG_TIMEOUT: '1s' }),
    refused('STRATA_HANG_TIMEOUT', /at least 2s/),
  )
})

test('speed: a fold stuck past half the hang timeout is stalled; the default waits 30 s', async () => {
  let forMs = 2_500
  const stats = () => ({
    mode: 'embedded' as const,
    partitions: [
      {
        partition: 0,
        consumed: 2,
        commitFailures: 0,
        failingSince: null,
        lastCommitError: null,
        stopped: null,
        stoppedCode: null,
      },
    ] as unknown as ReturnType<Parameters<typeof speedReporter>[0]>['partitions'],
    stuckFolds: [{ partition: 0, offset: 2, view: 'hangs', forMs }],
  })
  const short = speedReporter(stats, async () => [3], Date.now, undefined, speedHangMs(4_000))
  const byDefault = speedReporter(stats, async () => [3])
  assert.equal((await short()).state, 'stalled')
  assert.equal((await byDefault()).state, 'running')
  forMs = 1_500
  assert.equal((await short()).state, 'running')
})

test("batch: the silence asked of the schedule is the hang timeout's, a minute by default", () => {
  const asked: number[] = []
  const silent = (ms: number) => {
    asked.push(ms)
    return []
  }
  const schedule = { failures: 0, lastError: undefined, silent }
  batchReporter(schedule)()
  batchReporter(schedule, 4_000)()
  assert.deepEqual(asked, [BATCH_SILENT_AFTER_MS, 4_000])
})

test('the embedded speed layer ends its fold thread past the hang timeout and lists a stuck fold from half of it', () => {
  const config = { source: { topic: 'events', partitions: 2, time: 'ts' } } as unknown as StrataConfig
  const context = {
    config,
    configPath: 'strata.config.ts',
    embeddedFoldThread: true,
    logger: { info() {}, warn() {}, error() {}, debug() {} },
  } as unknown as RoleContext
  const log = {} as Parameters<typeof speedWorkerOptions>[1]
  const byDefault = speedWorkerOptions(context, log)
  assert.equal(byDefault.closeTimeoutMs, CLOSE_TIMEOUT_MS)
  assert.equal(byDefault.stuckFoldMs, undefined)
  const short = speedWorkerOptions({ ...context, hangTimeoutMs: 4_000 }, log)
  assert.equal(short.closeTimeoutMs, 4_000)
  assert.equal(short.stuckFoldMs, Math.min(STUCK_FOLD_MS, 2_000))
})

test('startStrata refuses a hangTimeout under 2 s before it opens or locks anything', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-hang-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  await assert.rejects(
    startStrata({ config: exampleConfig, data: join(dir, 'data'), port: 0, hangTimeout: '1s' }),
    refused('hangTimeout', /at least 2s/),
  )
  // A second start on the same folder is not refused as locked: nothing was left behind.
  const strata = await startStrata({
    config: exampleConfig,
    data: join(dir, 'data'),
    port: 0,
    hangTimeout: '2s',
  })
  defer(() => strata.close())
})

test('strata start --hang-timeout 1s: exit 1, one line naming the flag and the code', async () => {
  const run = spawnStrata(['start', '--hang-timeout', '1s'])
  assert.equal(await run.exited, 1, run.output())
  assert.match(run.output(), /STRATA_ERR_INVALID_ARGUMENT/)
  assert.match(run.output(), /--hang-timeout must be at least 2s/)
})

// Node's setTimeout holds ~24.8 days; a longer delay fires after 1 ms. --hang-timeout 30d was
// accepted and ended every role thread 1 ms into a stop (exit 1, "did not close within 2592000 s"),
// --batch-interval 30d ran batches back to back: each is refused at start with its field named.
test('a timer setting past 24 days is refused with its field named, not run as a 1 ms timer', async (t) => {
  assert.equal(hangTimeoutMs('24d'), 24 * 86_400_000)
  assert.throws(
    () => hangTimeoutMs('30d', '--hang-timeout'),
    refused('--hang-timeout', /at most 24d.*got 30d/),
  )
  assert.throws(
    () => resolveHangTimeout(undefined, { STRATA_HANG_TIMEOUT: '25d' }),
    refused('STRATA_HANG_TIMEOUT', /at most 24d/),
  )
  assert.equal(flagDuration('24d', '--batch-interval'), 24 * 86_400_000)
  for (const flag of ['--batch-interval', '--segment-age', '--request-timeout', '--shutdown-grace']) {
    assert.throws(() => flagDuration('30d', flag), refused(flag, /at most 24d.*got 30d/))
  }
  const dir = await mkdtemp(join(tmpdir(), 'strata-timer-'))
  const defer = deferrer(t)
  defer(() => rm(dir, { recursive: true, force: true }))
  for (const [field, options] of [
    ['batchInterval', { batchInterval: '30d' }],
    ['segmentAge', { segmentAge: 3_000_000_000 }],
    ['hangTimeout', { hangTimeout: '30d' }],
  ] as const) {
    await assert.rejects(
      startStrata({ config: join(dir, 'none.config.ts'), data: join(dir, 'data'), port: 0, ...options }),
      refused(field, /at most 24d/),
    )
  }
})
