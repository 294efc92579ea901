// The short variant of the fault suite (docs/reliability.md) that `npm test` runs: four
// schedules with a fixed seed, which by construction inject every fault kind at least once, on a
// three-node cluster and a PostgreSQL of its own (free ports, so it meets neither the shared
// broker nor a long run of `npm run test:faults`). About 2-3 minutes.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { freePort } from '../helpers/process.ts'
import { VIEWS } from './checker.ts'
import { formatSummary } from './report.ts'
import { FAULT_KINDS } from './schedule.ts'
import { runSuite } from './suite.ts'

test('four fault schedules lose no acknowledged event and count none twice, in any view', async (t) => {
  const kafka = []
  for (let i = 0; i < 3; i++) kafka.push({ client: await freePort(), controller: await freePort() })
  const ports = { kafka, postgres: await freePort(), serve: await freePort() }
  // runSuite cleans up its environment (brokers, PostgreSQL, every role) in a finally; the abort
  // stops it between schedules should the test be cancelled.
  const abort = new AbortController()
  t.after(() => abort.abort())
  const summary = await runSuite({
    schedules: 4,
    seed: 20261124,
    ports,
    signal: abort.signal,
    log: (line) => t.diagnostic(line),
  })
  t.diagnostic(formatSummary(summary))
  assert.equal(summary.error, undefined)
  assert.equal(summary.schedulesRun, 4)
  assert.deepEqual(summary.stalls, [])
  for (const kind of FAULT_KINDS) {
    assert.ok(summary.faultsInjected[kind] > 0, `no ${kind} fault was injected (the killed pid must be gone)`)
  }
  assert.ok(summary.events.acked > 0)
  assert.ok(summary.checks >= 8, `${summary.checks} checks`)
  for (const view of VIEWS) {
    assert.equal(summary.perView[view].lost, 0, `${view} lost events: ${summary.perView[view].examples}`)
    assert.equal(
      summary.perView[view].duplicated,
      0,
      `${view} counted events twice: ${summary.perView[view].examples}`,
    )
  }
})
