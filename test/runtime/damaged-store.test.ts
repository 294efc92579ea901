// Issue 11, end to end: `strata start` on a damaged embedded store exits 1 with one line naming
// STRATA_ERR_STORE_CORRUPT (before: SIGBUS / SIGSEGV), and the documented recovery answers exactly
// the acknowledged events. The hazard case is the script; this test holds it to its figures.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import damagedLmdbStore from '../hazards/cases/damaged-lmdb-store.ts'

test('damaged LMDB store: refused at start for each damage, stopped when damaged while running, recovered exactly', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-damaged-store-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const lines: string[] = []
  const outcome = await damagedLmdbStore.run({
    dir,
    brokers: undefined,
    short: true,
    log: (line) => lines.push(line),
  })
  assert.deepEqual(outcome.refusals, { STRATA_ERR_STORE_CORRUPT: 4 }, lines.join('\n'))
  assert.equal(outcome.acknowledged, 1800)
  assert.equal(outcome.lost, 0, outcome.summary)
  assert.equal(outcome.duplicated, 0, outcome.summary)
  if (process.env.STRATA_TEST_VERBOSE) console.log(lines.join('\n'))
})
