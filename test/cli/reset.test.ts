// strata reset (docs/master-dataset.md#strata-reset): without --yes it lists what it would delete
// and exits 1, deleting nothing; with --yes the master dataset and the store's state are gone, and
// the folder and store accept another source.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { EmbeddedLog } from '../../src/log/embedded/embedded-log.ts'
import { lockFolders } from '../../src/runtime/data-lock.ts'
import { createLogger } from '../../src/runtime/logger.ts'
import { checkSourceIdentity } from '../../src/runtime/source-identity.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import { deferrer } from '../helpers/cleanup.ts'
import { spawnStrata } from '../helpers/process.ts'
import { configSource } from '../speed/helpers.ts'

test('strata reset lists without --yes (exit 1), deletes with it', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-reset-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const configPath = join(dir, 'strata.config.ts')
  await writeFile(configPath, configSource('events', 2))
  const root = join(dir, 'data', 'master', 'events')
  const logger = createLogger('test', () => undefined)
  let store = await openLmdbStore(join(dir, 'data', 'store'))
  await checkSourceIdentity({
    source: { kind: 'embedded', topic: 'events', partitions: 2 },
    folder: { root, create: true },
    store,
    logger,
  })
  await store.close()
  const args = ['reset', '--config', configPath, '--data', join(dir, 'data')]

  const dry = spawnStrata(args)
  assert.equal(await dry.exited, 1, dry.output())
  assert.match(dry.output(), /would delete:[\s\S]*built from the embedded log[\s\S]*the events themselves/)
  assert.ok(existsSync(join(root, 'source.json')))

  const real = spawnStrata([...args, '--yes'])
  assert.equal(await real.exited, 0, real.output())
  assert.ok(!existsSync(root))
  store = await openLmdbStore(join(dir, 'data', 'store'))
  defer(() => store.close())
  assert.equal(await store.readMeta('source'), undefined)
  // Free for another source now.
  await checkSourceIdentity({
    source: { kind: 'kafka', clusterId: 'c', topic: 'events', topicId: 't', partitions: 2 },
    folder: { root, create: true },
    store,
    logger,
  })
})

test('strata reset names the store STRATA_STORE gives, as it does --store', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-reset-env-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const configPath = join(dir, 'strata.config.ts')
  await writeFile(configPath, configSource('events', 2))
  const storeDir = join(dir, 'elsewhere-store')
  const args = ['reset', '--config', configPath, '--data', join(dir, 'data'), '--keep-master']
  const dry = spawnStrata(args, { STRATA_STORE: storeDir })
  assert.equal(await dry.exited, 1, dry.output())
  assert.match(dry.output(), new RegExp(`the store \\(${storeDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`))
  assert.doesNotMatch(dry.output(), /the embedded store of the data folder/)
})

// `strata reset --yes` beside a running `strata start` on the same folder deleted the embedded
// log and emptied the store under it: the running process went on answering 202 into deleted
// files (acknowledged events lost) and queries answered empty, while /health said ok. Reset
// writes the folders as much as any writer: it takes their locks (data-lock.ts) and is refused
// with STRATA_ERR_DATA_LOCKED, deleting nothing, while another process holds one.
test('strata reset --yes is refused while a process holds the data folder or the store', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-reset-locked-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const configPath = join(dir, 'strata.config.ts')
  await writeFile(configPath, configSource('events', 2))
  const data = join(dir, 'data')
  const root = join(data, 'master', 'events')
  const store = await openLmdbStore(join(data, 'store'))
  await checkSourceIdentity({
    source: { kind: 'embedded', topic: 'events', partitions: 2 },
    folder: { root, create: true },
    store,
    logger: createLogger('test', () => undefined),
  })
  await store.close()
  const args = ['reset', '--config', configPath, '--data', data, '--yes']

  // As `strata start` (both folders), then as an archiver (the data folder) and a speed worker
  // (the store), each with and without --keep-master where it applies.
  for (const [folders, extra] of [
    [[data, join(data, 'store')], []],
    [[data], []],
    [[join(data, 'store')], []],
    [[join(data, 'store')], ['--keep-master']],
  ] as const) {
    const lock = lockFolders([...folders], 'strata start')
    try {
      const run = spawnStrata([...args, ...extra])
      assert.equal(await run.exited, 1, run.output())
      assert.match(
        run.output(),
        new RegExp(`in use by strata pid ${process.pid} .*\\[STRATA_ERR_DATA_LOCKED\\]`),
      )
      assert.ok(existsSync(join(root, 'source.json')), 'the master dataset is kept')
    } finally {
      lock.release()
    }
  }
  const kept = await openLmdbStore(join(data, 'store'))
  defer(() => kept.close())
  assert.ok(await kept.readMeta('source'), 'the store is kept')

  const free = spawnStrata(args)
  assert.equal(await free.exited, 0, free.output())
  assert.ok(!existsSync(root))
})

test('strata reset counts the embedded log events not yet sealed, which it deletes too', async (t) => {
  const defer = deferrer(t)
  // Met from a user's seat: over a folder of thousands of acknowledged events in active segments,
  // the list said "0 sealed segments" and nothing of the events it was about to delete.
  const dir = await mkdtemp(join(tmpdir(), 'strata-reset-active-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const configPath = join(dir, 'strata.config.ts')
  await writeFile(configPath, configSource('events', 2))
  const root = join(dir, 'data', 'master', 'events')
  const store = await openLmdbStore(join(dir, 'data', 'store'))
  await checkSourceIdentity({
    source: { kind: 'embedded', topic: 'events', partitions: 2 },
    folder: { root, create: true },
    store,
    logger: createLogger('test', () => undefined),
  })
  await store.close()
  const log = await EmbeddedLog.open({ dir: root, partitions: 2 })
  const value = (i: number) =>
    Buffer.from(JSON.stringify({ type: 'page_view', url: `/${i}`, ts: 1764000000000 }))
  const written = await log.append(Array.from({ length: 7 }, (_, i) => ({ value: value(i) })))
  await log.close()
  // A kill -9 leaves the room reserved ahead as zeros after the records: not events.
  const p0 = written.find((r) => r.partition === 0) ?? written[0]!
  await appendFile(join(root, `p000${p0.partition}`, '00000000000000000000.active'), Buffer.alloc(1024))

  const dry = spawnStrata(['reset', '--config', configPath, '--data', join(dir, 'data')])
  assert.equal(await dry.exited, 1, dry.output())
  assert.match(
    dry.output(),
    /0 sealed segments and 7 events not yet sealed \(the embedded log: the events themselves\)/,
  )
})

test('strata reset counts sealed segments and events not yet sealed apart: none, a mix, a folder of no log', async (t) => {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-reset-mix-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const configPath = join(dir, 'strata.config.ts')
  await writeFile(configPath, configSource('events', 2))
  const root = join(dir, 'data', 'master', 'events')
  const args = ['reset', '--config', configPath, '--data', join(dir, 'data')]
  const list = async () => {
    const dry = spawnStrata(args)
    assert.equal(await dry.exited, 1, dry.output())
    return dry.output()
  }

  // A data folder with no master dataset yet, then an embedded log that holds no event.
  assert.match(await list(), /the master dataset .*: 0 sealed segments\n/)
  await mkdir(root, { recursive: true })
  await (await EmbeddedLog.open({ dir: root, partitions: 2, maxSegmentRecords: 5 })).close()
  assert.match(await list(), /: 0 sealed segments\n/)

  // 5 events sealed into a segment in one partition; 3 and 2 more, in the active segments.
  const log = await EmbeddedLog.open({ dir: root, partitions: 2, maxSegmentRecords: 5 })
  const value = (i: number) => Buffer.from(JSON.stringify({ url: `/${i}`, ts: 1764000000000 + i }))
  for (const n of [5, 3, 2]) await log.append(Array.from({ length: n }, (_, i) => ({ value: value(i) })))
  await log.close()
  assert.match(await list(), /: 1 sealed segments and 5 events not yet sealed\n/)

  // A torn line a kill -9 left after them is no event.
  await appendFile(join(root, 'p0001', '00000000000000000000.active'), '{"offset":3,"timestamp":1,"ke')
  assert.match(await list(), /: 1 sealed segments and 5 events not yet sealed\n/)

  // Lines that are not the log's records (a folder that is not Strata's) are no events either.
  await rm(root, { recursive: true })
  await mkdir(join(root, 'p0000'), { recursive: true })
  await writeFile(join(root, 'p0000', '00000000000000000000.active'), 'a\nb\n')
  assert.match(await list(), /: 0 sealed segments\n/)
})
