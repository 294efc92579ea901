// Shared by the speed layer's tests: a config file with views of every kind, a real LMDB store in
// a temp folder, an in-memory log, a plain reference fold, and the master dataset + batch run.
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { pathToFileURL } from 'node:url'
import { runBatch } from '../../src/batch/batch-run.ts'
import type { CompiledView } from '../../src/core/compiled-view.ts'
import { compileViews, type StrataConfig } from '../../src/core/config.ts'
import { loadConfig } from '../../src/core/config-loader.ts'
import type { StrataEvent } from '../../src/core/event.ts'
import type { RecordSpans } from '../../src/log/partition-source.ts'
import { SegmentBuilder, SegmentStore } from '../../src/master-dataset/index.ts'
import { queryView } from '../../src/serving/query.ts'
import { type FoldThread, FoldThreads } from '../../src/speed/fold-threads.ts'
import type { SpeedBatch } from '../../src/speed/partition-folder.ts'
import { openLmdbStore } from '../../src/store/lmdb-store.ts'
import type { Store } from '../../src/store/store.ts'
import { deferrer } from '../helpers/cleanup.ts'

export const HOUR = 3_600_000
export const BASE = Date.UTC(2025, 10, 24)
export const URLS = ['/a', '/b', '/c', '/d']
export const TYPES = ['page_view', 'click']

const index = pathToFileURL(join(import.meta.dirname, '../../src/config.ts')).href

/** Views of every shape: windowed count and distinct count, an unwindowed exact sum and top-k. */
export function configSource(topic: string, partitions: number): string {
  return `import { count, defineConfig, distinctCount, sum, topK, tumbling, view } from '${index}'
export default defineConfig({
  source: { topic: '${topic}', partitions: ${partitions} },
  views: [
    view('hits').filter((e) => e.type === 'page_view').key((e) => e.url).window(tumbling('1h')).aggregate(count()),
    view('users').key((e) => e.url).window(tumbling('1d')).aggregate(distinctCount((e) => e.user)),
    view('amount').key((e) => e.type).aggregate(sum((e) => e.n)),
    view('top').key(() => 'all').aggregate(topK(10, (e) => e.url)),
  ],
})
`
}

/** Every key the views above can have. */
export const KEYS: Record<string, string[]> = { hits: URLS, users: URLS, amount: TYPES, top: ['all'] }

export interface SpeedFixture {
  dir: string
  root: string
  configPath: string
  config: StrataConfig
  views: CompiledView<any, any>[]
  store: Store
  storePath: string
}

/** A config file (batch worker threads load it), the config, and an LMDB store, in a temp folder. */
export async function speedFixture(t: TestContext, partitions = 2, topic = 'events'): Promise<SpeedFixture> {
  const defer = deferrer(t)
  const dir = await mkdtemp(join(tmpdir(), 'strata-speed-'))
  const configPath = join(dir, 'strata.config.ts')
  await writeFile(configPath, configSource(topic, partitions))
  const config = await loadConfig(configPath)
  const storePath = join(dir, 'store')
  const store = await openLmdbStore(storePath)
  defer(async () => {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  })
  return { dir, root: join(dir, 'master'), configPath, config, views: compileViews(config), store, storePath }
}

/** The fixture's one fold thread (every partition folds there), ready; closed when `t` ends. */
export async function oneFoldThread(t: TestContext, fixture: SpeedFixture): Promise<FoldThread> {
  const threads = new FoldThreads(fixture.configPath, fixture.views, 1)
  deferrer(t)(() => threads.close())
  await threads.ready()
  return threads.of(0)
}

/** A record of the log, and whether the test made it a valid event (the reference's own truth). */
export interface TestRecord {
  offset: number
  value: Buffer
  event: StrataEvent | null
}

export function validRecord(offset: number, event: StrataEvent): TestRecord {
  return { offset, value: Buffer.from(JSON.stringify(event)), event }
}

export function invalidRecord(offset: number, text: string): TestRecord {
  return { offset, value: Buffer.from(text), event: null }
}

export function pageView(i: number, hours = 5): StrataEvent {
  return {
    type: TYPES[i % 3 === 0 ? 1 : 0],
    url: URLS[(i * 7) % URLS.length],
    user: `u${(i * 13) % 5}`,
    n: (i % 4) + 0.25,
    ts: BASE + ((i * 2_654_435_761) % (hours * HOUR)),
  }
}

/** The log of one partition, in memory: records with (possibly) gaps between offsets. */
export class MemoryPartition {
  records: TestRecord[] = []
  end = 0

  append(events: Array<StrataEvent | string>, gapAfter = false): void {
    for (const e of events) {
      this.records.push(typeof e === 'string' ? invalidRecord(this.end, e) : validRecord(this.end, e))
      this.end++
    }
    // A transaction marker: an offset that carries no record.
    if (gapAfter) this.end++
  }

  /** Up to `max` records from `from`, with the offset a reader resumes at. */
  read(from: number, max = Number.POSITIVE_INFINITY): SpeedBatch {
    const rest = this.records.filter((r) => r.offset >= from)
    const records = rest.slice(0, max)
    const nextOffset = records.length < rest.length ? rest[records.length].offset : this.end
    return { records, nextOffset: Math.max(nextOffset, from) }
  }
}

/**
 * The batch with its records as spans too, as a Kafka source decodes them for fold threads
 * (log/kafka/record-spans.ts decodeRecordSpans): the values laid out in `parts` runs (a new run every
 * few records, some bytes between values in a run), so a folder copies from the spans.
 */
export function withSpans(batch: SpeedBatch, parts = 2, owned = false): SpeedBatch {
  const { records } = batch
  const n = records.length
  const spans: RecordSpans = {
    count: n,
    offsets: new Float64Array(n),
    starts: new Uint32Array(n),
    ends: new Uint32Array(n),
    parts: [],
    bytes: 0,
  }
  const per = Math.max(1, Math.ceil(n / parts))
  const out: Uint8Array[] = []
  for (let from = 0; from < n; from += per) {
    const chunk: Buffer[] = []
    let at = 0
    for (let i = from; i < Math.min(n, from + per); i++) {
      const value = records[i]!.value
      // A record header's worth of other bytes before each value.
      const gap = Buffer.from([0xff, 0x80, i & 0xff])
      chunk.push(gap, value)
      at += gap.length
      spans.offsets[i] = records[i]!.offset
      spans.starts[i] = spans.bytes + at
      at += value.length
      spans.ends[i] = spans.bytes + at
    }
    const run = Buffer.concat(chunk)
    // The run begins at the first value: the bytes before it are not the batch's.
    out.push(run.subarray(3))
    for (let i = from; i < Math.min(n, from + per); i++) {
      spans.starts[i] -= 3
      spans.ends[i] -= 3
    }
    spans.bytes += run.length - 3
  }
  spans.parts = out
  if (!owned || out.length !== 1) return { ...batch, spans }
  // As a Kafka fetch's record set copied out for this batch alone (RecordSpans.owned): the one
  // part in a buffer of its own, which the folder takes (transfers) instead of copying; the
  // records can no longer be read once it is gone, as the fetcher's batch.
  const own = new Uint8Array(new ArrayBuffer(out[0]!.length + 5), 2, out[0]!.length)
  own.set(out[0]!)
  spans.parts = [own]
  spans.owned = own.buffer as ArrayBuffer
  return {
    ...batch,
    spans,
    get records() {
      if ((own.buffer as ArrayBuffer).detached)
        throw new Error('records read after their buffer was handed on')
      return records
    },
  }
}

/** The reference: each view folded plainly over the valid events below `asOf`, one table per view. */
export function referenceAnswer(
  view: CompiledView<any, any>,
  partitions: ReadonlyArray<readonly TestRecord[]>,
  asOf: readonly number[],
  key: string,
): unknown {
  const table = view.createTable()
  for (const [p, records] of partitions.entries()) {
    for (const r of records) if (r.event !== null && r.offset < (asOf[p] ?? 0)) view.fold(table, r.event)
  }
  const windows = table.windowsOf(key)
  if (view.window === null) return view.result(windows[0]?.[1] ?? view.monoid.zero())
  return view.windowResults(windows)
}

/** Every (view, key) answer equals the reference at its asOf; returns the asOf vectors seen. */
export async function assertExact(
  store: Store,
  views: readonly CompiledView<any, any>[],
  partitions: ReadonlyArray<readonly TestRecord[]>,
  context = '',
): Promise<number[][]> {
  const seen: number[][] = []
  for (const view of views) {
    for (const key of KEYS[view.name]) {
      const answer = await queryView(store, view, key)
      seen.push(answer.asOf)
      const got = view.window === null ? answer.value : answer.windows
      assert.deepEqual(
        got,
        referenceAnswer(view, partitions, answer.asOf, key),
        `${view.name}/${key} ${context}`,
      )
    }
  }
  return seen
}

/** Appends [from, to) of a partition to the master dataset as the archiver would (valid events only). */
export async function archive(
  root: string,
  partition: number,
  records: readonly TestRecord[],
  from: number,
  to: number,
) {
  const segments = await SegmentStore.open(root)
  const builder = new SegmentBuilder()
  for (const r of records) {
    if (r.offset >= from && r.offset < to && r.event !== null) {
      builder.add({ offset: r.offset, timestamp: r.event.ts as number, key: null, value: r.value }, r.event)
    }
  }
  await segments.writeSegment(partition, { start: from, end: to }, builder.data(), builder.packer())
}

/** One batch run over the master dataset (one worker thread). */
export function batch(fixture: SpeedFixture, horizon?: number[]) {
  return runBatch({
    config: fixture.config,
    configPath: fixture.configPath,
    root: fixture.root,
    store: fixture.store,
    threads: 1,
    ...(horizon ? { horizon } : {}),
  })
}

/** Polls until `ready()` holds; fails after a generous deadline (a wait, not a timing claim). */
export async function waitFor(ready: () => boolean | Promise<boolean>, what: string, deadlineMs = 60_000) {
  const start = Date.now()
  while (!(await ready())) {
    if (Date.now() - start > deadlineMs) throw new Error(`Gave up waiting for: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Sorts appended records into per-partition lists by their positions, in offset order. */
export function byPartition(
  partitions: number,
  values: ReadonlyArray<StrataEvent | string>,
  positions: ReadonlyArray<{ partition: number; offset: number }>,
  into: TestRecord[][] = Array.from({ length: partitions }, () => []),
): TestRecord[][] {
  values.forEach((v, i) => {
    const { partition, offset } = positions[i]
    into[partition].push(typeof v === 'string' ? invalidRecord(offset, v) : validRecord(offset, v))
  })
  for (const list of into) list.sort((a, b) => a.offset - b.offset)
  return into
}
