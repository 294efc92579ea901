// Issue 11, end to end: zone-less event times through `strata start` in America/New_York and
// `strata batch` in Asia/Kolkata answer the UTC reference exactly; an impossible date is refused.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import zonelessTimeTwoZones from '../hazards/cases/zoneless-time-two-zones.ts'

test('zone-less times: speed in one zone, batch in another, same UTC windows', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-zoneless-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const lines: string[] = []
  const outcome = await zonelessTimeTwoZones.run({
    dir,
    brokers: undefined,
    short: true,
    log: (l) => lines.push(l),
  })
  assert.equal(outcome.acknowledged, 2000, lines.join('\n'))
  assert.deepEqual(outcome.refusals, { STRATA_ERR_INVALID_EVENT_TIME: 1 }, lines.join('\n'))
  assert.equal(outcome.lost, 0, lines.join('\n'))
  assert.equal(outcome.duplicated, 0, lines.join('\n'))
  assert.equal(outcome.partialCounted, 0, lines.join('\n'))
  if (process.env.STRATA_TEST_VERBOSE) console.log(lines.join('\n'))
})
