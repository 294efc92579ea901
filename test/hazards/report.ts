// The hazard suite's figures as text, and as its section of RELIABILITY.md (rewritten by every
// full run of run.ts, so the figures there always come from one real run).
import { readFile, writeFile } from 'node:fs/promises'
import { casePassed, type HazardSummary } from './suite.ts'

const BEGIN = '<!-- hazard suite: written by test/hazards/run.ts -->'
const END = '<!-- end of hazard suite -->'

export function passed(summary: HazardSummary): boolean {
  return summary.results.every(casePassed)
}

function refusals(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort(([a], [b]) => a.localeCompare(b))
  return entries.length === 0 ? '—' : entries.map(([code, n]) => `${code} ×${n}`).join(', ')
}

export function formatSummary(summary: HazardSummary): string {
  const t = summary.totals
  return [
    `result: ${passed(summary) ? 'PASS' : 'FAIL'} (${summary.short ? 'short' : 'full'} variant, ${Math.round(summary.durationMs / 1000)} s)`,
    `hazards tried: ${t.tried} (${t.skipped} skipped, ${t.failed} failed)`,
    `events acknowledged: ${t.acknowledged}`,
    `lost: ${t.lost}; duplicated: ${t.duplicated}; partial requests counted: ${t.partialCounted}; silent stalls: ${t.silentStalls}`,
    `refusals: ${refusals(t.refusals)}`,
  ].join('\n')
}

function markdown(summary: HazardSummary, command: string, commit: string): string {
  const t = summary.totals
  const when = new Date(summary.startedAt).toISOString().replace('T', ' ').slice(0, 16)
  const rows = summary.results.map((r) => {
    const o = r.outcome
    const result = r.skipped
      ? `skipped: ${r.skipped}`
      : casePassed(r)
        ? 'ok'
        : `FAILED${r.error ? `: ${r.error.split('\n')[0]}` : ''}`
    return o
      ? `| \`${r.name}\` | ${r.description} | ${o.acknowledged} | ${o.lost} | ${o.duplicated} | ${o.partialCounted} | ${o.silentStalls} | ${refusals(o.refusals)} | ${result}: ${o.summary} |`
      : `| \`${r.name}\` | ${r.description} | — | — | — | — | — | — | ${result} |`
  })
  return [
    BEGIN,
    '## Hazards of real operation',
    '',
    `Issue 11: each case plays one hazard as a user or operator would meet it and checks every`,
    `acknowledged event against a reference afterwards (design: \`test/hazards/outcome.ts\`; the`,
    `short variant runs in \`npm test\`). Run ${when} UTC on ${commit}, ${Math.round(summary.durationMs / 1000)} s:`,
    '',
    '```sh',
    command,
    '```',
    '',
    '| figure | value |',
    '|---|---|',
    `| hazards tried | ${t.tried}${t.skipped ? ` (${t.skipped} skipped)` : ''} |`,
    `| events acknowledged | ${t.acknowledged} |`,
    `| lost | ${t.lost} |`,
    `| duplicated | ${t.duplicated} |`,
    `| partial requests counted | ${t.partialCounted} |`,
    `| silent stalls | ${t.silentStalls} |`,
    `| cases failed | ${t.failed} |`,
    `| refusals seen | ${refusals(t.refusals)} |`,
    '',
    '| case | hazard | acknowledged | lost | duplicated | partial counted | silent stalls | refusals | what happened |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    END,
  ].join('\n')
}

/** Replaces the hazard section of RELIABILITY.md (appends it the first time). */
export async function writeReport(
  path: string,
  summary: HazardSummary,
  command: string,
  commit: string,
): Promise<void> {
  const text = await readFile(path, 'utf8')
  const section = markdown(summary, command, commit)
  const begin = text.indexOf(BEGIN)
  const end = text.indexOf(END)
  const next =
    begin !== -1 && end > begin
      ? text.slice(0, begin) + section + text.slice(end + END.length)
      : `${text.trimEnd()}\n\n${section}\n`
  await writeFile(path, next)
}
