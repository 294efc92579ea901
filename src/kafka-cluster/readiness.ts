// Whether the cluster answers. The readiness signal is a metadata request that lists every
// broker of the layout: in KRaft a broker appears in metadata only once it has registered with
// the controller quorum and been unfenced, i.e. once it can lead and replicate partitions. (A
// log line such as "Kafka Server started" says the same thing for one node only.)
import { Admin } from '@platformatic/kafka'

export interface ClusterAnswer {
  clusterId: string
  /** Ids of the brokers the cluster reports as registered and unfenced. */
  brokers: number[]
}

/**
 * One metadata request through any of `bootstrap`; undefined when no broker answers in time.
 * No retries: the callers poll.
 */
export async function probeCluster(
  bootstrap: string[],
  timeoutMs = 3000,
): Promise<ClusterAnswer | undefined> {
  const admin = new Admin({
    clientId: 'strata-kafka-probe',
    bootstrapBrokers: bootstrap,
    retries: 0,
    timeout: timeoutMs,
    connectTimeout: timeoutMs,
    requestTimeout: timeoutMs,
  })
  try {
    const metadata = await admin.metadata({ topics: [] })
    return { clusterId: metadata.id, brokers: [...metadata.brokers.keys()].sort((a, b) => a - b) }
  } catch {
    return undefined
  } finally {
    await admin.close().catch(() => {})
  }
}
