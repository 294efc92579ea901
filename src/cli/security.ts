// The security settings of a long-running command, read once at start so a mistake (a missing
// password file, an unknown SASL mechanism) stops the command before anything connects, and
// every secret read is registered for scrubbing (core/secrets.ts).
//
// Secrets come from the environment or from files, never from flag values: those show in `ps`.
import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { ErrorCodes, invalidInput } from '../core/errors.ts'
import { registerSecret, registerUrlSecret } from '../core/secrets.ts'
import { describeKafkaSecurity, kafkaSecurityFromEnv } from '../log/kafka/security.ts'
import { httpAuthOf } from '../runtime/http-token.ts'
import type { Logger } from '../runtime/logger.ts'
import type { StrataOptions } from '../runtime/strata-options.ts'
import { defaultAllowedHosts, parseAllowedHosts } from '../serving/allowed-hosts.ts'
import type { HttpAuth } from '../serving/auth.ts'
import type { HttpLimits } from '../serving/limits.ts'
import { flagDuration, positiveInt } from './options.ts'

export interface HttpSecurityFlags {
  tokenFile?: string
  protectQueries?: boolean
  bodyLimit?: number
  requestTimeout?: string
  shutdownGrace?: string
  allowedHosts?: string
}

/** Flags every HTTP-serving command takes (strata start, strata worker serve). */
export function addHttpSecurityOptions(command: Command): Command {
  return command
    .option(
      '--token-file <file>',
      'require `Authorization: Bearer <token>` on POST /events and /metrics; the token is the file’s first line (env STRATA_TOKEN_FILE, or the token itself in STRATA_TOKEN)',
    )
    .option(
      '--protect-queries',
      'require the token on GET /views… and the dashboard’s data too (env STRATA_PROTECT_QUERIES=true)',
    )
    .option('--body-limit <bytes>', 'largest HTTP request body (default 16 MiB)', positiveInt('--body-limit'))
    .option('--request-timeout <duration>', 'longest a client may take to send a request (default 30s)')
    .option(
      '--allowed-hosts <list>',
      'host names the HTTP server answers to, comma-separated (.example.com for a domain, * for any); default: loopback names and the --host address (env STRATA_ALLOWED_HOSTS)',
    )
    .option(
      '--shutdown-grace <duration>',
      'at shutdown, how long requests on open connections are still answered (503) before idle connections close (default 1s)',
    )
}

/** The HTTP limits the flags ask for; the rest keep limits.ts's defaults. */
export function httpLimitsOf(flags: HttpSecurityFlags): HttpLimits {
  return {
    bodyLimit: flags.bodyLimit,
    requestTimeoutMs: flags.requestTimeout
      ? flagDuration(flags.requestTimeout, '--request-timeout')
      : undefined,
    shutdownGraceMs: flags.shutdownGrace ? flagDuration(flags.shutdownGrace, '--shutdown-grace') : undefined,
  }
}

/** The Host names to answer to: --allowed-hosts, STRATA_ALLOWED_HOSTS, else by the listen host. */
export function resolveAllowedHosts(
  flags: HttpSecurityFlags,
  listenHost: string,
  env = process.env,
): string[] {
  const list = flags.allowedHosts ?? env.STRATA_ALLOWED_HOSTS
  return list ? parseAllowedHosts(list) : defaultAllowedHosts(listenHost)
}

type HttpOptions = Pick<
  StrataOptions,
  | 'port'
  | 'host'
  | 'allowedHosts'
  | 'token'
  | 'protectQueries'
  | 'bodyLimit'
  | 'requestTimeout'
  | 'shutdownGrace'
>

/**
 * startStrata's HTTP options from the flags and environment (strata start, strata worker serve);
 * none for a process that does not serve, whose limit flags are still checked.
 */
export function httpOptionsOf(
  flags: HttpSecurityFlags,
  http: { port: number; host: string } | undefined,
): HttpOptions {
  if (http === undefined) {
    httpLimitsOf(flags)
    return {}
  }
  const auth = resolveHttpAuth(flags)
  const limits = httpLimitsOf(flags)
  return {
    port: http.port,
    host: http.host,
    allowedHosts: resolveAllowedHosts(flags, http.host),
    token: auth?.token,
    protectQueries: auth?.protectQueries,
    bodyLimit: limits.bodyLimit,
    requestTimeout: limits.requestTimeoutMs,
    shutdownGrace: limits.shutdownGraceMs,
  }
}

/** The HTTP token from --token-file, STRATA_TOKEN_FILE or STRATA_TOKEN; undefined: no token. */
export function resolveHttpAuth(flags: HttpSecurityFlags, env = process.env): HttpAuth | undefined {
  const file = flags.tokenFile ?? env.STRATA_TOKEN_FILE
  let token: string | undefined
  if (file) {
    try {
      token = readFileSync(file, 'utf8').split(/\r?\n/)[0]?.trim()
    } catch (error) {
      throw invalidInput(
        ErrorCodes.INVALID_ARGUMENT,
        `cannot read the token file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
        { field: 'token-file' },
      )
    }
  } else token = env.STRATA_TOKEN?.trim()
  const protectQueries =
    flags.protectQueries === true || /^(1|true|yes|on)$/i.test(env.STRATA_PROTECT_QUERIES ?? '')
  if (!token && file)
    throw invalidInput(ErrorCodes.INVALID_ARGUMENT, `the token file ${file} is empty`, {
      field: 'token-file',
    })
  return httpAuthOf(token, protectQueries)
}

/**
 * Reads the STRATA_KAFKA_* settings now (failing fast on a bad one), registers the SASL password
 * and the store URL's password as secrets, and logs how Kafka is reached.
 */
export function checkSecuritySettings(
  logger: Logger,
  brokers: string | undefined,
  storeUrl: string | undefined,
): void {
  registerUrlSecret(storeUrl)
  const security = kafkaSecurityFromEnv()
  registerSecret(security?.sasl?.password)
  if (brokers) logger.info(`Kafka ${brokers}: ${describeKafkaSecurity(security)}`)
}
