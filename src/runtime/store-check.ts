// At start, before any layer reads or serves: the store must not count records the log no longer
// has. Its speed offsets (and the horizons of served batch views) say how far into each partition
// it has folded; if that is past the log's end, the log was damaged, cut or restored from an
// older copy, and the store's answers include events the log cannot show or recompute. Serving
// them would be wrong, and the speed layer would wait for offsets the log will give to new
// events, skipping those. So start refuses, naming the partitions, with the way out: move the
// store aside and the batch and speed layers rebuild it from the master dataset.
import { ErrorCodes, StrataError } from '../core/errors.ts'
import type { Store } from '../store/store.ts'

export interface StoreAhead {
  partition: number
  /** How far the store has folded (speed offset or batch horizon). */
  store: number
  /** The log's end offset. */
  log: number
  what: string
}

/** The partitions where the store is ahead of the log (empty when it is not). */
export async function storeAheadOfLog(store: Store, logEnds: number[]): Promise<StoreAhead[]> {
  const ahead: StoreAhead[] = []
  for (const sp of await store.speedPartitions()) {
    const end = logEnds[sp.partition] ?? 0
    if (sp.offset > end)
      ahead.push({ partition: sp.partition, store: sp.offset, log: end, what: 'speed offset' })
  }
  for (const view of await store.listBatchViews()) {
    view.horizon.forEach((h, partition) => {
      const end = logEnds[partition] ?? 0
      if (h > end) ahead.push({ partition, store: h, log: end, what: `batch horizon of ${view.view}` })
    })
  }
  return ahead
}

/** Throws STORE_AHEAD_OF_LOG when the store counts records the log does not have. */
export async function checkStoreAgainstLog(
  store: Store,
  logEnds: number[],
  storeWhere: string,
): Promise<void> {
  const ahead = await storeAheadOfLog(store, logEnds)
  if (ahead.length === 0) return
  const list = ahead
    .map((a) => `partition ${a.partition}: ${a.what} ${a.store}, log ends at ${a.log}`)
    .join('; ')
  throw new StrataError(
    ErrorCodes.STORE_AHEAD_OF_LOG,
    `the store counts records the log does not have (${list}): the log was damaged, cut or restored from an older copy. Refusing to serve it. Move the store aside (${storeWhere}) and start again: the batch and speed layers rebuild it from the master dataset (see docs/master-dataset.md, "Recovery")`,
  )
}
