// Prometheus metrics of a serving process, in a registry of its own (never prom-client's global
// one, so two servers in one process — tests, or a library user's own metrics — do not collide).
//
// Counters and the histogram are fed as things happen (the events route, the query routes).
// Gauges that describe state elsewhere (the log's end, the store's batch versions, the speed
// layer's position) are read once per scrape in refresh(), so a scrape costs a few store reads
// and one cached end-offsets reading, and shows nothing stale from a view or partition that is
// gone (each gauge is reset before it is set).
//
//   strata_events_ingested_total                      counter: events accepted by POST /events
//   strata_query_duration_seconds{route}              histogram: the /views routes
//   strata_log_end_offset{partition}                  gauge: from the end-offsets provider
//   strata_retention_lost_records                     gauge: records Kafka deleted before the speed layer read them
//   strata_store_up                                   gauge: 1 when the store answered this scrape's reads, 0 when it failed (the store's gauges are then absent)
//   strata_speed_offset{partition}                    gauge: the speed layer's consumed offset
//   strata_speed_lag_records{partition}               gauge: end offset − speed offset
//   strata_speed_log_rows                             gauge: speed log rows not folded yet (LMDB store)
//   strata_view_lag_records{view,partition}           gauge: end offset − the view's asOf
//   strata_batch_version{view}                        gauge: the served batch version
//   strata_batch_age_seconds{view}                    gauge: now − its completedAt
//   strata_batch_duration_seconds{view}               gauge: its completedAt − startedAt
//   strata_speed_records_folded_total                 counter: from speedStats (when given)
//   strata_speed_records_skipped_total                counter: from speedStats (when given)
//   strata_role_state{role,state}                     gauge: 1 for each role's current state
//   strata_role_partitions_unhealthy{role,state}      gauge: a role's stalled or failed partitions
//   strata_role_failures{role}                        gauge: a role's failures in a row now
//   strata_role_lag_records{role,partition}           gauge: records a role of this process has not taken in
//   strata_role_heartbeat_age_seconds{role,instance}  gauge: seconds since a worker role's last heartbeat (worker serve)
//   strata_role_up{role,instance}                     gauge: 1 while that worker is heard and neither stalled nor failed
//   strata_role_held{role}                            gauge: 1 while a role holds its batches for an ingest burst
//   strata_role_progress_total{role,what}             counter: a role's totals (archiver: segments, records, rejected; batch: damagedSegments, segmentsChecked, segmentsListed)
// plus prom-client's default process and Node.js metrics (CPU, memory, event-loop lag, GC).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { CompiledView } from '../core/compiled-view.ts'
import { ErrorCodes } from '../core/errors.ts'
import { isUnhealthy, ROLE_STATES, type RoleHealth, type RoleState, worse } from '../core/role-health.ts'
import type { Store } from '../store/store.ts'
import type { EndOffsetsCache } from './api/log-offsets.ts'
import { readViewStatus } from './api/view-status.ts'

/**
 * What the speed layer reports about itself, totals since it started (they only grow).
 * `folded`: records folded into realtime states; `skipped`: records it read but did not fold
 * (undecodable ones sent to the dead-letter topic, and records no view kept).
 */
export interface SpeedStats {
  folded: number
  skipped: number
}

export type SpeedStatsProvider = () => SpeedStats | Promise<SpeedStats>

export interface MetricSources {
  store?: Store
  views?: ReadonlyArray<CompiledView<any, any>>
  offsets?: EndOffsetsCache
  speedStats?: SpeedStatsProvider
  roles?: RoleHealth
}

export interface ServingMetrics {
  readonly registry: Registry
  /** The Content-Type of render()'s text. */
  readonly contentType: string
  countIngested(events: number): void
  /** Events counted by countIngested since the server started (the dashboard's rate). */
  ingestedTotal(): number
  observeQuery(route: string, seconds: number): void
  /** Reads the state gauges, then renders every metric in Prometheus text format. */
  render(): Promise<string>
}

export function createMetrics(sources: MetricSources = {}): ServingMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]

  const ingested = new Counter({
    name: 'strata_events_ingested_total',
    help: 'Events accepted by POST /events and written to the log',
    registers,
  })
  const queryDuration = new Histogram({
    name: 'strata_query_duration_seconds',
    help: 'Time to answer a query, by route',
    labelNames: ['route'] as const,
    // Queries are LMDB reads: most take well under a millisecond; top rankings can take seconds.
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers,
  })
  const gauge = (name: string, help: string, labelNames: string[]) =>
    new Gauge({ name, help, labelNames, registers })
  const endOffset = gauge('strata_log_end_offset', 'Offset after the last record of the log', ['partition'])
  const retentionLost = gauge(
    'strata_retention_lost_records',
    "Records Kafka's retention deleted before the speed layer read them (never counted)",
    [],
  )
  // A scrape while the store is down still answers (before session 20: 503, so Prometheus saw the
  // serving process itself as down and lost its ingest and role metrics): the store's gauges are
  // left out and this one says why.
  const storeUp = gauge(
    'strata_store_up',
    'Whether the store answered the reads of this scrape (1) or failed (0)',
    [],
  )
  const speedOffset = gauge('strata_speed_offset', "The speed layer's next offset to consume", ['partition'])
  const speedLag = gauge('strata_speed_lag_records', 'Records in the log the speed layer has not consumed', [
    'partition',
  ])
  // A log that does not drain (the compactor starved, or traffic it cannot keep up with) makes
  // every query read more of it: seen here before it is seen in query latency (review r19-drain).
  const speedLogRows = gauge('strata_speed_log_rows', 'Speed log rows not folded into the states yet', [])
  const viewLag = gauge('strata_view_lag_records', "Records in the log a view's answers do not cover yet", [
    'view',
    'partition',
  ])
  const batchVersion = gauge('strata_batch_version', 'Served batch version of the view', ['view'])
  const batchAge = gauge('strata_batch_age_seconds', 'Time since the served batch version completed', [
    'view',
  ])
  const batchDuration = gauge('strata_batch_duration_seconds', 'How long the served batch version took', [
    'view',
  ])
  const viewErrors = gauge(
    'strata_view_errors',
    "Events a view's code threw on, skipped by that view (layer: the served batch version, or the speed layer)",
    ['view', 'layer'],
  )
  const viewFailing = gauge('strata_view_failing', "1 while a view's code throws on most events", ['view'])
  const viewStopped = gauge(
    'strata_view_stopped',
    "1 while a layer is stopped on an event the view (onError('stop')) threw on",
    ['view'],
  )
  const roleState = gauge(
    'strata_role_state',
    'Each role of this process: 1 for its current state (running, starting, catching-up, degraded, stalled, failed)',
    ['role', 'state'],
  )
  const unhealthyPartitions = gauge(
    'strata_role_partitions_unhealthy',
    "A role's partitions that are stalled or failed",
    ['role', 'state'],
  )
  const roleFailures = gauge(
    'strata_role_failures',
    'Failures in a row of a role right now: failed speed commits over its partitions, failed batch runs',
    ['role'],
  )
  const roleLag = gauge(
    'strata_role_lag_records',
    'Records in the log a role of this process has not taken in',
    ['role', 'partition'],
  )
  const heartbeatAge = gauge(
    'strata_role_heartbeat_age_seconds',
    'A worker role of another process (strata worker archiver|batch|speed): seconds since its last heartbeat in the store',
    ['role', 'instance'],
  )
  const roleUp = gauge(
    'strata_role_up',
    'A worker role of another process: 1 while its heartbeat is fresh and it is neither stalled nor failed',
    ['role', 'instance'],
  )
  const roleHeld = gauge(
    'strata_role_held',
    'A role of this process: 1 while it holds its batches because POST /events bursts (strata start)',
    ['role'],
  )
  const roleProgress = new Counter({
    name: 'strata_role_progress_total',
    help: 'What a role of this process has done since it started (archiver: segments, records, rejected; batch: damagedSegments, segmentsChecked, segmentsListed)',
    labelNames: ['role', 'what'] as const,
    registers,
  })
  const speedCounters = sources.speedStats
    ? {
        folded: new Counter({
          name: 'strata_speed_records_folded_total',
          help: 'Records the speed layer folded into realtime states',
          registers,
        }),
        skipped: new Counter({
          name: 'strata_speed_records_skipped_total',
          help: 'Records the speed layer read and did not fold (dead-lettered, or kept by no view)',
          registers,
        }),
      }
    : undefined

  let rendering: Promise<string> | undefined
  let ingestedTotal = 0

  // The gauges read from the store (one scrape's reads): throws STRATA_ERR_STORE when it is down.
  async function readStore(
    store: Store,
    views: NonNullable<MetricSources['views']>,
    log: Parameters<typeof readViewStatus>[2],
    end: readonly number[] | null,
    stops: Parameters<typeof readViewStatus>[4],
  ): Promise<void> {
    for (const sp of await store.speedPartitions()) {
      speedOffset.set({ partition: sp.partition }, sp.offset)
      const e = end?.[sp.partition]
      if (e !== undefined) speedLag.set({ partition: sp.partition }, Math.max(0, e - sp.offset))
    }
    if (store.speedLogRows) speedLogRows.set(store.speedLogRows())
    const now = Date.now()
    for (const meta of await store.listBatchViews()) {
      batchVersion.set({ view: meta.view }, meta.version)
      batchAge.set({ view: meta.view }, Math.max(0, now - meta.completedAt) / 1000)
      batchDuration.set({ view: meta.view }, (meta.completedAt - meta.startedAt) / 1000)
    }
    const speedErrors = await store.speedViewErrors()
    for (const view of views) {
      const status = await readViewStatus(store, view, log, speedErrors, stops)
      status.lag?.forEach((lag, p) => {
        viewLag.set({ view: view.name, partition: p }, lag)
      })
      viewErrors.set({ view: view.name, layer: 'batch' }, status.errors.batch)
      viewErrors.set({ view: view.name, layer: 'speed' }, status.errors.speed)
      viewFailing.set({ view: view.name }, status.state === 'failing' ? 1 : 0)
      viewStopped.set({ view: view.name }, status.state === 'stopped' ? 1 : 0)
    }
  }

  async function refresh(): Promise<void> {
    const { store, views = [], offsets, speedStats } = sources
    const log = await offsets?.get()
    const end = log?.endOffsets ?? null
    for (const g of [
      endOffset,
      speedOffset,
      speedLag,
      speedLogRows,
      viewLag,
      batchVersion,
      batchAge,
      batchDuration,
      viewErrors,
      viewFailing,
      viewStopped,
      roleState,
      unhealthyPartitions,
      roleFailures,
      roleLag,
      roleHeld,
      heartbeatAge,
      roleUp,
    ])
      g.reset()
    roleProgress.reset()
    const reports = (await sources.roles?.reports()) ?? []
    const stops = reports.flatMap((r) => r.viewStops ?? [])
    // One state per role: several workers of a role (their heartbeats) count as the worst of them.
    const stateOf = new Map<string, RoleState>()
    for (const report of reports)
      stateOf.set(report.role, worse(stateOf.get(report.role) ?? 'running', report.state))
    for (const [role, current] of stateOf)
      for (const state of ROLE_STATES) roleState.set({ role, state }, state === current ? 1 : 0)
    for (const report of reports) {
      if (report.instance !== undefined) {
        // A worker seen through its heartbeat (runtime/role-heartbeat.ts): how long since it was heard.
        const instance = `${report.instance.host}:${report.instance.pid}`
        heartbeatAge.set({ role: report.role, instance }, (report.heardAgoMs ?? 0) / 1000)
        roleUp.set({ role: report.role, instance }, isUnhealthy(report.state) ? 0 : 1)
        continue
      }
      if (report.failures !== undefined) roleFailures.set({ role: report.role }, report.failures)
      if (report.role === 'speed' || report.role === 'archiver' || report.held !== undefined)
        roleHeld.set({ role: report.role }, report.held === undefined ? 0 : 1)
      for (const state of ['stalled', 'failed'] as const) {
        const n = report.partitions?.filter((p) => p.state === state).length ?? 0
        unhealthyPartitions.set({ role: report.role, state }, n)
      }
      for (const p of report.partitions ?? [])
        if (p.lag !== undefined && p.lag !== null)
          roleLag.set({ role: report.role, partition: p.partition }, p.lag)
      // Totals owned by the role: mirrored (a counter cannot be set, so reset + inc).
      for (const [what, n] of Object.entries(report.totals ?? {}))
        roleProgress.inc({ role: report.role, what }, Math.max(0, n))
    }
    retentionLost.set(log?.lost ?? 0)
    end?.forEach((offset, p) => {
      endOffset.set({ partition: p }, offset)
    })
    if (store) {
      try {
        await readStore(store, views, log, end, stops)
        storeUp.set(1)
      } catch (error) {
        if ((error as { code?: string }).code !== ErrorCodes.STORE) throw error
        for (const g of [speedOffset, speedLag, speedLogRows, viewLag, batchVersion, batchAge, batchDuration])
          g.reset()
        for (const g of [viewErrors, viewFailing, viewStopped]) g.reset()
        storeUp.set(0)
      }
    }
    if (speedStats && speedCounters) {
      // Totals owned by the speed layer: mirror them (a counter cannot be set, so reset + inc).
      const stats = await speedStats()
      speedCounters.folded.reset()
      speedCounters.folded.inc(Math.max(0, stats.folded))
      speedCounters.skipped.reset()
      speedCounters.skipped.inc(Math.max(0, stats.skipped))
    }
  }

  return {
    registry,
    contentType: registry.contentType,
    countIngested: (events) => {
      ingestedTotal += events
      ingested.inc(events)
    },
    ingestedTotal: () => ingestedTotal,
    observeQuery: (route, seconds) => queryDuration.observe({ route }, seconds),
    render() {
      // Concurrent scrapes share one reading: refreshes must not interleave their resets.
      rendering ??= refresh()
        .then(() => registry.metrics())
        .finally(() => {
          rendering = undefined
        })
      return rendering
    },
  }
}
