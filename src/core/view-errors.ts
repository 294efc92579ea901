// A view whose own code throws on an event (a filter, map, key or aggregate function, or an
// event time the view cannot read) must not stop the other views, and must not be hidden. The
// rule, the same in the batch layer and the speed layer so that their answers still agree:
//
//   the event is skipped by that view only, and the error is recorded with the view, the
//   partition, the offset and the message.
//
// A view's answer is then exactly the fold over the events its code accepts. A view defined with
// `.onError('stop')` stops instead: its partition's speed layer stops and the batch run fails,
// with STRATA_ERR_VIEW_FAILED naming the view, partition, offset and message. The error carries
// that event as `failure` (ViewFailedError, rebuilt on this side of a thread), so what answers
// for the view (viewState below: /views, /views/:view/errors, the dashboard, /metrics) says it
// stopped, and where.
//
// Recorded errors are tallied per view: the batch layer's with each batch version (a recompute
// counts afresh), the speed layer's in the store with the commit that skipped them (so a commit
// retried or re-done by a new owner counts them once, as it counts its events once).
import type { CompiledView } from './compiled-view.ts'
import { ErrorCodes, StrataError } from './errors.ts'
import type { StrataEvent } from './event.ts'
import type { ViewTable } from './view-table.ts'

/** One event a view's code threw on. */
export interface ViewFoldError {
  view: string
  partition: number
  offset: number
  message: string
}

/** Where a view defined with onError('stop') threw, and which layer it stopped. */
export interface ViewStop extends ViewFoldError {
  layer: 'speed' | 'batch'
}

/** STRATA_ERR_VIEW_FAILED with the event the view threw on. */
export class ViewFailedError extends StrataError {
  readonly failure: ViewFoldError

  constructor(failure: ViewFoldError, message?: string, options: { cause?: unknown } = {}) {
    super(
      ErrorCodes.VIEW_FAILED,
      message ??
        `view '${failure.view}' threw on partition ${failure.partition} offset ${failure.offset}: ${failure.message} (the view is defined with onError('stop'))`,
      options,
    )
    this.failure = failure
  }
}

/** The event a VIEW_FAILED error names, if `error` is one (a ViewFailedError). */
export function failureOf(error: unknown): ViewFoldError | undefined {
  return error instanceof ViewFailedError ? error.failure : undefined
}

/** What one layer recorded for one view. */
export interface ViewErrorTally {
  /** Events the view's code threw on. */
  count: number
  /** The newest recorded errors, oldest first (at most RECENT_ERRORS). */
  recent: ViewFoldError[]
  /** Speed layer: the last commit that recorded errors, and how many events it offered. */
  last?: { errors: number; offered: number; at: number }
  /**
   * Speed layer: the partitions this view (onError('stop')) stopped, with the event it threw on,
   * recorded as each stopped (recordViewStop) so that a process that only serves knows it. Gone
   * with the tally when the view is redefined; a stop whose partition has since committed past
   * its event is over (currentStops). Not in `count`: what answers for the view adds the current ones.
   */
  stops?: ViewFoldError[]
}

export const RECENT_ERRORS = 20
const MESSAGE_CHARS = 500

/** Where the errors of one fold go, per view (index in the compiled views' order). */
export type ErrorSink = (error: ViewFoldError) => void

/** The message of whatever a view threw, bounded in length. */
export function messageOf(thrown: unknown): string {
  const text = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown)
  return text.length > MESSAGE_CHARS ? `${text.slice(0, MESSAGE_CHARS)}…` : text
}

/**
 * Folds an event into one view's table under the rule above: true when folded (or filtered
 * out), false when the view threw and the error went to `sink`. Throws VIEW_FAILED for a view
 * that stops on errors.
 */
export function foldChecked(
  view: CompiledView<any, any>,
  table: ViewTable<any>,
  event: StrataEvent,
  partition: number,
  offset: number,
  sink: ErrorSink,
): boolean {
  try {
    view.fold(table, event)
    return true
  } catch (thrown) {
    recordThrown(view, partition, offset, thrown, sink)
    return false
  }
}

/**
 * What `view` threw on the event at (partition, offset), under the rule above: sent to `sink`, or
 * thrown as VIEW_FAILED for a view that stops on errors. For folds that catch outside their loop.
 */
export function recordThrown(
  view: CompiledView<any, any>,
  partition: number,
  offset: number,
  thrown: unknown,
  sink: ErrorSink,
): void {
  const error: ViewFoldError = { view: view.name, partition, offset, message: messageOf(thrown) }
  if (view.view.errorPolicy === 'stop') throw new ViewFailedError(error, undefined, { cause: thrown })
  sink(error)
}

/** A tally with `errors` added (newest kept), for `offered` events in one commit at `at`. */
export function addToTally(
  tally: ViewErrorTally | undefined,
  errors: readonly ViewFoldError[],
  offered: number,
  at: number,
): ViewErrorTally {
  const recent = [...(tally?.recent ?? []), ...errors].slice(-RECENT_ERRORS)
  return {
    count: (tally?.count ?? 0) + errors.length,
    recent,
    last: { errors: errors.length, offered, at },
    ...(tally?.stops ? { stops: tally.stops } : {}),
  }
}

/** A tally with `failure` as its partition's stop (a partition's newer stop replaces its older). */
export function withStop(tally: ViewErrorTally | undefined, failure: ViewFoldError): ViewErrorTally {
  const stops = [...(tally?.stops ?? []).filter((s) => s.partition !== failure.partition), failure]
  return { ...(tally ?? { count: 0, recent: [] }), stops: stops.sort((a, b) => a.partition - b.partition) }
}

/**
 * The stops of one view that hold now: those the roles of this process report (`inProcess`, any
 * view's: RoleReport.viewStops), and those the store recorded (`tally.stops`) whose partition
 * has not committed past the event it stopped on (`speedOffsets`: the consumed offset per
 * partition). One per layer and partition, the process's own first.
 */
export function currentStops(
  view: string,
  tally: ViewErrorTally | undefined,
  speedOffsets: ReadonlyArray<number | null | undefined>,
  inProcess: readonly ViewStop[],
): ViewStop[] {
  const out = inProcess.filter((s) => s.view === view)
  for (const s of tally?.stops ?? []) {
    const consumed = speedOffsets[s.partition]
    if (consumed !== null && consumed !== undefined && consumed > s.offset) continue
    if (out.some((o) => o.layer === 'speed' && o.partition === s.partition)) continue
    out.push({ ...s, layer: 'speed' })
  }
  return out
}

/** Errors grouped by view name. */
export function byView(errors: readonly ViewFoldError[]): Map<string, ViewFoldError[]> {
  const out = new Map<string, ViewFoldError[]>()
  for (const e of errors) {
    const list = out.get(e.view)
    if (list) list.push(e)
    else out.set(e.view, [e])
  }
  return out
}

/**
 * A view is failing when its code throws on most of what it is offered: in the batch layer, on
 * more than half of the served version's events; in the speed layer, in the last commit that
 * recorded errors, if that commit was recent (within `recentMs`).
 */
export function isFailing(
  batch: { errors: number; events: number } | undefined,
  speed: ViewErrorTally | undefined,
  now: number,
  recentMs = 60_000,
): boolean {
  if (batch && batch.events > 0 && batch.errors * 2 > batch.events) return true
  const last = speed?.last
  return last !== undefined && now - last.at <= recentMs && last.offered > 0 && last.errors * 2 > last.offered
}

/** What a view's answers say of its code: see viewState. */
export type ViewState = 'ok' | 'failing' | 'stopped'

/**
 * The one rule for a view's state, wherever it is shown: 'stopped' while a layer is stopped on
 * an event the view (defined with onError('stop')) threw on — `stops` are this view's, from the
 * roles that know it (role-health.ts, RoleReport.viewStops) — else 'failing' (isFailing), else 'ok'.
 */
export function viewState(
  batch: { errors: number; events: number } | undefined,
  speed: ViewErrorTally | undefined,
  stops: readonly ViewStop[],
  now: number,
): ViewState {
  if (stops.length > 0) return 'stopped'
  return isFailing(batch, speed, now) ? 'failing' : 'ok'
}
