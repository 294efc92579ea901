// Run as a child process by lmdb-damage.test.ts (lmdb-js leaks an unhandled rejection per failed
// commit, which the test runner would pin on the test): opens a sound store, damages a page
// under it, makes a read and a write, and prints one JSON line of what each call and onCorrupt saw.
import { open } from 'lmdb'
import { ChecksummedValues } from '../../src/store/lmdb-checksum.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import { damageLmdbStore } from '../helpers/lmdb-damage.ts'

const dir = process.argv[2] as string
const db = open({ path: dir, compression: false, encoder: new ChecksummedValues() })
await db.transaction(() => {
  for (let i = 0; i < 20_000; i++) db.put(['b', 'view', 1, `key-${i}`, i], { count: i })
})
await db.close()
const reported: string[] = []
const store = await openLmdbStore(dir, {
  walk: true,
  onCorrupt: (error) => reported.push((error as any).code),
})
const before = await store.listBatchViews()
await damageLmdbStore(dir, 'data-page') // the map is shared: the running store sees it
const outcome = async (call: () => Promise<unknown>) =>
  call().then(
    () => 'ok',
    (error) => error.code ?? error.message,
  )
const calls = {
  read: await outcome(() => store.readBatch('view', 1, 'key-7')),
  write: await outcome(() => store.claimPartition(0, 0)),
  scan: await outcome(async () => {
    for await (const _ of store.scanBatch('view', 1)) break
  }),
}
await new Promise((resolve) => setTimeout(resolve, 500)) // lmdb-js's leaked rejections land here
process.stdout.write(`${JSON.stringify({ before, calls, reported })}\n`)
process.exit(0)
