// The batch fold of a view of the commonest shape, from the packed segment's columns rather than
// through the view's functions: filters that compare a field with a string literal
// (`(e) => e.type === 'page_view'`), the key a field as it is (`(e) => e.url`), windows by the
// event's time, and a monoid with a numeric kernel (count, sum, min, max: a NumericTable). For such
// a view the fold decides each filter once per string of the segment's dictionary (by its id), finds
// the group by the key's id without the key's string (NumericTable.addId), and reads the time from
// its Float64Array: no call into the view's code per event.
//
// Exact: those functions are pure and read one field each (core/view-fields.ts, literalTestOf and
// keyFieldOf), so their answers follow from the field values the cursor gives by id and by number.
// A filter's field that is not a string in a record (missing, a number, true, JSON text) is not
// the literal, a well-formed string (literalTestOf). A record for which the columns do not settle
// it (a raw record, a key that is not a string, a time that is not an epoch-ms integer the view
// reads as it is) is folded by the view's own fold(), which gives it the answer (or the error) it
// always had. The monoid's add still gets the event, for a sum's or a min's own field.
import type { CompiledView } from '../core/compiled-view.ts'
import type { StrataEvent } from '../core/event.ts'
import { maxEventTime } from '../core/event-time.ts'
import { NumericTable } from '../core/numeric-table.ts'
import { keyFieldOf, type LiteralTest, literalTestOf } from '../core/view-fields.ts'
import type { FoldTable } from '../core/view-table.ts'
import { alignDown, GLOBAL_WINDOW_START } from '../core/window.ts'
import type { PackedCursor, StringTable } from '../master-dataset/packed-cursor.ts'

/** What a view folds from the columns by: its literal filters, key field and time field. */
export interface ColumnarPlan {
  filters: LiteralTest[]
  keyField: string
  timeField: string
}

/** The plan of a view the columnar fold can take (see the top), or null. */
export function columnarPlanOf(view: CompiledView<any, any>, table: FoldTable): ColumnarPlan | null {
  if (!(table instanceof NumericTable) || view.keyField === null || view.fields === null) return null
  const filters: LiteralTest[] = []
  for (const step of view.view.steps) {
    const test = step.kind === 'filter' ? literalTestOf(step.fn) : null
    if (test === null) return null
    filters.push(test)
  }
  const keyFn = view.view.keyFn
  if (keyFn === undefined || keyFieldOf(keyFn) !== view.keyField) return null
  return { filters, keyField: view.keyField, timeField: view.timeField }
}

/** Unknown, passes, fails: a filter's verdict per dictionary id. */
const PASS = 1
const FAIL = 2

/**
 * One view's columnar fold over the segments of a partition. The cursor gives string ids for
 * `stringFields` and numbers for `numberFields` (the indexes given here are into those lists).
 */
export class ColumnarFold {
  readonly #view: CompiledView<any, any>
  readonly #table: NumericTable<unknown>
  readonly #filters: LiteralTest[]
  /** Per filter, its field's index in the cursor's string-id fields. */
  readonly #filterIds: number[]
  readonly #keyId: number
  readonly #timeNumber: number
  readonly #windowed: boolean
  readonly #size: number
  readonly #advance: number
  #lastStart = Number.NaN
  #lastEnd = Number.NaN
  #cursor: PackedCursor | undefined
  #keys: StringTable | undefined
  /** Per filter, its dictionary and its verdicts by id for the current segment. */
  #tables: Array<StringTable | undefined> = []
  #verdicts: Uint8Array[] = []

  constructor(
    view: CompiledView<any, any>,
    table: NumericTable<unknown>,
    plan: ColumnarPlan,
    stringFields: readonly string[],
    numberFields: readonly string[],
  ) {
    this.#view = view
    this.#table = table
    this.#filters = plan.filters
    this.#filterIds = plan.filters.map((f) => stringFields.indexOf(f.field))
    this.#keyId = stringFields.indexOf(plan.keyField)
    this.#timeNumber = numberFields.indexOf(plan.timeField)
    this.#windowed = view.window !== null
    this.#size = view.window?.size ?? 0
    this.#advance = view.window?.advance ?? 0
  }

  /** The segment `cursor` reads is folded next. */
  segment(cursor: PackedCursor): void {
    this.#cursor = cursor
    this.#keys = cursor.dictionary(this.#view.keyField as string)
    this.#tables = this.#filters.map((f) => cursor.dictionary(f.field))
    this.#verdicts = this.#tables.map((t) => new Uint8Array(t?.size ?? 0))
  }

  /** Folds the cursor's current record, `event` its event (as the views are given it). */
  fold(event: StrataEvent): void {
    const cursor = this.#cursor as PackedCursor
    if (cursor.raw) {
      this.#byView(event, -1)
      return
    }
    const filters = this.#filters
    for (let f = 0; f < filters.length; f++) {
      const id = cursor.stringId(this.#filterIds[f] as number)
      const test = filters[f] as LiteralTest
      if (id < 0) {
        if (test.equal) return
        continue
      }
      let verdict = (this.#verdicts[f] as Uint8Array)[id]
      if (verdict === undefined || verdict === 0) {
        // An id outside the dictionary throws its SEGMENT_CORRUPT here, as the view's read would.
        const value = (this.#tables[f] as StringTable).get(id)
        verdict = (value === test.literal) === test.equal ? PASS : FAIL
        ;(this.#verdicts[f] as Uint8Array)[id] = verdict
      }
      if (verdict === FAIL) return
    }
    const keyId = cursor.stringId(this.#keyId)
    if (keyId < 0) {
      this.#byView(event, keyId)
      return
    }
    if (!this.#windowed) {
      this.#table.addId(GLOBAL_WINDOW_START, keyId, this.#keys as StringTable, event)
      return
    }
    const time = cursor.number(this.#timeNumber)
    // What the view's own time read takes as it is (compiled-view.ts, timeOf); else the view does.
    if (!(Number.isSafeInteger(time) && time >= 0 && time <= maxEventTime)) {
      this.#byView(event, keyId)
      return
    }
    const size = this.#size
    const advance = this.#advance
    if (advance === size) {
      if (!(time >= this.#lastStart && time < this.#lastEnd)) {
        this.#lastStart = alignDown(time, size)
        this.#lastEnd = this.#lastStart + size
      }
      this.#table.addId(this.#lastStart, keyId, this.#keys as StringTable, event)
      return
    }
    for (let start = alignDown(time, advance); start > time - size; start -= advance)
      this.#table.addId(start, keyId, this.#keys as StringTable, event)
  }

  #byView(event: StrataEvent, keyId: number): void {
    this.#view.fold(this.#table, event, keyId)
  }
}
