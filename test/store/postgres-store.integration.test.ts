// The store contract and the speed contract against the machine's PostgreSQL (env
// STRATA_TEST_PG), each test in a schema of its own; then what only a shared database has:
// several processes (here: several pools) opening, staging and committing at the same time.
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { test } from 'node:test'
import { inspect } from 'node:util'
import { openPostgresStore } from '../../src/store/postgres/index.ts'
import { migrations } from '../../src/store/postgres/migrations.ts'
import { COMMIT_BEGIN, readStoredSql } from '../../src/store/postgres/speed-commit.ts'
import type { SpeedCommit, Store } from '../../src/store/store.ts'
import { collectRaceContract } from '../batch/collect-race.ts'
import { newSchemaName, openTestStore, schemaStores, testUrl, withClient } from './postgres-helpers.ts'
import { speedContract } from './speed-contract.ts'
import { storeContract } from './store-contract.ts'

storeContract(test, openTestStore)
speedContract(test, openTestStore)
collectRaceContract((name, fn) => test(`postgres: ${name}`, fn), openTestStore)

const add = (_view: string, a: unknown, b: unknown) => (a as number) + (b as number)
const hashes = { hits: 'h1' }

test('postgres: stores opening at once apply each migration exactly once', async (t) => {
  const { schema, open } = schemaStores(t)
  const stores = await Promise.all(Array.from({ length: 4 }, () => open()))
  const rows = await withClient(
    async (c) => (await c.query(`SELECT id FROM "${schema}".strata_migrations`)).rows,
  )
  assert.deepEqual(
    rows.map((r) => r.id).sort(),
    migrations.map((m) => m.id),
  )
  // Every one of them works on the result.
  for (const store of stores) assert.deepEqual(await store.listBatchViews(), [])
})

test('postgres: a password in the URL never appears in an error', async (t) => {
  const password = 'pw-Zq7-never-shown'
  const free = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
  const attempts: Array<[string, () => Promise<unknown>]> = [
    ['nothing listening', () => openPostgresStore(`postgres://postgres:${password}@127.0.0.1:${free}/test`)],
    [
      'no such database',
      () => openPostgresStore(`postgres://postgres:${password}@127.0.0.1:5432/strata_no_such_db_x`),
    ],
    [
      'bad schema name',
      () => openPostgresStore(`postgres://postgres:${password}@127.0.0.1:5432/test?schema=a;b`),
    ],
    ['not a URL', () => openPostgresStore(`postgres://postgres:${password}@[bad`)],
  ]
  for (const [what, attempt] of attempts) {
    await t.test(what, async () => {
      const error = await attempt().then(
        () => assert.fail('opened'),
        (e: unknown) => e,
      )
      assert.equal((error as { code?: string }).code, 'STRATA_ERR_STORE')
      const shown = `${(error as Error).message}\n${inspect(error, { depth: 5 })}`
      assert.ok(!shown.includes(password), `the password shows in: ${shown}`)
    })
  }
})

test('postgres: two commits of one partition from the same owner and offset: exactly one succeeds', async (t) => {
  const { open } = schemaStores(t)
  const [a, b] = [await open(), await open()]
  await a.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 1)
  const { owner } = await a.claimPartition(0, 0)
  let from = 0
  for (let round = 0; round < 20; round++) {
    const commit = (store: Store, state: number) =>
      store.commitSpeed(
        {
          partition: 0,
          owner,
          hashes,
          from,
          offset: from + 1,
          seals: [],
          deltas: [{ view: 'hits', epoch: 0, key: 'k', window: 0, state }],
        },
        add,
      )
    const results = await Promise.allSettled([commit(a, 1), commit(b, 1)])
    const won = results.filter((r) => r.status === 'fulfilled')
    const lost = results.filter((r) => r.status === 'rejected')
    assert.equal(won.length, 1)
    assert.equal((lost[0] as PromiseRejectedResult).reason.code, 'STRATA_ERR_FENCED')
    from++
  }
  const snap = await b.snapshot('hits', 'k')
  assert.deepEqual(snap.realtime, [{ partition: 0, epoch: 0, window: 0, state: 20 }])
  assert.equal(snap.speed[0]?.offset, 20)
})

test('postgres: a commit in flight on one partition does not hold up another partition', async (t) => {
  const { schema, open } = schemaStores(t)
  const store = await open()
  await store.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 2)
  await store.claimPartition(0, 0)
  await store.claimPartition(1, 0)
  const delta = { view: 'hits', epoch: 0, key: 'k', window: 0, state: 1 }
  await withClient(async (c) => {
    // What commitSpeed on partition 0 holds while it runs: its partition row, the views shared.
    await c.query('BEGIN')
    await c.query(`SELECT * FROM "${schema}".speed_partitions WHERE partition = 0 FOR UPDATE`)
    await c.query(`SELECT * FROM "${schema}".speed_views FOR SHARE`)
    const blocked = store.commitSpeed(
      { partition: 0, owner: 1, hashes, from: 0, offset: 1, seals: [], deltas: [delta] },
      add,
    )
    // Would hang (and the test time out) if partition 1 waited for partition 0.
    await store.commitSpeed(
      { partition: 1, owner: 1, hashes, from: 0, offset: 1, seals: [], deltas: [delta] },
      add,
    )
    assert.deepEqual(
      (await store.snapshot('hits', 'k')).realtime.map((r) => r.partition),
      [1],
    )
    await c.query('COMMIT')
    await blocked
  })
  assert.equal((await store.snapshot('hits', 'k')).realtime.length, 2)
})

test('postgres: writers on several partitions and readers at once; every snapshot is consistent', async (t) => {
  const { open } = schemaStores(t)
  const partitions = 3
  const commits = 60
  const writers = await Promise.all(Array.from({ length: partitions }, () => open()))
  const reader = await open()
  await writers[0].registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], partitions)
  for (const [p, w] of writers.entries()) await w.claimPartition(p, 0)
  let writing = true
  const write = async (p: number) => {
    for (let from = 0; from < commits; from++) {
      // Each commit adds 2 to key k and moves the offset by 1: state = 2 × offset, always.
      const commit: SpeedCommit = {
        partition: p,
        owner: 1,
        hashes,
        from,
        offset: from + 1,
        seals: from % 10 === 9 ? [from + 1] : [],
        deltas: [{ view: 'hits', epoch: Math.floor(from / 10) * 10, key: 'k', window: 0, state: 2 }],
      }
      await writers[p].commitSpeed(commit, add)
      // Registering the same definitions again meanwhile (a restarting worker) changes nothing.
      if (from % 20 === 0) await writers[p].registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], partitions)
    }
  }
  let reads = 0
  const read = async () => {
    while (writing) {
      const snap = await reader.snapshot('hits', 'k')
      for (let p = 0; p < partitions; p++) {
        const sum = snap.realtime
          .filter((r) => r.partition === p)
          .reduce((s, r) => s + (r.state as number), 0)
        assert.equal(sum, 2 * (snap.speed[p]?.offset ?? 0), `partition ${p} at read ${reads}`)
      }
      reads++
    }
  }
  const reading = read()
  await Promise.all(writers.map((_, p) => write(p)))
  writing = false
  await reading
  const final = await reader.snapshot('hits', 'k')
  assert.equal(
    final.realtime.reduce((s, r) => s + (r.state as number), 0),
    2 * partitions * commits,
  )
  assert.ok(reads > 0)
})

test('postgres: a version another process is staging survives a store opening meanwhile', async (t) => {
  const { open } = schemaStores(t)
  const batchProcess = await open()
  const stage = await batchProcess.stageBatch('v')
  await stage.put([{ key: 'x', window: 0, state: 7 }])
  // A serving process starts now: it must not take the live stage for a crashed one.
  const serving = await open()
  await serving.stageBatch('other').then((s) => s.abort())
  const served = await stage.commit({
    codeHash: 'h1',
    horizon: [1],
    events: 1,
    groups: 1,
    startedAt: 0,
    completedAt: 1,
  })
  assert.deepEqual(
    (await serving.readBatch('v', served.version, 'x')).map((e) => e.state),
    [7],
  )
})

test('postgres: a schema name is an identifier, never SQL', async () => {
  const schema = `${newSchemaName()}"; DROP TABLE x; --`
  await assert.rejects(openPostgresStore(testUrl, { schema }), { code: 'STRATA_ERR_STORE' })
})

test('postgres: scans and key listings page through more rows than one page holds, in order', async (t) => {
  const { open } = schemaStores(t)
  const store = await open()
  const n = 12_001
  const key = (i: number) => `k${String(i).padStart(6, '0')}`
  const stage = await store.stageBatch('v')
  const entries = Array.from({ length: n }, (_, i) => ({
    key: key(i),
    window: (i % 3) * 1000,
    state: { n: i },
  }))
  for (let at = 0; at < n; at += 5_000) await stage.put(entries.slice(at, at + 5_000).reverse())
  const { version } = await stage.commit({
    codeHash: 'h1',
    horizon: [n],
    events: n,
    groups: n,
    startedAt: 0,
    completedAt: 1,
  })
  const scanned = []
  for await (const entry of store.scanBatch('v', version)) scanned.push(entry)
  assert.deepEqual(scanned, entries)

  await store.registerSpeedViews([{ view: 'v', codeHash: 'h1' }], 1)
  await store.claimPartition(0, 0)
  await store.commitSpeed(
    {
      partition: 0,
      owner: 1,
      hashes: { v: 'h1' },
      from: 0,
      offset: n,
      seals: [],
      deltas: entries.map((e) => ({ view: 'v', epoch: 0, key: e.key, window: e.window, state: 1 })),
    },
    add,
  )
  const keys = []
  for await (const k of store.realtimeKeys('v')) keys.push(k)
  assert.deepEqual(
    keys,
    entries.map((e) => e.key),
  )
})

// PostgreSQL text cannot hold U+0000; a key or a state carrying one must still be stored (a
// refused commit would wedge its partition), read back as it was, and keep LMDB's key order.
test('postgres: keys and states with U+0000 and U+0001 round-trip, in key order', async (t) => {
  const { open } = schemaStores(t)
  const store = await open()
  const keys = ['a', 'a\u0000', 'a\u0000b', 'a\u0001', 'a\u0001\u0001', 'a\u0002', 'b']
  const state = (k: string) => ({ items: [[`x\u0000${k}`, 1]], note: 'é\u0001' })
  const stage = await store.stageBatch('v')
  await stage.put([...keys].reverse().map((key) => ({ key, window: 0, state: state(key) })))
  const { version } = await stage.commit({
    codeHash: 'h1',
    horizon: [0],
    events: 0,
    groups: keys.length,
    startedAt: 0,
    completedAt: 1,
  })
  const scanned = []
  for await (const entry of store.scanBatch('v', version)) scanned.push(entry)
  assert.deepEqual(
    scanned,
    keys.map((key) => ({ key, window: 0, state: state(key) })),
  )
  assert.deepEqual(await store.readBatch('v', version, 'a\u0000'), [
    { key: 'a\u0000', window: 0, state: state('a\u0000') },
  ])

  await store.registerSpeedViews([{ view: 'v', codeHash: 'h1' }], 1)
  await store.claimPartition(0, 0)
  const deltas = keys.map((key) => ({ view: 'v', epoch: 0, key, window: 0, state: state(key) }))
  const keep = (_v: string, a: unknown) => a
  for (const from of [0, 1]) {
    await store.commitSpeed(
      { partition: 0, owner: 1, hashes: { v: 'h1' }, from, offset: from + 1, seals: [], deltas },
      keep,
    )
  }
  const listed = []
  for await (const key of store.realtimeKeys('v')) listed.push(key)
  assert.deepEqual(listed, keys)
  const snap = await store.snapshot('v', 'a\u0000b')
  assert.deepEqual(snap.batchEntries, [{ key: 'a\u0000b', window: 0, state: state('a\u0000b') }])
  assert.deepEqual(snap.realtime, [{ partition: 0, epoch: 0, window: 0, state: state('a\u0000b') }])
})

// Regression: with statistics not yet gathered on a young realtime table, the planner read a
// commit's stored states through the GC index (partition, epoch), scanning the whole partition
// once per delta (seconds per commit, growing with the table). The read must be a primary-key
// probe whatever the statistics say.
test('postgres: a commit reads stored states by primary key, even before the table is analyzed', async (t) => {
  const { schema, open } = schemaStores(t)
  const store = await open()
  await store.registerSpeedViews([{ view: 'v', codeHash: 'h1' }], 1)
  await store.claimPartition(0, 0)
  const deltas = Array.from({ length: 10_000 }, (_, i) => ({
    view: 'v',
    epoch: 0,
    key: `k${i}`,
    window: 0,
    state: 1,
  }))
  await store.commitSpeed(
    { partition: 0, owner: 1, hashes: { v: 'h1' }, from: 0, offset: 1, seals: [], deltas },
    add,
  )
  const plan = await withClient(async (c) => {
    await c.query(COMMIT_BEGIN)
    const { rows } = await c.query(`EXPLAIN ${readStoredSql(`"${schema}"`)}`, [0, ['v'], ['k1'], [0], [0]])
    await c.query('ROLLBACK')
    return rows.map((r) => r['QUERY PLAN']).join('\n')
  })
  assert.match(plan, /Index Scan using realtime_pkey/)
  assert.doesNotMatch(plan, /realtime_by_epoch|Seq Scan on realtime/)
})

// Regression: registration locked only the partitions already claimed. A partition first claimed
// while a view was being added (two workers starting at once with different configs) was neither
// waited for nor restarted: the view started there at 0, and a commit of the worker whose config
// lacks the view, landing meanwhile, still read the views as they were (its snapshot predates the
// insert), so it moved the offset past 5 events that then counted zero times for the view. (A
// trigger on the insert holds the registration open long enough to show it every time.)
test('postgres: a partition first claimed while a view is being added cannot pass events the view misses', async (t) => {
  const { schema, open } = schemaStores(t)
  const [adding, lacking] = [await open(), await open()]
  await adding.registerSpeedViews([{ view: 'other', codeHash: 'o1' }], 1)
  await withClient(async (client) => {
    await client.query(
      `CREATE FUNCTION "${schema}".slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$`,
    )
    await client.query(
      `CREATE TRIGGER slow BEFORE INSERT ON "${schema}".speed_views FOR EACH STATEMENT EXECUTE FUNCTION "${schema}".slow()`,
    )
  })
  const registering = adding.registerSpeedViews(
    [
      { view: 'hits', codeHash: 'h1' },
      { view: 'other', codeHash: 'o1' },
    ],
    1,
  )
  await new Promise((resolve) => setTimeout(resolve, 300))
  // The other worker, whose config has `other` only, claims partition 0 first and commits.
  const { owner } = await lacking.claimPartition(0, 0)
  const outcome = await lacking
    .commitSpeed(
      { partition: 0, owner, hashes: { other: 'o1' }, from: 0, offset: 5, deltas: [], seals: [] },
      add,
    )
    .then(
      () => 'landed',
      (error) => error.code,
    )
  const hits = (await registering).find((v) => v.view === 'hits')
  const offset = (await adding.speedPartition(0))?.offset
  // Exact: refused, or (landed) `hits` starts where that commit left the partition.
  if (outcome === 'landed') assert.equal(hits?.start[0], offset)
  else assert.deepEqual([outcome, offset], ['STRATA_ERR_CONFIG_CHANGED', 0])
})

// Rule 6 reads the served versions and the recorded views after it locks the partition it
// collects: a registration (which locks every partition first) that re-adds a view, held open
// here by a trigger, and a commit past another view's horizon queued behind it, both land before
// the collection reads anything. Read before that lock, the views lacked `v` (forgotten), the
// bound was hits' horizon 20, and v's epoch 10, which its served version at 10 reads, was deleted.
test('postgres: a collection waiting behind a registration bounds itself by the view it adds', async (t) => {
  const { schema, open } = schemaStores(t)
  const [store, worker, batch] = [await open(), await open(), await open()]
  const both = { hits: 'h1', v: 'v1' }
  const cell = (view: string, epoch: number, state: number) => ({ view, epoch, key: 'k', window: 0, state })
  await store.registerSpeedViews(
    [
      { view: 'hits', codeHash: 'h1' },
      { view: 'v', codeHash: 'v1' },
    ],
    1,
  )
  const { owner } = await store.claimPartition(0, 0)
  const commit = (from: number, offset: number, deltas: SpeedCommit['deltas'], seals: number[]) =>
    ({ partition: 0, owner, hashes: both, from, offset, deltas, seals }) satisfies SpeedCommit
  await store.commitSpeed(commit(0, 10, [cell('hits', 0, 1), cell('v', 0, 1)], []), add)
  assert.deepEqual(await store.alignHorizon([20], [0]), [20])
  assert.deepEqual(await store.alignHorizon([10], [0]), [10])
  for (const [view, horizon] of [
    ['v', 10],
    ['hits', 20],
  ] as const) {
    const stage = await store.stageBatch(view)
    await stage.commit({
      codeHash: both[view],
      horizon: [horizon],
      events: 0,
      groups: 0,
      startedAt: 0,
      completedAt: 1,
    })
  }
  // A worker whose config lacks v starts: v is forgotten.
  await store.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 1)
  await withClient(async (client) => {
    await client.query(
      `CREATE FUNCTION "${schema}".slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$`,
    )
    await client.query(
      `CREATE TRIGGER slow BEFORE INSERT ON "${schema}".speed_views FOR EACH STATEMENT EXECUTE FUNCTION "${schema}".slow()`,
    )
  })
  const order: string[] = []
  // A worker with v again starts (v restarts at 10, its served horizon), then folds [10, 25).
  const registering = store
    .registerSpeedViews(
      [
        { view: 'hits', codeHash: 'h1' },
        { view: 'v', codeHash: 'v1' },
      ],
      1,
    )
    .then((views) => {
      order.push('registered')
      return views
    })
  await new Promise((resolve) => setTimeout(resolve, 200))
  const committing = worker
    .commitSpeed(commit(10, 25, [cell('v', 10, 3), cell('v', 20, 2)], [10, 20]), add)
    .then(() => order.push('committed'))
  await new Promise((resolve) => setTimeout(resolve, 200))
  // A batch run of a config with hits only collects.
  const collecting = batch.collectEpochs(['hits']).then(() => order.push('collected'))
  const [views] = await Promise.all([registering, committing, collecting])
  assert.deepEqual(order, ['registered', 'committed', 'collected'])
  assert.deepEqual(views.find((v) => v.view === 'v')?.start, [10])
  // Collected below 10 (v's served horizon), not 20: v still reads both of its epochs.
  assert.deepEqual((await store.speedPartition(0))?.epochs, [10, 20])
  const snapshot = await store.snapshot('v', 'k')
  assert.deepEqual(snapshot.realtime.map((r) => [r.epoch, r.state]).sort(), [
    [10, 3],
    [20, 2],
  ])
})

test("postgres: a view's first tally written by several processes at once keeps every stop and error", async (t) => {
  const { schema, open } = schemaStores(t)
  const [first, second, third] = [await open(), await open(), await open()]
  await first.registerSpeedViews([{ view: 'hits', codeHash: 'h1' }], 3)
  const { owner } = await third.claimPartition(2, 0)
  const error = (partition: number, offset: number) => ({
    view: 'hits',
    partition,
    offset,
    message: 'TypeError: x',
  })
  await withClient(async (c) => {
    // A row for the view not yet committed: each writer below finds no row to lock (FOR UPDATE
    // locks none) and waits on the insert, so they all go on together once it is rolled back.
    await c.query('BEGIN')
    await c.query(
      `INSERT INTO "${schema}".view_errors (view, tally) VALUES ('hits', '{"count":0,"recent":[]}')`,
    )
    const writes = Promise.all([
      first.recordViewStop(error(0, 4)),
      second.recordViewStop(error(1, 7)),
      third.commitSpeed(
        {
          partition: 2,
          owner,
          hashes,
          from: 0,
          offset: 3,
          seals: [],
          deltas: [],
          errors: [error(2, 1)],
          offered: 3,
        },
        add,
      ),
    ])
    // pg_stat_activity is read once per transaction (this one stays open): the snapshot is
    // cleared before each poll, or a first reading taken before the writers wait is kept forever.
    const deadline = Date.now() + 60_000
    for (;;) {
      if (Date.now() > deadline) throw new Error('the three writers never waited on the insert')
      await c.query('SELECT pg_stat_clear_snapshot()')
      const { rows } = await c.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE wait_event_type = 'Lock' AND query LIKE $1 AND pid <> pg_backend_pid()`,
        [`%${schema}%view_errors%`],
      )
      if (rows[0].n >= 3) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await c.query('ROLLBACK')
    await writes
  })
  const tally = (await first.speedViewErrors()).get('hits')
  assert.equal(tally?.count, 1)
  assert.deepEqual(tally?.recent, [error(2, 1)])
  assert.deepEqual(tally?.stops, [error(0, 4), error(1, 7)])
})
