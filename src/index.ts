// Strata's public API. What is not exported here is internal.

export { type CompiledView, compileView, type WindowResult } from './core/compiled-view.ts'
// Views defined once: the config, the view builder, windows and aggregates (src/core).
export {
  type ConfigInput,
  compileViews,
  defineConfig,
  findView,
  type SourceConfig,
  type StrataConfig,
} from './core/config.ts'
export { DEFAULT_CONFIG_FILE, loadConfig } from './core/config-loader.ts'
export { type ErrorCode, ErrorCodes, isStrataError, StrataError } from './core/errors.ts'
export type { Json, StrataEvent } from './core/event.ts'
export type { Monoid, MonoidDefinition, ResultOf, StateOf } from './core/monoid.ts'
export { count } from './core/monoids/count.ts'
export { type DistinctCountOptions, distinctCount } from './core/monoids/distinct-count.ts'
export { max, min } from './core/monoids/extremes.ts'
export { mean } from './core/monoids/mean.ts'
export { type QuantilesOptions, type QuantilesResult, quantiles } from './core/monoids/quantiles.ts'
export { sum } from './core/monoids/sum.ts'
export { type TopKOptions, type TopKResult, topK } from './core/monoids/top-k.ts'
export type { RoleReport, RoleState } from './core/role-health.ts'
export type { TimeRange } from './core/time-range.ts'
export { isView, View, view } from './core/view.ts'
export { ViewTable } from './core/view-table.ts'
export { GLOBAL_WINDOW_START, hopping, tumbling, type Window, windowStarts } from './core/window.ts'
export { createIngest, type EventSink, type Ingest, type IngestResult } from './ingest/ingest.ts'
export { createKafkaSink } from './ingest/kafka-sink.ts'
// Ingest: the SDK call and the pieces behind POST /events and `strata produce` (src/ingest).
export { createEventProducer, type EventProducer, type EventProducerOptions } from './ingest/sdk.ts'
// Where an ingested event was written (the log's RecordPosition, under its public name).
export type { RecordPosition as Position } from './log/log.ts'
// Running Strata from code: the whole pipeline or one role, as `strata start` and `strata worker`
// run it (src/runtime/strata.ts), and the store a URL names.
export type { Logger } from './runtime/logger.ts'
export { type OpenStoreOptions, openStore, type Store } from './runtime/open-store.ts'
export {
  type BatchPlan,
  type BatchRunResult,
  type RecomputeOptions,
  type RecomputeResult,
  recompute,
} from './runtime/recompute.ts'
export { type RunningStrata, type StrataHealth, startStrata } from './runtime/strata.ts'
export type { Duration, Role, StrataOptions } from './runtime/strata-options.ts'
// Serving (src/serving).
export { createServer, type ServerOptions } from './serving/server.ts'
