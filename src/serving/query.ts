// A query: the answer of one view for one key, with the metadata that says what it covers.
// Shared by `GET /views/:view/:key` and `strata query`.
//
// Today the answer is the served batch version alone (events with offset < horizon[p]); the
// speed layer's realtime views are merged in here (batch ⊕ realtime) once it exists.
import type { CompiledView, WindowResult } from '../core/compiled-view.ts'
import { ErrorCodes, invalidInput } from '../core/errors.ts'
import { parseEventTime } from '../core/event.ts'
import type { Horizon, Store } from '../store/store.ts'

export interface QueryRange {
  from?: number
  to?: number
}

export interface QueryAnswer {
  view: string
  key: string
  /** Per window, ascending, for windowed views. */
  windows?: Array<WindowResult<unknown>>
  /** The single value of a view without a window. */
  value?: unknown
  batch: { version: number; horizon: Horizon; codeHash: string; completedAt: number } | null
  /** Offsets per partition the answer covers: it equals folding the view over every event below them. */
  asOf: Horizon
}

export async function queryView(
  store: Store,
  view: CompiledView<any, any>,
  key: string,
  range: QueryRange = {},
): Promise<QueryAnswer> {
  if (range.from !== undefined && range.to !== undefined && range.from > range.to) {
    throw invalidInput(ErrorCodes.INVALID_TIME_RANGE, `from (${range.from}) is after to (${range.to})`, {
      field: 'from',
    })
  }
  const served = await store.servedBatch(view.name)
  const states: Array<[number, unknown]> = []
  if (served && served.codeHash === view.codeHash) {
    // A window overlaps [from, to) when it ends after from; windowed ranges select by start.
    const from =
      range.from === undefined || view.window === null ? undefined : range.from - view.window.size + 1
    for (const entry of await store.readBatch(view.name, served.version, key, { from, to: range.to })) {
      states.push([entry.window, view.monoid.decode(entry.state as never)])
    }
  }
  const batch = served
    ? {
        version: served.version,
        horizon: served.horizon,
        codeHash: served.codeHash,
        completedAt: served.completedAt,
      }
    : null
  const answer: QueryAnswer = { view: view.name, key, batch, asOf: served?.horizon ?? [] }
  if (view.window === null) {
    answer.value = view.result(states.length > 0 ? states[0][1] : view.monoid.zero())
  } else {
    answer.windows = view.windowResults(states, {
      from: range.from === undefined ? undefined : range.from - view.window.size + 1,
      to: range.to,
    })
  }
  return answer
}

/** A time bound from a query string or flag: epoch ms or ISO-8601. */
export function parseTimeBound(value: string | undefined, field: 'from' | 'to'): number | undefined {
  if (value === undefined || value === '') return undefined
  const asNumber = /^\d+$/.test(value) ? Number(value) : value
  const ms = parseEventTime(asNumber)
  if (ms === undefined) {
    throw invalidInput(
      ErrorCodes.INVALID_TIME_RANGE,
      `${field} must be epoch milliseconds or ISO-8601, got "${value}"`,
      {
        field,
      },
    )
  }
  return ms
}
