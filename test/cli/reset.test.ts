// strata reset (docs/master-dataset.md#strata-reset): without --yes it lists what it would delete
// and exits 1, deleting nothing; with --yes the master dataset and the store's state are gone, and
// the folder and store accept another source.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { createLogger } from '../../src/runtime/logger.ts'
import { checkSourceIdentity } from '../../src/runtime/source-identity.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import { spawnStrata } from '../helpers/process.ts'
import { configSource } from '../speed/helpers.ts'

test('strata reset lists without --yes (exit 1), deletes with it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'strata-reset-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
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
  t.after(() => store.close())
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
  const dir = await mkdtemp(join(tmpdir(), 'strata-reset-env-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const configPath = join(dir, 'strata.config.ts')
  await writeFile(configPath, configSource('events', 2))
  const storeDir = join(dir, 'elsewhere-store')
  const args = ['reset', '--config', configPath, '--data', join(dir, 'data'), '--keep-master']
  const dry = spawnStrata(args, { STRATA_STORE: storeDir })
  assert.equal(await dry.exited, 1, dry.output())
  assert.match(dry.output(), new RegExp(`the store \\(${storeDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`))
  assert.doesNotMatch(dry.output(), /the embedded store of the data folder/)
})
