// A speed worker in its own process, for tests that kill it (SIGKILL: no flush, no LeaveGroup).
// argv: brokers groupId configPath storePath [threads]: with `threads`, one fold thread, as
// `strata worker speed` runs (its fetches then decoded as spans of the values). Prints `owned <partitions>` whenever its set of
// partitions changes, and `error <code> <message>` for what the worker reports. SIGTERM closes it.
import { loadConfig } from '../../src/core/config-loader.ts'
import { createSpeedWorker } from '../../src/speed/speed-worker.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'

const [brokers, groupId, configPath, storePath, threads] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string | undefined,
]
const config = await loadConfig(configPath)
const store = await openLmdbStore(storePath)
const worker = createSpeedWorker({
  store,
  config,
  brokers,
  groupId,
  ...(threads === 'threads' ? { foldThreads: 1, configPath } : {}),
  policy: { commitEveryMs: 50, sealEveryMs: 300 },
  consumer: { sessionTimeoutMs: 6_000, rebalanceTimeoutMs: 10_000, heartbeatIntervalMs: 200, maxWaitMs: 100 },
  onError: (error) => process.stdout.write(`error ${error.code} ${error.message}\n`),
})
await worker.start()

let owned = ''
setInterval(() => {
  const now = worker
    .stats()
    .partitions.filter((p) => p.stopped === null)
    .map((p) => p.partition)
    .join(',')
  if (now !== owned) process.stdout.write(`owned ${now}\n`)
  owned = now
}, 50)

process.on('SIGTERM', async () => {
  await worker.close()
  await store.close()
  process.exit(0)
})
