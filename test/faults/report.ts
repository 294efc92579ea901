// The summary of a run, as text for the terminal and as the fault-injection section of
// RELIABILITY.md, which the runner rewrites at the end of every full run so the figures there
// always come from one real run.
import { readFile, writeFile } from 'node:fs/promises'
import { VIEWS } from './checker.ts'
import { FAULT_KINDS } from './schedule.ts'
import type { Summary } from './suite.ts'

const BEGIN = '<!-- fault-injection suite: written by test/faults/run.ts -->'
const END = '<!-- end of fault-injection suite -->'

export function passed(summary: Summary): boolean {
  return (
    summary.error === undefined &&
    summary.stalls.length === 0 &&
    VIEWS.every((v) => summary.perView[v].lost === 0 && summary.perView[v].duplicated === 0)
  )
}

function pct(answered: number, failed: number): string {
  const total = answered + failed
  return total === 0 ? 'n/a' : `${((100 * answered) / total).toFixed(1)} % (${answered} of ${total})`
}

/** "speed-0: 3 (code 1 ×3), serve: 1 (signal SIGABRT ×1)": one line however long the run. */
function exitsByRole(summary: Summary): string {
  const roles = new Map<string, Map<string, number>>()
  for (const e of summary.unexpectedExits) {
    const how = e.signal ? `signal ${e.signal}` : `code ${e.code}`
    const hows = roles.get(e.name) ?? new Map<string, number>()
    hows.set(how, (hows.get(how) ?? 0) + 1)
    roles.set(e.name, hows)
  }
  return [...roles]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, hows]) => {
      const total = [...hows.values()].reduce((a, b) => a + b, 0)
      return `${name}: ${total} (${[...hows].map(([how, n]) => `${how} ×${n}`).join(', ')})`
    })
    .join('; ')
}

export function formatSummary(summary: Summary): string {
  const injected = FAULT_KINDS.map((k) => `${k} ${summary.faultsInjected[k]}`).join(', ')
  const total = FAULT_KINDS.reduce((n, k) => n + summary.faultsInjected[k], 0)
  const lines = [
    `result: ${passed(summary) ? 'PASS' : 'FAIL'}`,
    `seed ${summary.seed}, schedules ${summary.first}..${summary.first + summary.schedulesRun - 1} (${summary.schedulesRun} run), ${Math.round(summary.durationMs / 1000)} s`,
    `faults injected: ${total} (${injected}); planned but not injected: ${summary.faultsNotInjected}`,
    `events: ${summary.events.attempted} produced, ${summary.events.acked} acknowledged, ${summary.events.indeterminate} indeterminate (${summary.events.failedSends} failed sends)`,
    `checks: ${summary.checks}`,
    ...VIEWS.map((v) => {
      const r = summary.perView[v]
      return `  ${v}: lost ${r.lost}, duplicated ${r.duplicated}, failed checks ${r.failedChecks}${r.examples.length ? ` (${r.examples.join('; ')})` : ''}`
    }),
    `availability of queries during the fault windows: ${pct(summary.availability.answered, summary.availability.failed)}`,
    ...FAULT_KINDS.map(
      (k) =>
        `  while ${k} was down: ${pct(summary.availabilityDuring[k].answered, summary.availabilityDuring[k].failed)}; alone: ${pct(summary.availabilityAlone[k].answered, summary.availabilityAlone[k].failed)}`,
    ),
    `unexpected process exits: ${summary.unexpectedExits.length}${summary.unexpectedExits.length ? ` (${exitsByRole(summary)})` : ''}`,
    `stalls: ${summary.stalls.length}${summary.stalls.length ? `\n  ${summary.stalls.join('\n  ')}` : ''}`,
    `failing schedules: ${summary.failingSchedules.length ? summary.failingSchedules.join(', ') : 'none'}`,
  ]
  if (summary.error) lines.push(`aborted: ${summary.error}`)
  return lines.join('\n')
}

export async function writeReliability(
  path: string,
  summary: Summary,
  command: string,
  commit: string | undefined,
): Promise<void> {
  const of = commit ? `, code of commit ${commit.slice(0, 12)}` : ''
  const section = `${BEGIN}
## Fault injection

Figures from the fault-injection suite (issue 7; design in
[docs/reliability.md](docs/reliability.md)), written by the runner at the end of the run below.
A three-node Kafka cluster (KRaft, RF 3, min.insync.replicas=2), a PostgreSQL store and the
Strata roles as separate processes (two speed workers, archiver, batch worker, serve) run under
a workload of keyed acks=all events while a nemesis applies seeded random schedules of faults:
kill -9 of a speed worker, the archiver, the batch worker, a one-off batch run mid-way or the
serving process; kill -9 and restart of the broker leading a partition; an immediate stop and
restart of PostgreSQL. After each schedule every view is checked twice against the reference
computed from the acknowledged events: once the answers cover the log end, and once the batch
horizon does. What the suite found on the way, and the fixes: [docs/reliability.md](docs/reliability.md#what-it-found).

Command (run ${new Date().toISOString().slice(0, 10)}${of}):

\`\`\`sh
${command}
\`\`\`

\`\`\`
${formatSummary(summary)}
\`\`\`

Target (issue 7): zero lost, zero duplicated, over at least 100 schedules.
Lost and duplicated are in events for \`events_by_key\` and \`events_by_second\` (which names each
event), and in keys with a wrong sum for \`value_by_key\`; the figure per view is its worst check
(checks are cumulative over every event produced so far). Indeterminate events (their send
failed, so they may or may not be in the log) are accepted counted once or not at all, never twice.
Availability is the share of queries (GET /views/events_by_key/k0, every 200 ms, 2 s timeout)
answered with 200 during the fault windows of the schedules (the serving process's own kills
included), and per fault kind while that fault was in effect (killed and not yet restarted;
schedules overlap faults, so one failed probe can count under two kinds). Unexpected process
exits are exits the nemesis did not cause (a role that gave up, or could not start while
PostgreSQL was down); the supervisor restarted them.
${END}
`
  // RELIABILITY.md is shared with other reports: only our section (between the markers) is ours.
  const current = await readFile(path, 'utf8').catch(() => '# Reliability\n')
  const from = current.indexOf(BEGIN)
  const to = current.indexOf(END)
  const text =
    from >= 0 && to > from
      ? current.slice(0, from) + section + current.slice(to + END.length + 1)
      : `${current.trimEnd()}\n\n${section}`
  await writeFile(path, text)
}
