// Embedded mode: one process owns every partition of the embedded log (there is no group to
// share them with). Each partition is claimed, then read from the offset stored with its state,
// one batch at a time, into its folder.
import type { StrataError } from '../core/errors.ts'
import type { Log } from '../log/log.ts'
import type { PartitionFolder } from './partition-folder.ts'
import type { PartitionSet } from './partition-set.ts'

export interface SpeedSource {
  start(): Promise<void>
  /** Stops reading, commits what is pending and releases every partition. */
  close(): Promise<void>
  /** Called after each store commit (Kafka mode mirrors it into the group offsets). */
  committed(partition: number, offset: number): void
}

export function logSpeedSource(options: {
  log: Log
  partitions: number
  set: PartitionSet
  onError: (error: StrataError) => void
}): SpeedSource {
  const { log, set } = options
  const abort = new AbortController()
  const loops: Promise<void>[] = []

  async function follow(folder: PartitionFolder): Promise<void> {
    for await (const batch of log.read(folder.partition, folder.offset, { signal: abort.signal })) {
      await folder.add(batch)
      if (folder.stopped) return
    }
  }

  return {
    async start() {
      // Every partition is claimed before start() resolves, so a caller sees them all owned.
      const folders: PartitionFolder[] = []
      for (let p = 0; p < options.partitions; p++) folders.push(await set.take(p))
      for (const folder of folders) {
        loops.push(
          follow(folder).catch((error) => {
            if (!abort.signal.aborted) options.onError(error)
          }),
        )
      }
    },
    async close() {
      abort.abort()
      await Promise.all(loops)
      await set.releaseAll()
    },
    committed() {},
  }
}
