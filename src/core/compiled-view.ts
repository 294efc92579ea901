// A view compiled for the layers: the one implementation of "which (key, window) groups does this
// event go to, and how does it change their state" that the batch layer and the speed layer
// share, so they cannot drift.
//
// fold() is the hot path, called once per event per view: no closures, arrays or strings are
// created per event (the pipeline is specialized once here, and the table caches the current
// window), so the cost is the user's functions, one event-time read and the table's add (one or
// two map lookups).
//
// Event time: windowed views read the raw event's time field (epoch ms or ISO-8601, as
// parseEventTime). Events reach the layers validated (checkEvent at the edge, the dead-letter
// path for foreign Kafka records), so an unreadable time here is a bug upstream and throws
// STRATA_ERR_INVALID_EVENT_TIME rather than being dropped silently.
import { ErrorCodes, invalidInput, StrataError } from './errors.ts'
import type { StrataEvent } from './event.ts'
import { maxEventTime, parseEventTime } from './event-time.ts'
import { itemOf, type Monoid } from './monoid.ts'
import { checkTimeRange, type TimeRange } from './time-range.ts'
import { incompleteField, type View } from './view.ts'
import { fieldsRead, keyFieldOf } from './view-fields.ts'
import { codeHash } from './view-hash.ts'
import { type FoldTable, ViewTable } from './view-table.ts'
import { alignDown, GLOBAL_WINDOW_START, type Window } from './window.ts'

export interface WindowResult<R> {
  windowStart: number
  windowEnd: number
  value: R
}

export interface CompiledView<S = unknown, R = unknown> {
  readonly name: string
  readonly view: View<any, S, R>
  readonly codeHash: string
  readonly timeField: string
  readonly window: Window | null
  readonly monoid: Monoid<S, any, R>
  /**
   * The fields of the raw event this view reads, or null when it needs whole events
   * (view-fields.ts): the batch layer decodes only these from the master dataset.
   */
  readonly fields: readonly string[] | null
  /**
   * The field whose value is the key, when the key function is a plain `(e) => e.field` read
   * of the event itself (no map step before it; view-fields.ts, keyFieldOf), else null.
   */
  readonly keyField: string | null
  /**
   * Folds one event into the table; returns how many groups it went to (0: filtered or no key).
   * `keyId`: when the key is keyField's value and that is a string, its id in the dictionary of
   * the segment being folded (the batch fold, partition-fold.ts), else -1 (the default).
   */
  fold(table: FoldTable, event: StrataEvent, keyId?: number): number
  createTable(): ViewTable<S>
  /** The answer for one state (what a non-windowed view returns). */
  result(state: S): R
  /** Per-window answers of one key, ascending, limited to window starts in [from, to). */
  windowResults(windows: Iterable<readonly [number, S]>, range?: TimeRange): Array<WindowResult<R>>
}

const SKIP = Symbol('skip')

export function compileView<S, R>(view: View<any, S, R>, timeField = 'ts'): CompiledView<S, R> {
  const missing = incompleteField(view)
  if (missing !== null) {
    throw invalidInput(ErrorCodes.INVALID_VIEW, `view '${view.name}' has no ${missing}()`, { field: missing })
  }
  const monoid = view.monoid as Monoid<S, any, R>
  const keyFn = view.keyFn as (input: unknown) => unknown
  const window = view.timeWindow
  const prepare = pipeline(view)
  const timeOf = (event: StrataEvent): number => {
    const t = event[timeField]
    if (typeof t === 'number' && Number.isSafeInteger(t) && t >= 0 && t <= maxEventTime) return t
    const parsed = parseEventTime(t)
    if (parsed === undefined) {
      throw new StrataError(
        ErrorCodes.INVALID_EVENT_TIME,
        `view '${view.name}': event-time field "${timeField}" is not a time: ${JSON.stringify(t)}`,
        { field: timeField },
      )
    }
    return parsed
  }

  const size = window?.size ?? 0
  const advance = window?.advance ?? 0
  // The tumbling window of the last event routed (see route).
  let lastStart = Number.NaN
  let lastEnd = Number.NaN
  const route = (table: FoldTable, event: StrataEvent, input: unknown, keyId: number): number => {
    const k = keyFn(input)
    const key = typeof k === 'string' ? k : itemOf(k)
    if (key === undefined) return 0
    if (window === null) {
      table.add(GLOBAL_WINDOW_START, key, input, keyId)
      return 1
    }
    const time = timeOf(event)
    if (advance === size) {
      // Events mostly fall in the window of the event before: two comparisons then, instead of
      // alignDown's floating-point remainder (a call out of the JIT's code in V8). An aligned
      // start s with s <= time < s + size is alignDown(time, size): there is one such s.
      if (!(time >= lastStart && time < lastEnd)) {
        lastStart = alignDown(time, size)
        lastEnd = lastStart + size
      }
      table.add(lastStart, key, input, keyId)
      return 1
    }
    let n = 0
    for (let start = alignDown(time, advance); start > time - size; start -= advance) {
      table.add(start, key, input, keyId)
      n++
    }
    return n
  }

  // A key id stands for the key only when the key is the event's own field; else it is ignored.
  const keyField = view.steps.every((s) => s.kind === 'filter') ? keyFieldOf(keyFn) : null
  const ids = keyField !== null
  let fold: CompiledView<S, R>['fold']
  if (prepare === null) fold = (table, event, keyId = -1) => route(table, event, event, ids ? keyId : -1)
  else if (view.steps.length === 1 && view.steps[0].kind === 'filter') {
    const keep = view.steps[0].fn
    fold = (table, event, keyId = -1) => (keep(event) ? route(table, event, event, ids ? keyId : -1) : 0)
  } else {
    fold = (table, event, keyId = -1) => {
      const input = prepare(event)
      return input === SKIP ? 0 : route(table, event, input, ids ? keyId : -1)
    }
  }

  return Object.freeze({
    name: view.name,
    view,
    codeHash: codeHash(view, timeField),
    timeField,
    window,
    monoid,
    fields: Object.freeze(fieldsRead(view, timeField)),
    keyField,
    fold,
    createTable: () => new ViewTable<S>(monoid),
    result: (state: S) => monoid.result(state),
    windowResults(windows: Iterable<readonly [number, S]>, range: TimeRange = {}): Array<WindowResult<R>> {
      checkTimeRange(range)
      const from = range.from ?? Number.NEGATIVE_INFINITY
      const to = range.to ?? Number.POSITIVE_INFINITY
      const out: Array<WindowResult<R>> = []
      for (const [start, state] of windows) {
        if (start >= from && start < to) {
          out.push({ windowStart: start, windowEnd: start + size, value: monoid.result(state) })
        }
      }
      return out.sort((a, b) => a.windowStart - b.windowStart)
    },
  })
}

/** The filter/map steps as one function returning the input for key/aggregate, or SKIP. */
function pipeline(view: View<any, any, any>): ((event: StrataEvent) => unknown) | null {
  const steps = view.steps
  if (steps.length === 0) return null
  const kinds = steps.map((s) => s.kind === 'filter')
  const fns = steps.map((s) => s.fn)
  return (event) => {
    let input: unknown = event
    for (let i = 0; i < fns.length; i++) {
      if (kinds[i]) {
        if (!fns[i](input)) return SKIP
      } else input = fns[i](input)
    }
    return input
  }
}
