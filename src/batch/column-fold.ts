// The batch fold of one view over one packed segment by whole columns (issue 15 item 5), where
// the (segment, view) pair is fully recognised; everything else is folded event by event by the
// view's own fold() (partition-fold.ts), as before. Recognised, in one place each:
//
// - the view (columnFoldPlanOf, once per fold): its table a NumericTable (a monoid with a numeric
//   kernel: count, sum, min, max), its key a field of the event as it is (CompiledView.keyField),
//   every step a filter comparing one field with a string literal (core/view-fields.ts,
//   literalTestOf), and what the monoid reads of its input (monoid.ts, inputReadersOf) nothing
//   (count) or one field as it is (`(e) => e.bytes`);
// - the segment (foldColumns, per segment): one record layout, no raw record, and that layout
//   holding the key and every filter's field as strings, the time field and the monoid's field as
//   numbers (PackedCursor.columnOf), every time below the horizon a plain epoch integer (what the
//   view's time read takes as it is: compiled-view.ts, timeOf). The horizon itself is a record
//   count (PackedCursor.recordsBelow): the loop stops there exactly.
//
// Then the loop reads the typed arrays: each filter decided once per string of its dictionary (by
// id), the window from the time column as route() finds it (tumbling, hopping or none), the group
// by the key's id (NumericTable.addId, which takes the key's string from the dictionary only when
// it has not seen the id in that window). Exact: the recognised functions are pure and read one
// field each, so their answers follow from the column values the cursor would hand the view; the
// groups open in record order, windows in route()'s order, so the table is the one fold() makes.
// A recognised view cannot throw, so no error is recorded differently. A record id out of a
// dictionary throws the dictionary's SEGMENT_CORRUPT, which ends the fold as the view's read would.
import type { CompiledView } from '../core/compiled-view.ts'
import { maxEventTime } from '../core/event-time.ts'
import { inputReadersOf } from '../core/monoid.ts'
import { NumericTable } from '../core/numeric-table.ts'
import { keyFieldOf, type LiteralTest, literalTestOf } from '../core/view-fields.ts'
import type { FoldTable } from '../core/view-table.ts'
import { alignDown, GLOBAL_WINDOW_START } from '../core/window.ts'
import type { PackedCursor } from '../master-dataset/packed-cursor.ts'

/** What a view is folded from the columns by (see the top). */
export interface ColumnFoldPlan {
  filters: LiteralTest[]
  keyField: string
  timeField: string
  /** The one field the monoid's add reads of its input, or null when it reads none (count). */
  inputField: string | null
  /** null when not windowed. */
  size: number | null
  advance: number
}

/** The plan of a view whose segments may fold by columns, or null (the view folds by events). */
export function columnFoldPlanOf(view: CompiledView<any, any>, table: FoldTable): ColumnFoldPlan | null {
  if (!(table instanceof NumericTable) || view.keyField === null || view.fields === null) return null
  const keyFn = view.view.keyFn
  if (keyFn === undefined || keyFieldOf(keyFn) !== view.keyField) return null
  const filters: LiteralTest[] = []
  for (const step of view.view.steps) {
    const test = step.kind === 'filter' ? literalTestOf(step.fn) : null
    if (test === null) return null
    filters.push(test)
  }
  const readers = inputReadersOf(view.monoid)
  if (readers === undefined || readers.length > 1) return null
  const inputField = readers.length === 0 ? null : keyFieldOf(readers[0] as (input: any) => unknown)
  if (readers.length === 1 && inputField === null) return null
  return {
    filters,
    keyField: view.keyField,
    timeField: view.timeField,
    inputField,
    size: view.window === null ? null : view.window.size,
    advance: view.window?.advance ?? 0,
  }
}

const PASS = 1
const FAIL = 2

/**
 * Folds the first `records` records of the cursor's segment into `table` by columns, when the
 * segment is recognised for `plan` (see the top); returns false, having folded nothing, when not.
 */
export function foldColumns(
  plan: ColumnFoldPlan,
  table: NumericTable<unknown>,
  cursor: PackedCursor,
  records: number,
): boolean {
  const keys = cursor.columnOf(plan.keyField, 's') as Uint32Array | undefined
  const keyTable = cursor.dictionary(plan.keyField)
  if (keys === undefined || keyTable === undefined) return false
  const times =
    plan.size === null ? undefined : (cursor.columnOf(plan.timeField, 'n') as Float64Array | undefined)
  if (plan.size !== null) {
    if (times === undefined) return false
    for (let r = 0; r < records; r++) {
      const t = times[r] as number
      if (!(Number.isSafeInteger(t) && t >= 0 && t <= maxEventTime)) return false
    }
  }
  let values: Float64Array | undefined
  if (plan.inputField !== null) {
    values = cursor.columnOf(plan.inputField, 'n') as Float64Array | undefined
    if (values === undefined) return false
  }
  // Per filter: its column and its verdict per dictionary id (0: not decided yet).
  const filterIds: Uint32Array[] = []
  const verdicts: Uint8Array[] = []
  const tests: Array<{ get(id: number): string }> = []
  for (const test of plan.filters) {
    const ids = cursor.columnOf(test.field, 's') as Uint32Array | undefined
    const strings = cursor.dictionary(test.field)
    if (ids === undefined || strings === undefined) return false
    filterIds.push(ids)
    verdicts.push(new Uint8Array(strings.size))
    tests.push(strings)
  }
  const input: Record<string, number> = Object.create(null)
  const inputField = plan.inputField
  const size = plan.size ?? 0
  const advance = plan.advance
  const windowed = plan.size !== null
  let lastStart = Number.NaN
  let lastEnd = Number.NaN
  for (let r = 0; r < records; r++) {
    let kept = true
    for (let f = 0; f < filterIds.length; f++) {
      const id = (filterIds[f] as Uint32Array)[r] as number
      const decided = verdicts[f] as Uint8Array
      let verdict = decided[id]
      if (verdict === undefined || verdict === 0) {
        // An id outside the dictionary throws its SEGMENT_CORRUPT here, as the view's read would.
        const test = plan.filters[f] as LiteralTest
        verdict =
          ((tests[f] as { get(id: number): string }).get(id) === test.literal) === test.equal ? PASS : FAIL
        decided[id] = verdict
      }
      if (verdict === FAIL) {
        kept = false
        break
      }
    }
    if (!kept) continue
    const keyId = keys[r] as number
    if (values !== undefined) input[inputField as string] = values[r] as number
    if (!windowed) {
      table.addId(GLOBAL_WINDOW_START, keyId, keyTable, input)
      continue
    }
    const time = (times as Float64Array)[r] as number
    if (advance === size) {
      if (!(time >= lastStart && time < lastEnd)) {
        lastStart = alignDown(time, size)
        lastEnd = lastStart + size
      }
      table.addId(lastStart, keyId, keyTable, input)
      continue
    }
    for (let start = alignDown(time, advance); start > time - size; start -= advance)
      table.addId(start, keyId, keyTable, input)
  }
  return true
}
