// RELIABILITY.md is shared with other reports: the runner replaces only its own section.
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { VIEWS } from './checker.ts'
import { writeReliability } from './report.ts'
import { FAULT_KINDS } from './schedule.ts'
import type { Summary } from './suite.ts'

function summaryOf(seed: number): Summary {
  const zero = () => ({ answered: 0, failed: 0 })
  return {
    seed,
    first: 0,
    schedulesRun: 1,
    faultsInjected: Object.fromEntries(FAULT_KINDS.map((k) => [k, 1])) as Summary['faultsInjected'],
    faultsNotInjected: 0,
    events: { attempted: 10, acked: 10, indeterminate: 0, failedSends: 0 },
    perView: Object.fromEntries(
      VIEWS.map((v) => [v, { lost: 0, duplicated: 0, failedChecks: 0, examples: [] }]),
    ) as unknown as Summary['perView'],
    checks: 2,
    stalls: [],
    unexpectedExits: [{ name: 'speed-0', code: 1, signal: null }],
    availability: zero(),
    availabilityDuring: Object.fromEntries(
      FAULT_KINDS.map((k) => [k, zero()]),
    ) as Summary['availabilityDuring'],
    availabilityAlone: Object.fromEntries(
      FAULT_KINDS.map((k) => [k, zero()]),
    ) as Summary['availabilityAlone'],
    failingSchedules: [],
    durationMs: 1000,
  }
}

test('the report replaces its own section of RELIABILITY.md and keeps the others', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-report-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'RELIABILITY.md')
  await writeFile(path, '# Reliability\n\n## Load and backpressure\n\nfigures of another run\n')
  await writeReliability(path, summaryOf(1), 'npm run test:faults -- --schedules 1 --seed 1', undefined)
  await writeFile(path, `${await readFile(path, 'utf8')}\n## Later section\n\nkept too\n`)
  await writeReliability(
    path,
    summaryOf(2),
    'npm run test:faults -- --schedules 1 --seed 2',
    'abcdef1234567890',
  )
  const text = await readFile(path, 'utf8')
  assert.match(text, /## Load and backpressure\n\nfigures of another run/)
  assert.match(text, /## Later section\n\nkept too/)
  assert.equal(text.match(/## Fault injection/g)?.length, 1)
  assert.match(text, /--seed 2/)
  assert.doesNotMatch(text, /--seed 1\b/)
  assert.match(text, /commit abcdef123456/)
  assert.match(text, /speed-0: 1 \(code 1 ×1\)/)
})
