// Taking a partition: where the speed layer starts in a partition it has never run in, and the
// boundaries it owes the batch versions already served.
//
// A partition never seen starts at the least served batch horizon of the views (0 when some view
// has no batch version, which covers a fresh deployment): starting higher would leave the events
// between that view's horizon and the start counted by neither layer; starting lower only folds
// events a query does not read. Every served horizon at or past the consumed offset must then
// become a boundary, because a query reads the epochs that start at or after it. A batch run
// records that itself (alignHorizon) when the partition exists in the store; for one that did
// not exist yet, we do it here, right after the claim.
import type { CompiledView } from '../core/compiled-view.ts'
import type { Store } from '../store/store.ts'
import { claimFolder, type FolderOptions, type PartitionFolder } from './partition-folder.ts'

export interface ClaimOptions extends FolderOptions {
  store: Store
  /** Partitions of the source (horizons are vectors of this length). */
  partitions: number
  /**
   * Where the log starts now (Kafka's log start offset). A fresh deployment (no batch version)
   * starts there rather than at 0: retention may have deleted the topic's first records before
   * Strata ever ran, and the archiver starts its copy there too.
   */
  firstOffset?(partition: number): Promise<number>
}

export async function claimSpeedPartition(options: ClaimOptions): Promise<PartitionFolder> {
  const { store, partition, partitions } = options
  const horizons = await servedHorizons(store, options.views, partition)
  let initial = Math.min(...horizons)
  if (initial === 0 && options.firstOffset) initial = await options.firstOffset(partition)
  const folder = await claimFolder(options, initial)
  for (const h of new Set(horizons)) {
    if (h < folder.offset) continue
    // Offset 0 elsewhere is always a boundary or below one already: nothing recorded there.
    const wished = Array.from({ length: partitions }, (_, p) => (p === partition ? h : 0))
    await store.alignHorizon(wished, new Array(partitions).fill(0))
  }
  return folder
}

/** Per view, the served batch horizon of the partition (0 for a view without a batch version). */
async function servedHorizons(
  store: Store,
  views: ReadonlyArray<CompiledView<any, any>>,
  partition: number,
): Promise<number[]> {
  const served = await Promise.all(views.map((v) => store.servedBatch(v.name)))
  return served.map((meta) => meta?.horizon[partition] ?? 0)
}
