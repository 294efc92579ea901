// One batch task: fold every view over one partition of the master dataset, for the offsets
// below the horizon. Runs inside a worker thread (worker.ts) or inline; it shares nothing with
// other tasks, so partitions fold in parallel and are combined afterwards (monoids combine).
//
// Sealed segments are read through their packed encoding (a derived, columnar cache of the
// NDJSON, verified against the segment's checksum; see docs/master-dataset.md), one after another
// into one reused buffer; the event is decoded once and offered to every view. When every view's
// fields are known (core/view-fields.ts), only those fields are read and decoded, into one object
// per record layout refilled for each record: the views see the same values in every field they
// read, and provably neither keep nor change the object. Views must not mutate the events they
// are given.
//
// Views whose monoid has a numeric kernel (count, sum, min, max) fold into a NumericTable (states
// in a Float64Array, core/numeric-table.ts), handed over as a ViewTable at the end; the others
// fold into a ViewTable directly. When such a view's key is a field of the event (keyField), the
// fold also gives it the id of that field's string in the segment's dictionary, so the table
// finds the group by id rather than by a map lookup of the string.
//
// A (segment, view) pair recognised whole (column-fold.ts) is folded over the segment's columns
// first, before the walk by events; the walk then offers each event only to the other views, and
// is skipped when there are none.
//
// A view that throws skips the event and has the error recorded (core/view-errors.ts). The
// try/catch sits outside the loop over events, not around each view call: after a throw, the
// views after the one that threw are offered the same event, and the loop goes on.

import type { CompiledView } from '../core/compiled-view.ts'
import { ErrorCodes, isStrataError } from '../core/errors.ts'
import type { StrataEvent } from '../core/event.ts'
import { numericKernelOf } from '../core/monoid.ts'
import { NumericTable } from '../core/numeric-table.ts'
import { RECENT_ERRORS, recordThrown, type ViewFoldError } from '../core/view-errors.ts'
import { unionOfFields } from '../core/view-fields.ts'
import type { FoldTable, ViewTable } from '../core/view-table.ts'
import { listSegments, PackedSegmentReader } from '../master-dataset/index.ts'
import { columnFoldPlanOf, foldColumns } from './column-fold.ts'

export interface PartitionFold {
  partition: number
  tables: ViewTable<unknown>[]
  /** Records read below the horizon (events offered to the views). */
  events: number
  /** Per view: the events its code threw on (skipped by it, core/view-errors.ts), newest kept. */
  errors: FoldErrors[]
}

export interface FoldErrors {
  count: number
  recent: ViewFoldError[]
}

/** One view's errors over several partitions, in partition order: the total and the newest. */
export function combineErrors(parts: ReadonlyArray<FoldErrors | undefined>): FoldErrors {
  const recent = parts.flatMap((p) => p?.recent ?? [])
  return {
    count: parts.reduce((n, p) => n + (p?.count ?? 0), 0),
    recent: recent.slice(-RECENT_ERRORS),
  }
}

export interface FoldOptions {
  root: string
  partition: number
  /** Exclusive offset bound: the horizon of this partition. */
  to: number
  views: ReadonlyArray<CompiledView<any, any>>
  /**
   * Called with the offsets covered since the last call: after each segment, and within a
   * segment at most every `progressIntervalMs`.
   */
  onProgress?: (offsetsDone: number) => void
  /** Default 100 ms: a progress bar needs no more, and each report may cross a thread. */
  progressIntervalMs?: number
  /**
   * Default true: recognised (segment, view) pairs fold by columns (column-fold.ts). false folds
   * every event through the views' fold(): what the tests and benches compare it with.
   */
  byColumns?: boolean
}

// The clock is read once per so many records, so progress costs nothing per event: at most this
// many, as many as fold in a quarter of the progress interval. A view slow per event (milliseconds)
// brings it down to one, so the thread still reports every interval: a batch run's thread silent
// for a minute is called stalled and ended at close as stuck (worker-pool.ts, silentFoldTasks),
// which a slow view that advances must never be (at 65,536 records between reads, 1 ms an event
// was over a minute of silence).
const CLOCK_EVERY = 65_536

export async function foldPartition(options: FoldOptions): Promise<PartitionFold> {
  const fold = await foldPartitionTables(options)
  return { ...fold, tables: fold.tables.map((t) => (t instanceof NumericTable ? t.toViewTable() : t)) }
}

/** A partition's fold as foldPartition gives it, but a view with a numeric kernel in its NumericTable. */
export type PartitionTables = Omit<PartitionFold, 'tables'> & {
  tables: Array<ViewTable<unknown> | NumericTable<unknown>>
}

export async function foldPartitionTables({
  root,
  partition,
  to,
  views,
  onProgress,
  progressIntervalMs = 100,
  byColumns: columnsWanted = true,
}: FoldOptions): Promise<PartitionTables> {
  const tables = views.map(foldTableFor)
  // Per view, its index in idFields (the key fields whose ids the cursor gives), or -1.
  const idFields: string[] = []
  const idOf = views.map((view, i) => {
    const field = view.keyField
    if (field === null || !(tables[i] instanceof NumericTable)) return -1
    if (!idFields.includes(field)) idFields.push(field)
    return idFields.indexOf(field)
  })
  const plans = views.map((view, i) =>
    columnsWanted ? columnFoldPlanOf(view, tables[i] as FoldTable) : null,
  )
  // Per view, whether the segment being folded was folded by its columns.
  const byColumns = views.map(() => false)
  const reader = new PackedSegmentReader(root, partition)
  const errors: FoldErrors[] = views.map(() => ({ count: 0, recent: [] }))
  let erring = 0
  const record = (error: ViewFoldError) => {
    const tally = errors[erring]!
    tally.count++
    tally.recent.push(error)
    if (tally.recent.length > RECENT_ERRORS) tally.recent.shift()
  }
  const fields = unionOfFields(views.map((v) => v.fields))
  const count = views.length
  let events = 0
  let reported = 0
  let reportedAt = performance.now()
  let clockEvery = 1
  let clockAt = reportedAt
  try {
    for (const range of await listSegments(root, partition)) {
      if (range.start >= to) break
      // Views whose fields are known neither keep nor change an event (core/view-fields.ts).
      const cursor = await reader.open(range, fields, fields !== null)
      cursor.useStringIds(idFields)
      for (const [i, k] of idOf.entries()) {
        if (k >= 0) (tables[i] as NumericTable<unknown>).newKeyIds(cursor.dictionary(idFields[k]!)?.size ?? 0)
      }
      const below = cursor.recordsBelow(to)
      let byEvents = count
      for (const [i, plan] of plans.entries()) {
        byColumns[i] = plan !== null && foldColumns(plan, tables[i] as NumericTable<unknown>, cursor, below)
        if (byColumns[i]) byEvents--
      }
      if (byEvents === 0) {
        // Every view settled by the columns: no walk by events.
        events += below
        const covered = Math.min(range.end, to)
        onProgress?.(covered - reported)
        reported = covered
        reportedAt = performance.now()
        clockAt = reportedAt
        continue
      }
      let untilClock = clockEvery
      // The event being folded and the view it is at; v = -1 outside the views' code, so that
      // what the cursor or the progress callback throws is not taken for a view's error.
      let event: StrataEvent | undefined
      let v = -1
      let resume = false
      for (;;) {
        try {
          if (resume) {
            resume = false
            for (v = erring + 1; v < count; v++)
              if (!byColumns[v])
                views[v].fold(tables[v], event as StrataEvent, idOf[v] < 0 ? -1 : cursor.stringId(idOf[v]))
            v = -1
            events++
          }
          while (cursor.next()) {
            if (cursor.offset >= to) break
            event = cursor.event() as StrataEvent
            for (v = 0; v < count; v++) {
              if (byColumns[v]) continue
              const k = idOf[v]
              views[v].fold(tables[v], event, k < 0 ? -1 : cursor.stringId(k))
            }
            v = -1
            events++
            if (--untilClock === 0) {
              const now = performance.now()
              const took = now - clockAt
              clockAt = now
              if (took < progressIntervalMs / 4) clockEvery = Math.min(CLOCK_EVERY, clockEvery * 2)
              else if (took > progressIntervalMs)
                clockEvery = Math.max(1, Math.floor((clockEvery * progressIntervalMs) / 4 / took))
              untilClock = clockEvery
              if (onProgress !== undefined && now - reportedAt >= progressIntervalMs) {
                const covered = cursor.offset + 1
                onProgress(covered - reported)
                reported = covered
                reportedAt = now
              }
            }
          }
          break
        } catch (thrown) {
          // A reusing cursor's object decodes a field when a view reads it (packed-cursor.ts,
          // lazyViewFor): the cursor's refusal of a damaged record is then thrown inside a view's
          // code, and must end the fold as it does when event() throws it, not count as the view's.
          if (v < 0 || (isStrataError(thrown) && thrown.code === ErrorCodes.SEGMENT_CORRUPT)) throw thrown
          erring = v
          v = -1
          recordThrown(views[erring], partition, cursor.offset, thrown, record)
          resume = true
        }
      }
      // A damaged field the views read and caught themselves (packed-cursor.ts, refusal).
      const refusal = cursor.refusal()
      if (refusal !== undefined) throw refusal
      const covered = Math.min(range.end, to)
      onProgress?.(covered - reported)
      reported = covered
      reportedAt = performance.now()
      clockAt = reportedAt
    }
  } finally {
    reader.release()
  }
  return {
    partition,
    tables: tables as Array<ViewTable<unknown> | NumericTable<unknown>>,
    events,
    errors,
  }
}

function foldTableFor(view: CompiledView<any, any>): FoldTable {
  const kernel = numericKernelOf(view.monoid)
  return kernel === undefined ? view.createTable() : new NumericTable(view.monoid, kernel)
}
