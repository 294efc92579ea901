// One batch task: fold every view over one partition of the master dataset, for the offsets
// below the horizon. Runs inside a worker thread (worker.ts) or inline; it shares nothing with
// other tasks, so partitions fold in parallel and are combined afterwards (monoids combine).
//
// Sealed segments are read through their packed encoding (a derived cache of the NDJSON,
// verified against the segment's checksum; see docs/master-dataset.md); the event is decoded
// once and offered to every view. Views must not mutate the events they are given.

import { listSegments } from '../archive/segment-list.ts'
import { openPackedSegment } from '../archive/segment-reader.ts'
import type { CompiledView } from '../core/compiled-view.ts'
import type { StrataEvent } from '../core/event.ts'
import type { ViewTable } from '../core/view-table.ts'

export interface PartitionFold {
  partition: number
  tables: ViewTable<unknown>[]
  /** Records read below the horizon (events offered to the views). */
  events: number
}

export interface FoldOptions {
  root: string
  partition: number
  /** Exclusive offset bound: the horizon of this partition. */
  to: number
  views: ReadonlyArray<CompiledView<any, any>>
  /** Called every few thousand records with the offsets covered so far. */
  onProgress?: (offsetsDone: number) => void
}

const PROGRESS_EVERY = 16_384

export async function foldPartition({
  root,
  partition,
  to,
  views,
  onProgress,
}: FoldOptions): Promise<PartitionFold> {
  const tables = views.map((v) => v.createTable() as ViewTable<unknown>)
  let events = 0
  let reported = 0
  for (const range of await listSegments(root, partition)) {
    if (range.start >= to) break
    const cursor = await openPackedSegment(root, partition, range)
    let done = 0
    while (cursor.next()) {
      if (cursor.offset >= to) break
      const event = cursor.event() as StrataEvent
      for (let v = 0; v < views.length; v++) views[v].fold(tables[v] as ViewTable<any>, event)
      events++
      if (++done === PROGRESS_EVERY) {
        done = 0
        const covered = cursor.offset + 1
        onProgress?.(covered - reported)
        reported = covered
      }
    }
    const covered = Math.min(range.end, to)
    onProgress?.(covered - reported)
    reported = covered
  }
  return { partition, tables, events }
}
