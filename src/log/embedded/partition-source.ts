// The embedded log as a PartitionSource (../partition-source.ts): there is no group to share the
// partitions with, so this process owns every one of them from start() to close(). Each is read
// from where onAssign says, one batch at a time, following the log as it grows.
import type { StrataError } from '../../core/errors.ts'
import type { Log } from '../log.ts'
import type { PartitionHandlers, PartitionSource } from '../partition-source.ts'

export function embeddedPartitionSource(options: {
  log: Log
  /** How many partitions to own (the source's partition count in the config). */
  partitions: number
  /** A read or a batch failed: that partition's reading stops. */
  onError: (error: StrataError) => void
}): PartitionSource {
  const { log } = options
  const abort = new AbortController()
  const loops: Promise<void>[] = []
  let handlers: PartitionHandlers | undefined

  async function follow(partition: number, from: number): Promise<void> {
    for await (const batch of log.read(partition, from, { signal: abort.signal })) {
      await handlers!.onBatch(batch)
    }
  }

  return {
    async start(given) {
      handlers = given
      const partitions = Array.from({ length: options.partitions }, (_, p) => p)
      // Every partition is assigned before start() resolves, so a caller sees them all owned.
      const starts = await given.onAssign(partitions)
      for (const partition of partitions) {
        loops.push(
          follow(partition, starts.get(partition) ?? 0).catch((error) => {
            if (!abort.signal.aborted) options.onError(error)
          }),
        )
      }
    },
    // No group: nothing to record beside the role's own store.
    async commit() {},
    async close() {
      abort.abort()
      await Promise.all(loops)
      const revoking = handlers
      handlers = undefined
      await revoking?.onRevoke(Array.from({ length: options.partitions }, (_, p) => p))
    },
  }
}
