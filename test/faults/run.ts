// `npm run test:faults -- [--schedules N] [--seed S] [--first I] [--json] [--no-report] [--keep]
// [--report FILE] [--commit SHA]`:
// the fault-injection suite (docs/reliability.md). Prints each schedule as it runs and the
// summary at the end; a full run (from schedule 0) rewrites RELIABILITY.md with its figures and
// this command line. Exit code 1 when anything was lost, duplicated or stalled.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { defaultPorts } from './environment.ts'
import { formatSummary, passed, writeReliability } from './report.ts'
import { runSuite } from './suite.ts'

function gitHead(): string | undefined {
  const result = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: import.meta.dirname, encoding: 'utf8' })
  return result.status === 0 ? result.stdout.trim() : undefined
}

const { values } = parseArgs({
  options: {
    schedules: { type: 'string', default: '100' },
    seed: { type: 'string' },
    first: { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
    'no-report': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    // Where the report goes (default: RELIABILITY.md of this checkout), and the commit the run
    // is of, when it runs from an exported copy of the tree rather than a git checkout.
    report: { type: 'string' },
    commit: { type: 'string' },
  },
})

function count(flag: string, text: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 0) {
    console.error(`STRATA_ERR_INVALID_ARGUMENT: --${flag} takes a whole number, not ${JSON.stringify(text)}`)
    process.exit(2)
  }
  return n
}

const schedules = count('schedules', values.schedules)
const first = count('first', values.first)
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : count('seed', values.seed)
const command = `npm run test:faults -- --schedules ${schedules} --seed ${seed}${first ? ` --first ${first}` : ''}`
const log = values.json ? (line: string) => console.error(line) : (line: string) => console.log(line)
log(`${command}   (replay any schedule I alone with --seed ${seed} --first I --schedules 1)`)

const abort = new AbortController()
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => abort.abort())

const summary = await runSuite({
  schedules,
  seed,
  first,
  ports: defaultPorts,
  keep: values.keep,
  log,
  signal: abort.signal,
})
if (values.json) console.log(JSON.stringify(summary, null, 2))
else console.log(`\n${formatSummary(summary)}`)
if (!values['no-report'] && first === 0 && !abort.signal.aborted) {
  const path = values.report ?? fileURLToPath(new URL('../../RELIABILITY.md', import.meta.url))
  await writeReliability(path, summary, command, values.commit ?? gitHead())
  log(`wrote ${path}`)
}
process.exit(passed(summary) ? 0 : 1)
