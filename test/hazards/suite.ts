// Runs hazard cases (cases/*.ts, contract in outcome.ts) one after another, each in a scratch
// folder of its own, and adds their outcomes up. Used by run.ts (`npm run test:hazards`) and by
// the short variant in `npm test` (short.integration.test.ts).
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { HazardCase, HazardOutcome } from './outcome.ts'

export interface CaseResult {
  name: string
  description: string
  /** Why the case did not run (no Kafka, not root), when it did not. */
  skipped?: string
  /** The case threw: a defect of the case or of Strata, reported as a failure. */
  error?: string
  outcome?: HazardOutcome
  durationMs: number
}

export interface HazardSummary {
  short: boolean
  startedAt: number
  durationMs: number
  results: CaseResult[]
  totals: Omit<HazardOutcome, 'summary'> & { tried: number; skipped: number; failed: number }
}

export async function loadCases(only: readonly string[] = []): Promise<HazardCase[]> {
  const dir = new URL('./cases/', import.meta.url)
  const files = (await readdir(dir)).filter((f) => f.endsWith('.ts')).sort()
  const cases: HazardCase[] = []
  for (const file of files) {
    const module = (await import(new URL(file, dir).href)) as { default?: HazardCase }
    if (!module.default) throw new Error(`test/hazards/cases/${file} has no default export`)
    cases.push(module.default)
  }
  const names = new Set<string>()
  for (const c of cases) {
    if (names.has(c.name)) throw new Error(`two hazard cases are named ${c.name}`)
    names.add(c.name)
  }
  for (const c of cases) {
    if (c.shortCoveredBy !== undefined && !names.has(c.shortCoveredBy))
      throw new Error(`hazard case ${c.name}: shortCoveredBy names no case (${c.shortCoveredBy})`)
  }
  const unknown = only.filter((n) => !names.has(n))
  if (unknown.length > 0) throw new Error(`no hazard case named ${unknown.join(', ')}`)
  return only.length === 0 ? cases : cases.filter((c) => only.includes(c.name))
}

/** Why a case does not run here (in the short variant when `short`), or undefined. */
export function skipReason(
  hazard: HazardCase,
  brokers: string | undefined,
  short = false,
): string | undefined {
  if (short && hazard.shortCoveredBy)
    return `full suite only (npm run test:hazards); its short check is ${hazard.shortCoveredBy}'s`
  if (hazard.needsKafka && !brokers) return 'needs the Kafka test cluster (STRATA_TEST_BROKERS)'
  if (hazard.needsRoot && process.getuid?.() !== 0) return 'needs root (mounts a small file system)'
  return undefined
}

export async function runCase(
  hazard: HazardCase,
  options: { short: boolean; brokers: string | undefined; log: (line: string) => void },
): Promise<CaseResult> {
  const started = Date.now()
  const base = { name: hazard.name, description: hazard.description }
  const skipped = skipReason(hazard, options.brokers, options.short)
  if (skipped) return { ...base, skipped, durationMs: 0 }
  const dir = await mkdtemp(join(tmpdir(), `strata-hazard-${hazard.name}-`))
  try {
    const outcome = await hazard.run({
      dir,
      brokers: options.brokers,
      short: options.short,
      log: (line) => options.log(`${hazard.name}: ${line}`),
    })
    return { ...base, outcome, durationMs: Date.now() - started }
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error)
    return { ...base, error: message, durationMs: Date.now() - started }
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined)
  }
}

/** A case passes when it ran to its end with nothing lost, doubled, half-counted or stalled. */
export function casePassed(result: CaseResult): boolean {
  if (result.skipped) return true
  const o = result.outcome
  return (
    result.error === undefined &&
    o !== undefined &&
    o.lost === 0 &&
    o.duplicated === 0 &&
    o.partialCounted === 0 &&
    o.silentStalls === 0
  )
}

export async function runHazards(options: {
  short: boolean
  only?: readonly string[]
  brokers: string | undefined
  log: (line: string) => void
}): Promise<HazardSummary> {
  const startedAt = Date.now()
  const results: CaseResult[] = []
  for (const hazard of await loadCases(options.only)) {
    options.log(`${hazard.name}: ${hazard.description}`)
    const result = await runCase(hazard, options)
    options.log(
      `${hazard.name}: ${result.skipped ? `skipped (${result.skipped})` : casePassed(result) ? 'ok' : 'FAILED'}` +
        ` in ${(result.durationMs / 1000).toFixed(1)} s${result.outcome ? ` — ${result.outcome.summary}` : ''}` +
        (result.error ? `\n${result.error}` : ''),
    )
    results.push(result)
  }
  return {
    short: options.short,
    startedAt,
    durationMs: Date.now() - startedAt,
    results,
    totals: totalsOf(results),
  }
}

function totalsOf(results: readonly CaseResult[]): HazardSummary['totals'] {
  const totals: HazardSummary['totals'] = {
    tried: 0,
    skipped: 0,
    failed: 0,
    acknowledged: 0,
    lost: 0,
    duplicated: 0,
    partialCounted: 0,
    silentStalls: 0,
    refusals: {},
  }
  for (const r of results) {
    if (r.skipped) {
      totals.skipped++
      continue
    }
    totals.tried++
    if (!casePassed(r)) totals.failed++
    const o = r.outcome
    if (!o) continue
    totals.acknowledged += o.acknowledged
    totals.lost += o.lost
    totals.duplicated += o.duplicated
    totals.partialCounted += o.partialCounted
    totals.silentStalls += o.silentStalls
    for (const [code, n] of Object.entries(o.refusals))
      totals.refusals[code] = (totals.refusals[code] ?? 0) + n
  }
  return totals
}
