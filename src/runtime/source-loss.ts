// What a role does when its source lost records it needs (STRATA_ERR_RETENTION_OUTRAN: Kafka's
// retention deleted them before they were read) or changed under it (STRATA_ERR_SOURCE_MISMATCH:
// the topic was recreated or truncated while we ran). Neither passes by waiting, and a role that
// went on would serve numbers missing those records as if they were whole. So the role stops:
// one loud log line with the count, then exit 1 (the supervisor's restart meets the same state
// and says it again: persistent). Serving processes elsewhere show it on /health
// (kafkaEndOffsets below), which is 503 while the store's speed offsets are behind the log start.
import { ErrorCodes, type StrataError } from '../core/errors.ts'
import { createAdmin } from '../log/kafka/index.ts'
import { RetentionOutranError } from '../log/kafka/retention.ts'
import type { Store } from '../store/store.ts'
import type { Logger } from './logger.ts'

export function isSourceLoss(error: StrataError): boolean {
  return error.code === ErrorCodes.RETENTION_OUTRAN || error.code === ErrorCodes.SOURCE_MISMATCH
}

export interface SourceLossContext {
  logger: Logger
  onFatal?(error: StrataError): void
}

/** True (and the role is stopped) when `error` is a loss of the source; false otherwise. */
export function stopOnSourceLoss(context: SourceLossContext, role: string, error: StrataError): boolean {
  if (!isSourceLoss(error)) return false
  const lost = error instanceof RetentionOutranError ? `${error.lost} records can no longer be read; ` : ''
  context.logger.error(`${role} stops: ${lost}exiting`, error)
  if (context.onFatal) context.onFatal(error)
  else process.exit(1)
  return true
}

/** End offsets read through a client of its own, which its opener closes at shutdown. */
export type ClosableEndOffsets = (() => Promise<number[]>) & { close(): Promise<void> }

/**
 * Kafka's end offsets of the topic, for lag and /health; fails with STRATA_ERR_RETENTION_OUTRAN
 * while the store's speed offsets are below Kafka's log start offsets (records the speed layer
 * can never count), so every serving process reports it, not only the stopped role. Reads through
 * one admin client, kept for the process's life: close it with the roles.
 */
export function kafkaEndOffsetsChecked(brokers: string, topic: string, store: Store): ClosableEndOffsets {
  const admin = createAdmin({ brokers })
  const read = async () => {
    const offsets = await admin.listOffsets(topic)
    const speed = await store.speedPartitions()
    const outran = offsets.flatMap(({ partition, earliest }) => {
      // Owner 0: a partition no speed worker claimed yet (it starts where the log starts).
      const offset = speed.find((s) => s.partition === partition && s.owner > 0)?.offset
      return offset !== undefined && offset < earliest
        ? [{ topic, partition, offset, logStart: earliest, lost: earliest - offset }]
        : []
    })
    if (outran.length > 0) throw new RetentionOutranError(outran)
    return offsets.map((p) => p.latest)
  }
  return Object.assign(read, { close: () => admin.close() })
}
