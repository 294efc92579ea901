// A fetch answered OFFSET_OUT_OF_RANGE: the offset a role resumes from is no longer in the log.
// Below the log start offset, retention deleted records before the role read them: they can
// never be archived or counted, and the error says how many (logStartOffset - ourOffset, per
// partition). Past the end, the topic was truncated or recreated under us.
import type { Consumer } from '@platformatic/kafka'
import { ErrorCodes, StrataError } from '../../core/errors.ts'
import { toOffset } from './client-options.ts'
import type { PartitionOffset } from './start-offsets.ts'

export interface OutranPartition {
  topic: string
  partition: number
  /** Where the role stands: the next offset it needs. */
  offset: number
  /** Kafka's log start offset now. */
  logStart: number
  /** Records deleted before they were read: logStart - offset. */
  lost: number
}

/** STRATA_ERR_RETENTION_OUTRAN, with the records that can no longer be read. */
export class RetentionOutranError extends StrataError {
  readonly partitions: OutranPartition[]
  readonly lost: number

  constructor(partitions: OutranPartition[], cause?: unknown) {
    const lost = partitions.reduce((sum, p) => sum + p.lost, 0)
    const where = partitions
      .map((p) => `${p.topic}[${p.partition}] at ${p.offset}, log start ${p.logStart}: ${p.lost} records`)
      .join('; ')
    super(
      ErrorCodes.RETENTION_OUTRAN,
      `Kafka's retention deleted ${lost} records before they were read (${where}): they can never be ` +
        "archived or counted. Raise the topic's retention.ms/retention.bytes so the roles keep up; to go on " +
        'without them see docs/master-dataset.md#retention-outran',
      { cause },
    )
    this.name = 'RetentionOutranError'
    this.partitions = partitions
    this.lost = lost
  }
}

/** What an OFFSET_OUT_OF_RANGE answer to a fetch of these positions means. */
export async function outOfRange(
  client: Consumer,
  positions: PartitionOffset[],
  cause: unknown,
): Promise<StrataError> {
  const where = positions.map((p) => `${p.topic}[${p.partition}]@${p.offset}`).join(', ')
  const topics = [...new Set(positions.map((p) => p.topic))]
  let earliest: Map<string, bigint[]>
  let latest: Map<string, bigint[]>
  try {
    ;[earliest, latest] = await Promise.all([
      client.listOffsets({ topics, timestamp: -2n }),
      client.listOffsets({ topics, timestamp: -1n }),
    ])
  } catch {
    // Not known yet which (the broker answering the offsets is restarting, say): the partitions
    // wait as read trouble and the next fetch judges again; a lasting failure shows in /health.
    return new StrataError(
      ErrorCodes.KAFKA,
      `Offset out of range in ${where}, and the log's offsets cannot be read right now; asked again`,
      { cause, retriable: true },
    )
  }
  const outran: OutranPartition[] = []
  const pastEnd: string[] = []
  for (const p of positions) {
    const logStart = toOffset(earliest.get(p.topic)?.[p.partition] ?? 0n)
    const end = toOffset(latest.get(p.topic)?.[p.partition] ?? 0n)
    if (p.offset < logStart) outran.push({ ...p, logStart, lost: logStart - p.offset })
    else if (p.offset > end) pastEnd.push(`${p.topic}[${p.partition}] at ${p.offset}, log end ${end}`)
  }
  if (outran.length > 0) return new RetentionOutranError(outran, cause)
  if (pastEnd.length > 0) {
    return new StrataError(
      ErrorCodes.SOURCE_MISMATCH,
      `our offsets are past the end of the log (${pastEnd.join('; ')}): the topic was truncated or recreated. ` +
        'Use another --data and --store for it, or empty them with strata reset (docs/master-dataset.md#source-identity)',
      { cause },
    )
  }
  // Moved back into range meanwhile (a leader change): the fetch loop asks again.
  return new StrataError(ErrorCodes.KAFKA, `Offset out of range in ${where}`, { cause, retriable: true })
}
