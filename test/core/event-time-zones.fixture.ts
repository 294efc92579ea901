// Run as a child process with TZ set (event-time-zones.test.ts): folds the NDJSON lines given on
// stdin through the speed layer's path (the record check, then the compiled view) and through
// the batch layer's path (the master dataset, then foldPartition), and prints both tables.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { text } from 'node:stream/consumers'
import { foldPartition } from '../../src/batch/partition-fold.ts'
import { compileView } from '../../src/core/compiled-view.ts'
import { eventCheck, type StrataEvent } from '../../src/core/event.ts'
import type { ViewTable } from '../../src/core/view-table.ts'
import { count, hopping, tumbling, view } from '../../src/index.ts'
import { SegmentBuilder, SegmentStore } from '../../src/master-dataset/index.ts'

const views = [
  compileView(
    view('hourly')
      .key((e: any) => e.k)
      .window(tumbling('1h'))
      .aggregate(count()),
  ),
  compileView(
    view('daily')
      .key((e: any) => e.k)
      .window(tumbling('1d'))
      .aggregate(count()),
  ),
  compileView(
    view('hop')
      .key((e: any) => e.k)
      .window(hopping({ size: '1h', advance: '15m' }))
      .aggregate(count()),
  ),
]
const dump = (tables: ViewTable<unknown>[]) =>
  tables.map((t) => [...t.entries()].map(([k, s, v]) => `${k}@${s}=${v}`).sort())

const lines = (await text(process.stdin)).split('\n').filter((l) => l !== '')
const check = eventCheck('ts')
const speed = views.map((v) => v.createTable() as ViewTable<unknown>)
const builder = new SegmentBuilder()
let offset = 0
const rejected: string[] = []
for (const line of lines) {
  const checked = check(Buffer.from(line))
  if ('reason' in checked) {
    rejected.push(line)
  } else {
    const event = checked.event as StrataEvent
    for (let v = 0; v < views.length; v++) views[v].fold(speed[v] as ViewTable<any>, event)
    builder.add({ offset, timestamp: 0, key: null, value: Buffer.from(line) }, event)
  }
  offset++
}
const dir = await mkdtemp(join(tmpdir(), 'strata-tz-'))
try {
  const segments = await SegmentStore.open(dir)
  await segments.writeSegment(0, { start: 0, end: offset }, builder.data(), builder.packer())
  const batch = await foldPartition({ root: dir, partition: 0, to: offset, views })
  process.stdout.write(
    JSON.stringify({
      tz: process.env.TZ,
      // Minutes behind UTC on the first test day: proves the child really ran in that zone.
      offset: new Date(Date.UTC(2026, 0, 1)).getTimezoneOffset(),
      speed: dump(speed),
      batch: dump(batch.tables),
      rejected,
    }),
  )
} finally {
  await rm(dir, { recursive: true, force: true })
}
