// `npm run test:hazards [-- --short] [--only a,b] [--no-write]`: every hazard case of cases/,
// in the full variant unless --short; writes the figures to RELIABILITY.md (unless --no-write or
// a case was left out with --only) and exits 1 when any case failed.
import { execFileSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import { formatSummary, passed, writeReport } from './report.ts'
import { runHazards } from './suite.ts'

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    only: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
})
if (values.help) {
  console.log(`usage: npm run test:hazards -- [--short] [--only NAME,NAME] [--no-write]

Plays each hazard of real operation (test/hazards/cases/) against real processes and checks
every acknowledged event afterwards. Kafka cases use STRATA_TEST_BROKERS (skipped without it);
the full-disk case needs root. Writes the figures to RELIABILITY.md unless --no-write or --only.`)
  process.exit(0)
}
const only = values.only ? values.only.split(',').filter(Boolean) : []
const brokers = process.env.STRATA_TEST_BROKERS || undefined
const summary = await runHazards({ short: values.short, only, brokers, log: (line) => console.log(line) })
console.log(formatSummary(summary))
if (!values['no-write'] && only.length === 0) {
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
  const command = `STRATA_TEST_BROKERS=${brokers ?? '<none>'} npm run test:hazards${values.short ? ' -- --short' : ''}`
  await writeReport(new URL('../../RELIABILITY.md', import.meta.url).pathname, summary, command, commit)
  console.log('RELIABILITY.md: hazard section written')
}
process.exit(passed(summary) ? 0 : 1)
