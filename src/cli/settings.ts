// Flags and environment resolved once, at the edge: each environment fallback of the command line
// is written here and nowhere else (the defaults it shares with the programmatic API are the API's,
// runtime/strata-options.ts) (docs/architecture.md, "Configuration": STRATA_CONFIG, STRATA_DATA,
// STRATA_STORE, STRATA_BROKERS and STRATA_PORT mirror the flags). A flag wins over its variable;
// an empty variable counts as unset (`STRATA_BROKERS= strata start` is the embedded default).
// Commands read the typed result, never `process.env`, so what a process runs on is decided in
// one place and can be tested without spawning it.
import { resolve } from 'node:path'
import { DEFAULT_CONFIG_FILE } from '../core/config-loader.ts'
import { ErrorCodes, invalidInput } from '../core/errors.ts'
import { isObjectStoreUrl, parseObjectStoreUrl, type S3Settings } from '../master-dataset/index.ts'
import { type LogLevel, logLevels } from '../runtime/logger.ts'
import { consumerGroups, defaultDataDir, groupTimers, hangTimeoutMs } from '../runtime/strata-options.ts'
import { DEFAULT_PORT } from '../serving/app.ts'
import { port } from './options.ts'

export { defaultDataDir, defaultGroupPrefix } from '../runtime/strata-options.ts'
/** Where `strata produce` sends when neither --brokers nor STRATA_BROKERS says (a local broker). */
export const defaultBrokers = '127.0.0.1:9092'
/** The API's port: the serving layer's default, so a library user and the CLI agree. */
export const defaultPort = DEFAULT_PORT

type Env = Readonly<Record<string, string | undefined>>

const fromEnv = (env: Env, name: string): string | undefined => env[name] || undefined

/** The flags every command that reads a config, a data folder or a store takes. */
export interface CommonFlags {
  config?: string
  data?: string
  store?: string
  master?: string
}

/** Where a command finds its config, its data folder and its store. */
export interface PathSettings {
  /** Absolute path of the config file. */
  configPath: string
  /** Absolute path of the data folder. */
  dataDir: string
  /** --store as given (a folder, lmdb:PATH or postgres://…); undefined: <data>/store. */
  storeUrl: string | undefined
  /** --master or STRATA_MASTER: a folder or s3://bucket/prefix; undefined: <data>/master. */
  master: string | undefined
  /** How to reach an s3:// master (STRATA_S3_ENDPOINT or AWS_ENDPOINT_URL, STRATA_S3_PATH_STYLE). */
  s3: S3Settings
}

export function resolvePaths(flags: CommonFlags, env: Env = process.env): PathSettings {
  return {
    configPath: resolve(flags.config ?? fromEnv(env, 'STRATA_CONFIG') ?? DEFAULT_CONFIG_FILE),
    dataDir: resolve(flags.data ?? fromEnv(env, 'STRATA_DATA') ?? defaultDataDir),
    storeUrl: flags.store ?? fromEnv(env, 'STRATA_STORE'),
    ...resolveMaster(flags.master, env),
  }
}

/**
 * --master or STRATA_MASTER (an s3:// URL is checked here, at the edge), and the S3 endpoint:
 * STRATA_S3_ENDPOINT, else the SDK's own AWS_ENDPOINT_URL. Path-style addressing (S3Proxy, MinIO)
 * whenever an endpoint is given, unless STRATA_S3_PATH_STYLE=0; credentials and the region stay
 * with the AWS SDK's default provider chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, ~/.aws, roles).
 */
export function resolveMaster(
  flag: string | undefined,
  env: Env = process.env,
): Pick<PathSettings, 'master' | 's3'> {
  const given = flag ?? fromEnv(env, 'STRATA_MASTER')
  const master = given === undefined ? undefined : isObjectStoreUrl(given) ? given : resolve(given)
  if (master && isObjectStoreUrl(master)) parseObjectStoreUrl(master)
  const endpoint = fromEnv(env, 'STRATA_S3_ENDPOINT') ?? fromEnv(env, 'AWS_ENDPOINT_URL')
  const pathStyle = fromEnv(env, 'STRATA_S3_PATH_STYLE')
  const s3: S3Settings = {
    ...(endpoint ? { endpoint } : {}),
    forcePathStyle:
      pathStyle === undefined ? endpoint !== undefined : !['0', 'false', 'no'].includes(pathStyle),
  }
  return { master, s3 }
}

/** --brokers or STRATA_BROKERS; undefined when neither is given (the embedded default). */
export function resolveBrokers(flag: string | undefined, env: Env = process.env): string | undefined {
  return (flag ?? fromEnv(env, 'STRATA_BROKERS')) || undefined
}

/** --port, or STRATA_PORT (checked like the flag), or 8080. */
export function resolvePort(flag: number | undefined, env: Env = process.env): number {
  const variable = fromEnv(env, 'STRATA_PORT')
  return flag ?? (variable ? port('STRATA_PORT')(variable) : defaultPort)
}

export type Mode = 'embedded' | 'kafka'

export interface SettingsFlags extends CommonFlags {
  brokers?: string
  port?: number
  host?: string
  /** strata start: consumer groups <prefix>-speed and <prefix>-archiver. */
  groupPrefix?: string
  /** strata worker: the consumer group of its speed or archiver role. */
  group?: string
  /** The consumer groups' session timeout (a duration). */
  sessionTimeout?: string
  /** How long a view's code may go without returning (a duration). */
  hangTimeout?: string
}

/** What a long-running command (strata start, strata worker) runs on. */
export interface Settings extends PathSettings {
  /** Kafka with brokers; else the embedded default (the master dataset is the log). */
  mode: Mode
  /** Set exactly when mode is kafka. */
  brokers: string | undefined
  /** The HTTP address, for a command that serves (undefined otherwise: its port is never read). */
  http: { port: number; host: string } | undefined
  /** The consumer groups of the speed layer and the archiver. */
  groups: { speed: string; archiver: string }
  /** --session-timeout or STRATA_SESSION_TIMEOUT, checked; undefined: the API's default (30 s). */
  sessionTimeout: string | undefined
  /** --hang-timeout or STRATA_HANG_TIMEOUT, checked; undefined: the API's default (60 s). */
  hangTimeout: string | undefined
}

export function resolveSettings(
  flags: SettingsFlags,
  options: { serves: boolean },
  env: Env = process.env,
): Settings {
  const brokers = resolveBrokers(flags.brokers, env)
  return {
    ...resolvePaths(flags, env),
    mode: brokers ? 'kafka' : 'embedded',
    brokers,
    http: options.serves
      ? { port: resolvePort(flags.port, env), host: flags.host ?? '127.0.0.1' }
      : undefined,
    groups: consumerGroups(flags),
    sessionTimeout: resolveSessionTimeout(flags.sessionTimeout, env),
    hangTimeout: resolveHangTimeout(flags.hangTimeout, env),
  }
}

/**
 * --session-timeout, else STRATA_SESSION_TIMEOUT: checked here (a duration within Kafka's bounds,
 * runtime/strata-options.ts groupTimers) so that a bad value names the flag or the variable.
 */
export function resolveSessionTimeout(flag: string | undefined, env: Env = process.env): string | undefined {
  const value = flag ?? fromEnv(env, 'STRATA_SESSION_TIMEOUT')
  if (value !== undefined)
    groupTimers(value, flag !== undefined ? '--session-timeout' : 'STRATA_SESSION_TIMEOUT')
  return value
}

/**
 * --hang-timeout, else STRATA_HANG_TIMEOUT: checked here (a duration of at least 2 s,
 * runtime/strata-options.ts hangTimeoutMs) so that a bad value names the flag or the variable.
 */
export function resolveHangTimeout(flag: string | undefined, env: Env = process.env): string | undefined {
  const value = flag ?? fromEnv(env, 'STRATA_HANG_TIMEOUT')
  if (value !== undefined) hangTimeoutMs(value, flag !== undefined ? '--hang-timeout' : 'STRATA_HANG_TIMEOUT')
  return value
}

/** The flags of every command (main.ts): how much the process logs. */
export interface LogFlags {
  logLevel?: string
  verbose?: boolean
}

/** --log-level, else STRATA_LOG_LEVEL, else debug with --verbose, else info. */
export function resolveLogLevel(flags: LogFlags, env: Env = process.env): LogLevel {
  const given = flags.logLevel ?? fromEnv(env, 'STRATA_LOG_LEVEL')
  if (given === undefined) return flags.verbose ? 'debug' : 'info'
  const level = given.toLowerCase()
  if (!(logLevels as readonly string[]).includes(level)) {
    const from = flags.logLevel === undefined ? 'STRATA_LOG_LEVEL' : '--log-level'
    throw invalidInput(
      ErrorCodes.INVALID_ARGUMENT,
      `${from} "${given}": use one of ${logLevels.join(', ')}`,
      {
        field: 'logLevel',
      },
    )
  }
  return level as LogLevel
}

/** Whether a failed command prints the error's stack below its one line. */
export function showsStacks(flags: LogFlags, env: Env = process.env): boolean {
  if (flags.verbose) return true
  try {
    const level = resolveLogLevel(flags, env)
    return level === 'debug' || level === 'trace'
  } catch {
    return false // the bad level is the failure being reported
  }
}
