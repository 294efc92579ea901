// How our Kafka clients authenticate and encrypt: SASL (SCRAM-SHA-512, SCRAM-SHA-256, PLAIN) and
// TLS. One place turns the environment into these settings, and baseClientOptions applies them
// to every client a process creates (producer, admin, consumers, archiver, speed, batch
// publisher, ingest sink, `strata produce`), so no role can forget them
// (docs/decisions/0005-kafka-security-from-env.md). Options passed in code win over the env.
//
// Secrets stay out of sight: the password is read from a file or the env once and handed to the
// client as a function, so a dump of the client's options never shows it; describeKafkaSecurity
// is what logs may print.
import { readFileSync } from 'node:fs'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import { registerSecret } from '../../core/secrets.ts'

export const saslMechanisms = ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN'] as const
export type SaslMechanism = (typeof saslMechanisms)[number]

export interface KafkaSasl {
  mechanism: SaslMechanism
  username: string
  password: string
}

export interface KafkaTls {
  /** PEM of the CA(s) that signed the brokers' certificates; the system CAs when absent. */
  ca?: string | Buffer
  /** PEM client certificate and key, for brokers that require mutual TLS. */
  cert?: string | Buffer
  key?: string | Buffer
  /** The name the broker certificate must carry when it is not the bootstrap host. */
  servername?: string
  /** Default true; false accepts any certificate (never in production). */
  rejectUnauthorized?: boolean
}

export interface KafkaSecurity {
  sasl?: KafkaSasl
  tls?: KafkaTls
}

/** The environment variables read by kafkaSecurityFromEnv, for docs and --help. */
export const kafkaSecurityEnv = {
  mechanism: 'STRATA_KAFKA_SASL_MECHANISM',
  username: 'STRATA_KAFKA_SASL_USERNAME',
  password: 'STRATA_KAFKA_SASL_PASSWORD',
  passwordFile: 'STRATA_KAFKA_SASL_PASSWORD_FILE',
  tls: 'STRATA_KAFKA_TLS',
  ca: 'STRATA_KAFKA_TLS_CA',
  cert: 'STRATA_KAFKA_TLS_CERT',
  key: 'STRATA_KAFKA_TLS_KEY',
  servername: 'STRATA_KAFKA_TLS_SERVERNAME',
  rejectUnauthorized: 'STRATA_KAFKA_TLS_REJECT_UNAUTHORIZED',
} as const

function invalid(variable: string, message: string, cause?: unknown): StrataError {
  return new StrataError(ErrorCodes.INVALID_CONFIG, `${variable}: ${message}`, { field: variable, cause })
}

function readSecretFile(variable: string, path: string): string {
  try {
    // A trailing newline is the editor's, not the secret's.
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '')
  } catch (error) {
    throw invalid(
      variable,
      `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      error,
    )
  }
}

function readPem(variable: string, path: string | undefined): Buffer | undefined {
  if (!path) return undefined
  try {
    return readFileSync(path)
  } catch (error) {
    throw invalid(
      variable,
      `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      error,
    )
  }
}

function flag(variable: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined
  if (/^(1|true|yes|on)$/i.test(value)) return true
  if (/^(0|false|no|off)$/i.test(value)) return false
  throw invalid(variable, `expected true or false, got "${value}"`)
}

/**
 * SASL and TLS settings from the environment; undefined when none is set (plain TCP, no auth).
 * TLS is on when STRATA_KAFKA_TLS is true or a CA, certificate or key file is named.
 */
export function kafkaSecurityFromEnv(env: NodeJS.ProcessEnv = process.env): KafkaSecurity | undefined {
  const e = kafkaSecurityEnv
  const security: KafkaSecurity = {}
  const mechanism = env[e.mechanism]?.trim().toUpperCase()
  if (mechanism) {
    if (!(saslMechanisms as readonly string[]).includes(mechanism)) {
      throw invalid(e.mechanism, `use one of ${saslMechanisms.join(', ')}, got "${mechanism}"`)
    }
    const username = env[e.username]
    if (!username) throw invalid(e.username, `is required with ${e.mechanism}`)
    const passwordFile = env[e.passwordFile]
    const password = passwordFile ? readSecretFile(e.passwordFile, passwordFile) : env[e.password]
    if (!password) throw invalid(e.password, `is required with ${e.mechanism} (or ${e.passwordFile})`)
    registerSecret(password)
    security.sasl = { mechanism: mechanism as SaslMechanism, username, password }
  } else if (env[e.username] || env[e.password] || env[e.passwordFile]) {
    throw invalid(e.mechanism, 'SASL credentials are set but no mechanism (e.g. SCRAM-SHA-512)')
  }
  const ca = readPem(e.ca, env[e.ca])
  const cert = readPem(e.cert, env[e.cert])
  const key = readPem(e.key, env[e.key])
  const rejectUnauthorized = flag(e.rejectUnauthorized, env[e.rejectUnauthorized])
  const servername = env[e.servername] || undefined
  const tlsOn = flag(e.tls, env[e.tls])
  if (tlsOn === true || (tlsOn !== false && (ca || cert || key))) {
    security.tls = {
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(servername ? { servername } : {}),
      ...(rejectUnauthorized === undefined ? {} : { rejectUnauthorized }),
    }
  }
  return security.sasl || security.tls ? security : undefined
}

/** The platformatic connection options for these settings (sasl, tls). */
export function securityClientOptions(security: KafkaSecurity | undefined) {
  if (!security) return {}
  const { sasl, tls } = security
  return {
    ...(sasl
      ? {
          sasl: {
            mechanism: sasl.mechanism,
            username: sasl.username,
            // A function, not the string: whatever prints the client's options shows no password.
            password: () => sasl.password,
          },
        }
      : {}),
    ...(tls
      ? {
          tls: {
            ...(tls.ca ? { ca: tls.ca } : {}),
            ...(tls.cert ? { cert: tls.cert } : {}),
            ...(tls.key ? { key: tls.key } : {}),
            ...(tls.servername ? { servername: tls.servername } : {}),
            rejectUnauthorized: tls.rejectUnauthorized ?? true,
          },
        }
      : {}),
  }
}

/** A line for logs: the mechanism, user and TLS mode, never a secret. */
export function describeKafkaSecurity(security: KafkaSecurity | undefined): string {
  if (!security) return 'plaintext, no authentication'
  const parts: string[] = []
  if (security.sasl) parts.push(`SASL ${security.sasl.mechanism} as ${security.sasl.username}`)
  if (security.tls) {
    parts.push(
      `TLS${security.tls.ca ? ' (own CA)' : ''}${security.tls.rejectUnauthorized === false ? ' WITHOUT certificate checks' : ''}`,
    )
  } else parts.push('no TLS')
  return parts.join(', ')
}
