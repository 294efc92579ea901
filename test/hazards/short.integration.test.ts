// The hazard suite's short variant (the full one is `npm run test:hazards`): every case, kept
// to seconds, must end with nothing lost, doubled, half-counted or silently stalled. A case whose
// checks another case's short run covers (HazardCase.shortCoveredBy) shows as skipped here.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { casePassed, loadCases, runCase, skipReason } from './suite.ts'

const brokers = process.env.STRATA_TEST_BROKERS || undefined

for (const hazard of await loadCases()) {
  const skip = skipReason(hazard, brokers, true)
  test(`hazard ${hazard.name}: ${hazard.description}`, { skip: skip ?? false }, async (t) => {
    const result = await runCase(hazard, { short: true, brokers, log: (line) => t.diagnostic(line) })
    if (result.outcome) t.diagnostic(result.outcome.summary)
    assert.equal(result.error, undefined, result.error)
    assert.ok(result.outcome, 'the case returned its figures')
    assert.ok(casePassed(result), JSON.stringify(result.outcome))
  })
}
