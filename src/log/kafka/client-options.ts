// What every Kafka client of ours takes, and how it maps onto @platformatic/kafka. Keeping this in
// one place is what keeps the client choice cheap to change (docs/decisions/0001-kafka-client.md).
import { findErrorBy, GenericError, MultipleErrors } from '@platformatic/kafka'
import { type ErrorCode, ErrorCodes, StrataError } from '../../core/errors.ts'
import { type KafkaSecurity, kafkaSecurityFromEnv, securityClientOptions } from './security.ts'

export interface KafkaClientOptions {
  /** Bootstrap brokers: `['127.0.0.1:9092']` or `'h1:9092,h2:9092'` (the STRATA_BROKERS form). */
  brokers: string | readonly string[]
  /** Shows up in broker logs and quotas. */
  clientId?: string
  /** Per-request timeout in ms (platformatic's default is 5 s). */
  timeout?: number
  /** Attempts for a retriable failure (a leader election, a coordinator moving) before giving up. */
  retries?: number
  /** Pause between those attempts, in ms. */
  retryDelay?: number
  /**
   * SASL and TLS (security.ts). When absent, the STRATA_KAFKA_* environment decides, so every
   * client of a process connects alike; `null` means plain TCP whatever the environment says.
   */
  security?: KafkaSecurity | null
}

export function parseBrokers(brokers: string | readonly string[]): string[] {
  const list = (typeof brokers === 'string' ? brokers.split(',') : [...brokers])
    .map((broker) => broker.trim())
    .filter((broker) => broker.length > 0)
  if (list.length === 0) {
    throw new StrataError(ErrorCodes.INVALID_ARGUMENT, 'No Kafka brokers given', { field: 'brokers' })
  }
  for (const broker of list) {
    if (!/^[^\s:]+:\d{1,5}$/.test(broker) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(broker)) {
      throw new StrataError(ErrorCodes.INVALID_ARGUMENT, `Broker must be host:port, got "${broker}"`, {
        field: 'brokers',
      })
    }
  }
  return list
}

/** The options every platformatic client takes. */
export function baseClientOptions(options: KafkaClientOptions, role: string) {
  return {
    clientId: options.clientId ?? `strata-${role}`,
    bootstrapBrokers: parseBrokers(options.brokers),
    // Topics are created on purpose (admin.createTopic), never by a typo in a produce call.
    autocreateTopics: false,
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    retryDelay: options.retryDelay ?? 250,
    ...securityClientOptions(
      options.security === undefined ? kafkaSecurityFromEnv() : (options.security ?? undefined),
    ),
  }
}

/**
 * Wraps a client error in a StrataError. Retriable means the same call may succeed later: a
 * network failure or a protocol error Kafka marks retriable (NOT_LEADER_OR_FOLLOWER, ...), never
 * a bad argument. platformatic marks the non-retriable ones with `canRetry: false`, anywhere in
 * a chain of causes.
 */
export function toStrataError(
  error: unknown,
  message: string,
  code: ErrorCode = ErrorCodes.KAFKA,
): StrataError {
  if (error instanceof StrataError) return error
  let retriable = false
  if (error instanceof GenericError || error instanceof MultipleErrors) {
    retriable = error.code !== 'PLT_KFK_USER' && findErrorBy(error, 'canRetry', false) === null
    if (findErrorBy(error, 'code', 'PLT_KFK_NETWORK') !== null) code = ErrorCodes.KAFKA_UNAVAILABLE
  }
  // Wrong credentials or an untrusted certificate do not heal by retrying: say which it is.
  const security = securityFailure(error)
  if (security) {
    code = security
    retriable = false
  }
  const detail = describeError(error)
  return new StrataError(code, detail ? `${message}: ${detail}` : message, { cause: error, retriable })
}

// Node's codes for a certificate the client does not trust, and OpenSSL's handshake failures.
const TLS_CODES =
  /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH)/

/** KAFKA_AUTH or KAFKA_TLS when a failure in the chain of causes is one of those; else undefined. */
export function securityFailure(error: unknown, seen = new Set<unknown>()): ErrorCode | undefined {
  if (!(error instanceof Error) || seen.has(error)) return undefined
  seen.add(error)
  const { code, apiId } = error as { code?: unknown; apiId?: unknown }
  if (code === 'PLT_KFK_AUTHENTICATION' || apiId === 'SASL_AUTHENTICATION_FAILED')
    return ErrorCodes.KAFKA_AUTH
  if (typeof code === 'string' && TLS_CODES.test(code)) return ErrorCodes.KAFKA_TLS
  if (error.message.startsWith('TLS handshake failed')) return ErrorCodes.KAFKA_TLS
  const inner = error instanceof AggregateError ? error.errors : []
  for (const next of [error.cause, ...inner]) {
    const found = securityFailure(next, seen)
    if (found) return found
  }
  return undefined
}

/** True when the error, or one in its chain, is Kafka's error `apiId` (e.g. 'TOPIC_ALREADY_EXISTS'). */
export function hasApiError(error: unknown, apiId: string): boolean {
  return error instanceof Error && findErrorBy(error, 'apiId', apiId) !== null
}

/**
 * A metadata request for a topic that does not exist. platformatic reports it as a UserError
 * "Unknown topic X." (after its retries) rather than with Kafka's UNKNOWN_TOPIC_OR_PARTITION.
 */
export function isUnknownTopic(error: unknown): boolean {
  if (hasApiError(error, 'UNKNOWN_TOPIC_OR_PARTITION') || hasApiError(error, 'UNKNOWN_TOPIC_ID')) return true
  return (
    error instanceof Error &&
    findErrorBy(error, 'code', 'PLT_KFK_USER')?.message.startsWith('Unknown topic ') === true
  )
}

/** The first useful line of a (possibly nested) client error, for messages and logs. */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    const inner = error.errors.map(describeError).filter(Boolean)
    return [...new Set(inner)].join('; ')
  }
  if (error instanceof Error) {
    const apiId = (error as { apiId?: unknown }).apiId
    return typeof apiId === 'string' ? `${apiId} (${error.message})` : error.message
  }
  return error === undefined ? '' : String(error)
}

/** Bigint offsets from the wire become JS numbers at our boundary: exact up to 2^53. */
export function toOffset(value: bigint): number {
  const offset = Number(value)
  if (!Number.isSafeInteger(offset)) {
    throw new StrataError(ErrorCodes.INTERNAL, `Offset ${value} exceeds Number.MAX_SAFE_INTEGER`)
  }
  return offset
}
