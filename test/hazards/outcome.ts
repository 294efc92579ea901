// The hazard suite (`npm run test:hazards`; a short variant in `npm test`): each case scripts one
// hazard of real operation (a second process on one data folder, state from another source, a
// full disk, a damaged file, a zone-less time, ...) as a user would meet it, with every
// acknowledged event recorded and checked against a reference afterwards. Every case ends in a
// correct continuation or a clear refusal; the runner (run.ts) adds the outcomes up and writes
// them to RELIABILITY.md.
//
// A case is a module under cases/ whose default export is a HazardCase.

export interface HazardOutcome {
  /** Events the system acknowledged (202 with offsets, or acks from a producer). */
  acknowledged: number
  /** Acknowledged events missing from the answer (views at the end, or the master dataset). */
  lost: number
  /** Events counted more than once. */
  duplicated: number
  /** Events of refused requests (4xx/5xx answers) that were counted anyway. */
  partialCounted: number
  /** Times a role stopped making progress while /health (or the dashboard) said it was fine. */
  silentStalls: number
  /** The refusals the case saw, by code (e.g. STRATA_ERR_DATA_LOCKED: 1). */
  refusals: Record<string, number>
  /** One line on what happened, for the report. */
  summary: string
}

export interface HazardContext {
  /** A scratch folder of the case's own (removed afterwards). */
  dir: string
  /** Kafka bootstrap of the test cluster, when one is up (STRATA_TEST_BROKERS). */
  brokers: string | undefined
  /** True in the short variant run by `npm test`: keep the case to seconds. */
  short: boolean
  log(line: string): void
}

export interface HazardCase {
  /** Kebab-case, unique: e.g. `second-process-same-data`. */
  name: string
  /** The hazard in one sentence, as the report shows it. */
  description: string
  /** Needs the Kafka test cluster (skipped with a note when none is up). */
  needsKafka?: boolean
  /** Needs root (e.g. to mount a small tmpfs for a full disk); skipped with a note otherwise. */
  needsRoot?: boolean
  /**
   * Left out of the short variant (`npm test`), kept in the full suite: the name of the case
   * whose short run covers every capability this one checks (a superset, not a neighbour).
   */
  shortCoveredBy?: string
  run(context: HazardContext): Promise<HazardOutcome>
}

export function emptyOutcome(summary = ''): HazardOutcome {
  return {
    acknowledged: 0,
    lost: 0,
    duplicated: 0,
    partialCounted: 0,
    silentStalls: 0,
    refusals: {},
    summary,
  }
}
