// The speed layer's side of its source (src/log/partition-source.ts): one code path, whether a
// consumer group (default `strata-speed`) shares the partitions among the workers or the embedded
// log hands this worker every one of them.
//
// - onAssign claims each partition in the store and answers the stored consumed offset: that,
//   not the group's committed offset, is where reading resumes (rule 1 of docs/horizon.md).
// - onBatch hands the batch to the partition's folder (PartitionFolder.take): in process the fold
//   is awaited; with a fold thread, not even that while the partition's batches waiting stay
//   under WAITING_BYTES (2 MiB). The folds and commits run one after the other on the folder's queue, and a
//   revoke's flush runs behind every batch handed over before it.
// - onRevoke comes before anyone else can be given the partition: the pending window is
//   committed there and the partition dropped.
// - The claim bumps the owner token, so a worker that stalled past its session timeout (a
//   zombie that never saw the revoke) has its next commit refused and stops writing (rule 2).
// - After store commits, the source records the offsets too (Kafka: the group offsets, for
//   `kafka-consumer-groups` and lag dashboards only; never read back). At most one in flight.
import type { PartitionHandlers, PartitionSource } from '../log/partition-source.ts'
import type { PartitionSet } from './partition-set.ts'

export interface SpeedHandlers extends PartitionHandlers {
  /** Called after each store commit of a partition's window. */
  committed(partition: number, offset: number): void
}

export function speedPartitionHandlers(set: PartitionSet, source: PartitionSource): SpeedHandlers {
  const stored = new Map<number, number>()
  let inFlight: Promise<void> | undefined
  let again = false

  async function commitSource(partitions: readonly number[]): Promise<void> {
    const offsets = new Map<number, number>()
    for (const p of partitions) {
      const offset = stored.get(p)
      if (offset !== undefined) offsets.set(p, offset)
    }
    if (offsets.size === 0) return
    // Best effort: a rebalance can take a partition between our store commit and this one.
    await source.commit(offsets).catch(() => undefined)
  }

  function scheduleSourceCommit(): void {
    if (inFlight) {
      again = true
      return
    }
    inFlight = (async () => {
      do {
        again = false
        const owned = set
          .owned()
          .filter((f) => !f.stopped)
          .map((f) => f.partition)
        await commitSource(owned)
      } while (again)
    })().finally(() => {
      inFlight = undefined
    })
  }

  return {
    async onAssign(partitions) {
      const offsets = new Map<number, number>()
      for (const partition of partitions) {
        const folder = await set.take(partition)
        offsets.set(partition, folder.offset)
      }
      return offsets
    },
    async onBatch(batch) {
      const folder = set.get(batch.partition)
      if (folder !== undefined && !folder.stopped) await folder.take(batch)
    },
    async onRevoke(partitions) {
      await Promise.all(partitions.map((partition) => set.release(partition)))
      await inFlight
      await commitSource(partitions)
      for (const partition of partitions) stored.delete(partition)
    },
    committed(partition, offset) {
      stored.set(partition, offset)
      scheduleSourceCommit()
    },
  }
}
