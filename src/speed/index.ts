// The speed layer (docs/speed-layer.md): realtime views past the batch horizon, exactly once.

export { type ClaimOptions, claimSpeedPartition } from './claim.ts'
export type { SpeedConsumerOptions } from './kafka-source.ts'
// One partition: folding, sealing epochs, committing state with its offset
export {
  claimFolder,
  defaultFolderPolicy,
  type FolderOptions,
  type FolderPolicy,
  PartitionFolder,
  type PartitionStats,
  type SpeedBatch,
  type SpeedRecord,
} from './partition-folder.ts'
// The role: a Kafka consumer-group member or the embedded log's reader
export {
  createSpeedWorker,
  SPEED_GROUP,
  type SpeedWorker,
  type SpeedWorkerOptions,
  type SpeedWorkerStats,
} from './speed-worker.ts'
