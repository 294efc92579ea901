// One speed worker in a process of its own, for bench:speed-catchup --workers=N (several
// members of one consumer group sharing one LMDB store, as `strata worker speed` deploys them).
// argv: brokers groupId configPath storePath. Prints `started` once it runs; SIGTERM closes it.
// Like `strata worker speed` on Kafka, it folds in SPEED_FOLD_THREADS fold threads.
import { loadConfig } from '../../src/core/config-loader.ts'
import { createSpeedWorker, SPEED_FOLD_THREADS } from '../../src/speed/index.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'

const [brokers, groupId, configPath, storePath] = process.argv.slice(2) as [string, string, string, string]
const store = await openLmdbStore(storePath)
const worker = createSpeedWorker({
  store,
  config: await loadConfig(configPath),
  configPath,
  foldThreads: SPEED_FOLD_THREADS,
  brokers,
  groupId,
})
await worker.start()
process.stdout.write('started\n')
process.on('SIGTERM', async () => {
  await worker.close()
  await store.close()
  process.exit(0)
})
