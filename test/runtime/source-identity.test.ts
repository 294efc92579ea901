// Every data folder and store knows its source (src/runtime/source-identity.ts): on a real data
// folder and a real LMDB store, each way to pair them with another source or another master
// dataset is refused with STRATA_ERR_SOURCE_MISMATCH, and the ordinary restarts are not.
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import type { StrataConfig } from '../../src/core/config.ts'
import { ErrorCodes, StrataError } from '../../src/core/errors.ts'
import { activeFileName } from '../../src/master-dataset/index.ts'
import { createLogger } from '../../src/runtime/logger.ts'
import {
  checkRoleSource,
  checkSourceIdentity,
  type SourceIdentity,
} from '../../src/runtime/source-identity.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import type { Store } from '../../src/store/store.ts'

const logger = createLogger('test', () => undefined)
const embedded: SourceIdentity = { kind: 'embedded', topic: 'events', partitions: 2 }
const kafka: SourceIdentity = {
  kind: 'kafka',
  clusterId: 'c1',
  topic: 'events',
  topicId: 't1',
  partitions: 2,
}

async function scratch(t: TestContext) {
  const dir = await mkdtemp(join(tmpdir(), 'strata-identity-'))
  const stores: Store[] = []
  t.after(async () => {
    for (const s of stores) await s.close()
    await rm(dir, { recursive: true, force: true })
  })
  return {
    root: (name = 'data') => join(dir, name, 'master', 'events'),
    async store(name = 'store') {
      const s = await openLmdbStore(join(dir, name))
      stores.push(s)
      return s
    },
  }
}

const refused = (what: RegExp) => (error: unknown) => {
  assert.ok(error instanceof StrataError, String(error))
  assert.equal(error.code, ErrorCodes.SOURCE_MISMATCH)
  assert.match(error.message, what)
  assert.match(error.message, /strata reset/)
  return true
}

test('a data folder and a store that ran on the embedded log refuse a Kafka topic', async (t) => {
  const s = await scratch(t)
  const store = await s.store()
  await checkSourceIdentity({ source: embedded, folder: { root: s.root(), create: true }, store, logger })
  const identity = JSON.parse(await readFile(join(s.root(), 'source.json'), 'utf8'))
  assert.deepEqual(identity.source, embedded)
  await assert.rejects(
    checkSourceIdentity({ source: kafka, folder: { root: s.root(), create: true }, store, logger }),
    refused(/the embedded log.*not of Kafka topic events/),
  )
  // The store alone (a speed worker) refuses it too.
  await assert.rejects(checkSourceIdentity({ source: kafka, store, logger }), refused(/store was built from/))
})

test('a recreated topic (same name, new id), another cluster or another partition count is refused', async (t) => {
  const s = await scratch(t)
  const store = await s.store()
  await checkSourceIdentity({ source: kafka, folder: { root: s.root(), create: true }, store, logger })
  // The same source again: a restart.
  await checkSourceIdentity({ source: kafka, folder: { root: s.root(), create: true }, store, logger })
  for (const other of [
    { ...kafka, topicId: 't2' },
    { ...kafka, clusterId: 'c2' },
    { ...kafka, partitions: 3 },
  ]) {
    await assert.rejects(
      checkSourceIdentity({ source: other, folder: { root: s.root(), create: true }, logger }),
      refused(/holds a master dataset of Kafka topic events \(id t1, 2 partitions\) of cluster c1/),
    )
    await assert.rejects(
      checkSourceIdentity({ source: other, store, logger }),
      refused(/store was built from/),
    )
  }
})

test('a store that holds views, paired with a new, empty data folder, is refused (strata batch --data <empty>)', async (t) => {
  const s = await scratch(t)
  const store = await s.store()
  await checkSourceIdentity({ source: kafka, folder: { root: s.root('a'), create: true }, store, logger })
  await assert.rejects(
    checkSourceIdentity({ folder: { root: s.root('empty'), create: false }, store, logger }),
    refused(/new, empty master dataset/),
  )
  // Another folder of the same source, with its own dataset id: also not what the views count.
  await checkSourceIdentity({ source: kafka, folder: { root: s.root('b'), create: true }, logger })
  await assert.rejects(
    checkSourceIdentity({ source: kafka, folder: { root: s.root('b'), create: true }, store, logger }),
    refused(/store was built from master dataset/),
  )
  // strata query does not read the data folder: a missing one is not a mismatch.
  await checkSourceIdentity({
    folder: { root: s.root('none'), create: false, optional: true },
    store,
    logger,
  })
})

test('a role that does not talk to the source refuses a store of another topic than the config names (query, serve, batch without --brokers)', async (t) => {
  // Session 20: `strata query` and `strata worker serve` without --brokers, their config edited
  // to topic B, answered with topic A's views as if current (rc 0, 200).
  const s = await scratch(t)
  const store = await s.store()
  await checkSourceIdentity({ source: kafka, folder: { root: s.root(), create: true }, store, logger })
  const config = (topic: string, partitions: number) =>
    ({ source: { topic, partitions, time: 'ts' }, views: [] }) as unknown as StrataConfig
  for (const role of ['query', 'serve', 'batch'] as const) {
    const context = { masterRoot: s.root(), store, logger }
    await assert.rejects(
      checkRoleSource(role, { ...context, config: config('other', 2) }),
      refused(/Kafka topic events \(id t1.*config names topic other/),
      role,
    )
    await assert.rejects(
      checkRoleSource(role, { ...context, config: config('events', 3) }),
      refused(/config names topic events \(3 partitions\)/),
      role,
    )
    await checkRoleSource(role, { ...context, config: config('events', 2) })
  }
})

test('a store from before identities that holds views, paired with an empty folder, is refused', async (t) => {
  const s = await scratch(t)
  const store = await s.store()
  const stage = await store.stageBatch('hits')
  await stage.commit({
    codeHash: 'h',
    horizon: [10, 10],
    events: 20,
    groups: 1,
    startedAt: 0,
    completedAt: 1,
  })
  await assert.rejects(
    checkSourceIdentity({ folder: { root: s.root('empty'), create: false }, store, logger }),
    refused(/holds no master dataset/),
  )
})

test('a speed worker records the source first; the archiver then records the dataset', async (t) => {
  const s = await scratch(t)
  const store = await s.store()
  await checkSourceIdentity({ source: kafka, store, logger }) // strata worker speed
  assert.deepEqual(await store.readMeta('source'), kafka)
  assert.equal(await store.readMeta('dataset'), undefined)
  await checkSourceIdentity({ source: kafka, folder: { root: s.root(), create: true }, store, logger })
  const identity = JSON.parse(await readFile(join(s.root(), 'source.json'), 'utf8'))
  assert.equal(await store.readMeta('dataset'), identity.dataset)
  await checkSourceIdentity({ folder: { root: s.root(), create: false }, store, logger }) // strata batch
})

test('a data folder from before identities, with data in it, is adopted with a warning', async (t) => {
  const s = await scratch(t)
  await mkdir(join(s.root(), 'p0000'), { recursive: true })
  const lines: string[] = []
  await checkSourceIdentity({
    source: embedded,
    folder: { root: s.root(), create: false },
    logger: createLogger('test', (line) => lines.push(line)),
  })
  assert.match(lines.join('\n'), /has no recorded source: recording the embedded log/)
})

test('a data folder from before identities that holds the embedded log is refused in Kafka mode', async (t) => {
  const s = await scratch(t)
  await mkdir(join(s.root(), 'p0000'), { recursive: true })
  await writeFile(join(s.root(), 'p0000', activeFileName(0)), '')
  await assert.rejects(
    checkSourceIdentity({ source: kafka, folder: { root: s.root(), create: true }, logger }),
    refused(/holds the embedded log/),
  )
})

test('strata reset: clear() empties the store, meta included', async (t) => {
  const s = await scratch(t)
  const store = await s.store()
  await checkSourceIdentity({ source: kafka, store, logger })
  await store.clear()
  assert.equal(await store.readMeta('source'), undefined)
  await checkSourceIdentity({ source: embedded, store, logger })
})

// The production shape starts its roles at once on a new data folder and a new store. The batch
// worker (no source of its own, folder not created by it) read the folder before the archiver
// claimed it and the store after the archiver recorded its dataset there: refused as a mismatch
// (a fresh-clone run's empty-cluster-production-shape hazard met it). Here the archiver's whole
// check runs inside the batch worker's first store read, the widest such window.
test('a role starting beside the one claiming a new folder and store is not refused', async (t) => {
  const s = await scratch(t)
  const store = await s.store()
  let archiverRan = false
  const racing = new Proxy(store, {
    get(target, name, receiver) {
      if (name !== 'readMeta') return Reflect.get(target, name, receiver)
      return async (key: string) => {
        if (!archiverRan) {
          archiverRan = true
          await checkSourceIdentity({
            source: kafka,
            folder: { root: s.root(), create: true },
            store,
            logger,
          })
        }
        return target.readMeta(key)
      }
    },
  })
  await checkSourceIdentity({ folder: { root: s.root(), create: false }, store: racing, logger })
  assert.equal(archiverRan, true)
})
