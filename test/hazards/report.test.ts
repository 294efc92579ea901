import assert from 'node:assert/strict'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { emptyOutcome } from './outcome.ts'
import { formatSummary, passed, writeReport } from './report.ts'
import { type CaseResult, casePassed, type HazardSummary } from './suite.ts'

function summaryOf(results: CaseResult[]): HazardSummary {
  return {
    short: true,
    startedAt: Date.UTC(2026, 11, 5),
    durationMs: 1000,
    results,
    totals: {
      tried: results.length,
      skipped: 0,
      failed: results.filter((r) => !casePassed(r)).length,
      acknowledged: 10,
      lost: 0,
      duplicated: 0,
      partialCounted: 0,
      silentStalls: 0,
      refusals: { STRATA_ERR_DATA_LOCKED: 1 },
    },
  }
}

test('a case with a lost event, a double count, a half-counted request or a silent stall fails', () => {
  const ok: CaseResult = { name: 'a', description: 'd', durationMs: 1, outcome: emptyOutcome('fine') }
  assert.equal(casePassed(ok), true)
  for (const field of ['lost', 'duplicated', 'partialCounted', 'silentStalls'] as const) {
    const bad = { ...ok, outcome: { ...emptyOutcome(), [field]: 1 } }
    assert.equal(casePassed(bad), false, field)
  }
  assert.equal(casePassed({ ...ok, outcome: undefined, error: 'boom' }), false)
  assert.equal(casePassed({ ...ok, outcome: undefined, skipped: 'not root' }), true)
  assert.equal(passed(summaryOf([ok, { ...ok, error: 'boom' }])), false)
})

test('the report replaces its own section of RELIABILITY.md and leaves the rest', async () => {
  const path = join(await mkdtemp(join(tmpdir(), 'hazard-report-')), 'RELIABILITY.md')
  await writeFile(path, '# Reliability\n\nbefore\n')
  const summary = summaryOf([{ name: 'a', description: 'd', durationMs: 1, outcome: emptyOutcome('fine') }])
  await writeReport(path, summary, 'npm run test:hazards', 'abc1234')
  await writeReport(path, summary, 'npm run test:hazards', 'def5678')
  const text = await readFile(path, 'utf8')
  assert.equal(text.match(/## Hazards of real operation/g)?.length, 1)
  assert.match(text, /^# Reliability\n\nbefore\n/)
  assert.match(text, /on def5678/)
  assert.match(text, /\| `a` \| d \| 0 \| 0 \| 0 \| 0 \| 0 \|/)
  assert.match(formatSummary(summary), /STRATA_ERR_DATA_LOCKED ×1/)
})
