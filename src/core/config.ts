// strata.config.ts: the source topic and the views, validated once when loaded.
//
//   export default defineConfig({
//     source: { topic: 'events', partitions: 6, time: 'ts' },
//     views: [view('pageviews_by_url').filter(...).key(...).window(tumbling('1h')).aggregate(count())],
//   })
//
// Every problem is a STRATA_ERR_INVALID_CONFIG naming the field (`source.partitions`,
// `views[2].aggregate`), so the CLI can print it and stop before anything runs. Unknown fields
// are rejected too: a misspelt `replication` must not silently fall back to a default.
import { type CompiledView, compileView } from './compiled-view.ts'
import { ErrorCodes, invalidInput, type StrataError } from './errors.ts'
import { incompleteField, isView, type View } from './view.ts'

export interface SourceConfig {
  /** Kafka topic (and embedded log name) the events arrive on. */
  topic: string
  /** Partitions of the topic; the unit of parallelism of every layer. Default 6. */
  partitions: number
  /**
   * Copies of each partition on the brokers, when Strata creates the topic. Default: the
   * cluster's `default.replication.factor` (as Kafka Streams does), so a topic on a three-node
   * production cluster gets its three copies without the config naming them.
   */
  replicationFactor?: number
  /** Event-time field of each event (epoch ms or ISO-8601). Default 'ts'. */
  time: string
}

export interface StrataConfig {
  readonly source: Readonly<SourceConfig>
  readonly views: ReadonlyArray<View<any, any, any>>
}

export interface ConfigInput {
  source: Partial<SourceConfig> & { topic: string }
  views: ReadonlyArray<View<any, any, any>>
}

export const sourceDefaults: Omit<SourceConfig, 'topic' | 'replicationFactor'> = { partitions: 6, time: 'ts' }

const configBrand = Symbol.for('strata.config')
// Kafka's own rule for topic names.
const topicName = /^[A-Za-z0-9._-]{1,249}$/

function invalid(field: string, message: string): StrataError {
  return invalidInput(ErrorCodes.INVALID_CONFIG, `config ${field}: ${message}`, { field })
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function rejectUnknown(value: Record<string, unknown>, known: string[], prefix: string): void {
  for (const field of Object.keys(value)) {
    if (!known.includes(field))
      throw invalid(prefix + field, `unknown field (expected one of ${known.join(', ')})`)
  }
}

function integer(value: unknown, field: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw invalid(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`)
  }
  return value as number
}

function validateSource(input: unknown): SourceConfig {
  if (!isObject(input)) throw invalid('source', 'must be an object with at least a topic')
  rejectUnknown(input, ['topic', 'partitions', 'replicationFactor', 'time'], 'source.')
  const { topic, time } = input
  if (typeof topic !== 'string' || !topicName.test(topic) || topic === '.' || topic === '..') {
    throw invalid(
      'source.topic',
      `must be a Kafka topic name (letters, digits, '.', '_', '-'), got ${JSON.stringify(topic)}`,
    )
  }
  const partitions = integer(input.partitions ?? sourceDefaults.partitions, 'source.partitions', 1, 10_000)
  const replicationFactor =
    input.replicationFactor === undefined
      ? undefined
      : integer(input.replicationFactor, 'source.replicationFactor', 1, 32)
  const timeField = time ?? sourceDefaults.time
  if (typeof timeField !== 'string' || timeField.length === 0) {
    throw invalid('source.time', `must be the name of the event-time field, got ${JSON.stringify(time)}`)
  }
  return Object.freeze({
    topic,
    partitions,
    ...(replicationFactor === undefined ? {} : { replicationFactor }),
    time: timeField,
  })
}

function validateViews(input: unknown): ReadonlyArray<View<any, any, any>> {
  if (!Array.isArray(input) || input.length === 0)
    throw invalid('views', 'must be a non-empty array of view(...)')
  const names = new Set<string>()
  input.forEach((v, i) => {
    const field = `views[${i}]`
    if (!isView(v)) throw invalid(field, 'must be built with view(name)...aggregate(monoid)')
    const missing = incompleteField(v)
    if (missing !== null) throw invalid(`${field}.${missing}`, `view '${v.name}' has no ${missing}()`)
    if (names.has(v.name)) throw invalid(`${field}.name`, `view name '${v.name}' is used twice`)
    names.add(v.name)
  })
  return Object.freeze([...input])
}

/** Validates a config and fills in defaults. Throws STRATA_ERR_INVALID_CONFIG naming the field. */
export function defineConfig(input: ConfigInput): StrataConfig {
  if (isStrataConfig(input)) return input
  if (!isObject(input)) throw invalid('(root)', 'must be an object with source and views')
  rejectUnknown(input, ['source', 'views'], '')
  const config = { source: validateSource(input.source), views: validateViews(input.views) }
  Object.defineProperty(config, configBrand, { value: true })
  return Object.freeze(config)
}

/** True for configs that defineConfig validated (also from another copy of this module). */
export function isStrataConfig(value: unknown): value is StrataConfig {
  return isObject(value) && (value as { [configBrand]?: boolean })[configBrand] === true
}

/** Every view compiled with the source's event-time field. */
export function compileViews(config: StrataConfig): CompiledView<any, any>[] {
  return config.views.map((v) => compileView(v, config.source.time))
}

/** The view named `name`, or STRATA_ERR_UNKNOWN_VIEW (404). */
export function findView(config: StrataConfig, name: string): View<any, any, any> {
  const found = config.views.find((v) => v.name === name)
  if (found === undefined) {
    throw invalidInput(
      ErrorCodes.UNKNOWN_VIEW,
      `no view named '${name}' (views: ${config.views.map((v) => v.name).join(', ')})`,
      { field: 'view' },
    )
  }
  return found
}
