// What a strata.config.ts needs, and nothing heavier: the view builder, windows, aggregates and
// defineConfig. Batch worker threads load the config for themselves, so its imports are paid in
// every thread: this entry loads in about 20 ms where the full API (src/index.ts, with the HTTP
// server and the Kafka client) takes about 300 ms. Published as `strata-lambda/config`.

export { type ConfigInput, defineConfig, type SourceConfig, type StrataConfig } from './core/config.ts'
export type { Json, StrataEvent } from './core/event.ts'
export type { Monoid, MonoidDefinition, ResultOf, StateOf } from './core/monoid.ts'
export { count } from './core/monoids/count.ts'
export { type DistinctCountOptions, distinctCount } from './core/monoids/distinct-count.ts'
export { max, min } from './core/monoids/extremes.ts'
export { mean } from './core/monoids/mean.ts'
export { type QuantilesOptions, type QuantilesResult, quantiles } from './core/monoids/quantiles.ts'
export { sum } from './core/monoids/sum.ts'
export { type TopKOptions, type TopKResult, topK } from './core/monoids/top-k.ts'
export { View, view } from './core/view.ts'
export { hopping, tumbling, type Window } from './core/window.ts'
