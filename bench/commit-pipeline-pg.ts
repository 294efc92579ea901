// The speed layer's commit pipeline on PostgreSQL (a pool of connections, which may run a commit
// before the one sent before it): one partition folded in a fold thread, 50 records every 5 ms
// (10,000 events/s), each batch caught up, on a fresh schema of the test database (STRATA_TEST_PG,
// default postgres://postgres@127.0.0.1:5432/test). `align`: a batch run's horizon aligned every
// 30-80 ms somewhere in the next 800 offsets (required boundaries, often inside windows in
// flight). `jitter`: each commit waits up to that many ms before it reaches the store (more
// reordering). Prints the commit transactions sent, landed and refused (by code), then checks the
// answers exact and, per epoch, the stored states of 'amount' against the events of its offsets.
//
//   node bench/commit-pipeline-pg.ts <checkout> [jitter ms, 0] [seconds, 4] [align]
//
// Review of session 15: about every other commit refused before the fix of 3c24477 (a commit whose
// predecessor waits is sent after it), ~7% after, ~1.5% on main.
import './lib/help.ts' // --help: the comment above, then exit
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

const root = process.argv[2] ?? join(import.meta.dirname, '..')
const jitter = Number(process.argv[3] ?? '0')
const seconds = Number(process.argv[4] ?? '5')
const { speedFixture, MemoryPartition, pageView, assertExact } = await import(`${root}/test/speed/helpers.ts`)
const { FoldThreads } = await import(`${root}/src/speed/fold-threads.ts`)
const { claimSpeedPartition } = await import(`${root}/src/speed/claim.ts`)
const { openPostgresStore } = await import(`${root}/src/store/postgres/index.ts`)
const { testUrl, newSchemaName, dropSchema } = await import(`${root}/test/store/postgres-helpers.ts`)
const cleanups: Array<() => Promise<void>> = []
const fixture = await speedFixture({ after: (fn: () => Promise<void>) => cleanups.push(fn) }, 1)
const schema = newSchemaName()
const pgStore = await openPostgresStore(testUrl, { schema })
try {
  await pgStore.registerSpeedViews(
    fixture.views.map((v: any) => ({ view: v.name, codeHash: v.codeHash })),
    1,
  )
  const threads = new FoldThreads(fixture.configPath, fixture.views, 1)
  await threads.ready()
  let doneFlag = false
  let calls = 0,
    landed = 0
  const msgs: string[] = []
  const refused: Record<string, number> = {}
  const commitSpeed = async (commit: any, combine: unknown) => {
    calls++
    if (jitter > 0) await sleep(Math.random() * jitter)
    try {
      await pgStore.commitSpeed(commit, combine)
      landed++
    } catch (e: any) {
      refused[e.code] = (refused[e.code] ?? 0) + 1
      if (msgs.length < 6) msgs.push(`${commit.from}->${commit.offset} ${e.message.slice(0, 140)}`)
      throw e
    }
  }
  const store = new Proxy(pgStore, {
    get: (t: any, k) =>
      k === 'commitSpeed' ? commitSpeed : typeof t[k] === 'function' ? t[k].bind(t) : t[k],
  })
  const errors: string[] = []
  const folder = await claimSpeedPartition({
    store,
    views: fixture.views,
    partition: 0,
    partitions: 1,
    timeField: 'ts',
    thread: threads.of(0),
    onError: (e: any) => errors.push(`${e.code} ${e.message}`),
  } as any)
  const batches = Math.round((seconds * 1000) / 5)
  const log = new MemoryPartition()
  log.append(Array.from({ length: batches * 50 }, (_, i) => pageView(i)))
  const align = process.argv[5] === 'align'
  let aligned = 0
  const aligner = (async () => {
    while (align && !doneFlag) {
      await sleep(30 + Math.random() * 50)
      const st = await pgStore.speedPartition(0)
      const h = (st?.offset ?? 0) + Math.floor(Math.random() * 800)
      await pgStore.alignHorizon([h], [0])
      aligned++
    }
  })()
  let next = performance.now()
  const t0 = performance.now()
  for (let b = 0; b < batches; b++) {
    const from = b * 50
    await folder.take({ ...log.read(from, 50), highWatermark: from + 50 })
    next += 5
    await sleep(Math.max(0, next - performance.now()))
  }
  doneFlag = true
  await aligner
  await folder.flush()
  const ms = performance.now() - t0
  const stats = folder.stats()
  folder.stop('done')
  await threads.close()
  const state = await pgStore.speedPartition(0)
  await assertExact(pgStore, fixture.views, [log.records], 'pg stress')
  console.log(
    `${root} jitter ${jitter}: ${batches} batches in ${ms.toFixed(0)} ms, commit calls ${calls}, landed ${landed}, refused ${JSON.stringify(refused)}, stats commits ${stats.commits} stopped ${stats.stopped}, stored offset ${state?.offset}/${log.end}, errors ${errors.length} ${errors.slice(0, 3).join(' | ')}; EXACT`,
  )
  console.log(msgs.join('\n'))
  // Per epoch: the stored states of 'amount' equal the events of that epoch's offsets.
  const amount = fixture.views.find((v: any) => v.name === 'amount')
  const epochs = [...state!.epochs, log.end]
  let checked = 0
  for (const key of ['page_view', 'click']) {
    const snap = await pgStore.snapshot('amount', key)
    for (let i = 0; i + 1 < epochs.length; i++) {
      const rows = snap.realtime.filter((r: any) => r.partition === 0 && r.epoch === epochs[i])
      let got = amount.monoid.zero()
      for (const r of rows) got = amount.monoid.combine(got, amount.monoid.decode(r.state))
      const table = amount.createTable()
      for (const r of log.records)
        if (r.offset >= epochs[i] && r.offset < epochs[i + 1]) amount.fold(table, r.event)
      const want = table.windowsOf(key)[0]?.[1] ?? amount.monoid.zero()
      if (JSON.stringify(amount.result(got)) !== JSON.stringify(amount.result(want)))
        throw new Error(
          `epoch ${epochs[i]} key ${key}: ${JSON.stringify(amount.result(got))} != ${JSON.stringify(amount.result(want))}`,
        )
      checked++
    }
    const stray = snap.realtime.filter((r: any) => !state!.epochs.includes(r.epoch))
    if (stray.length) throw new Error(`rows in no epoch: ${JSON.stringify(stray.map((r: any) => r.epoch))}`)
  }
  console.log(
    `epochs ${state!.epochs.length}, per-epoch checks ${checked} OK, aligned ${aligned}, required left ${JSON.stringify(state!.required)}, rebuilds ${stats.rebuilds}, retries ${stats.retries}`,
  )
} finally {
  await pgStore.close()
  await dropSchema(schema)
  for (const c of cleanups.reverse()) await c()
}
