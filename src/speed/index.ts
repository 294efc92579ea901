// The speed layer (docs/speed-layer.md): realtime views past the batch horizon, exactly once.

export { type ClaimOptions, claimSpeedPartition } from './claim.ts'
// Parsing, checking and folding off the thread that reads the log (fold-threads.ts)
export { FoldThreads } from './fold-threads.ts'
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
// The role: one code path over its partition source (a Kafka consumer group or the embedded log)
export {
  createSpeedWorker,
  SPEED_FOLD_THREADS,
  SPEED_GROUP,
  type SpeedConsumerOptions,
  type SpeedWorker,
  type SpeedWorkerOptions,
  type SpeedWorkerStats,
  STUCK_FOLD_MS,
} from './speed-worker.ts'
