// What the serving layer says about a view besides its values: which batch version serves it,
// where the speed layer is, what the answers cover (asOf) and how far behind the log they are.
//
// asOf and `recomputing` come from query.ts's answerFrom over a store snapshot that selects no
// group (an empty window range): asOf does not depend on the key, so this is exactly the asOf
// every query of the view would report at that moment, computed by the same code, and read in
// one snapshot like a query.
import type { CompiledView } from '../../core/compiled-view.ts'
import { ErrorCodes, invalidInput } from '../../core/errors.ts'
import {
  currentStops,
  type ViewErrorTally,
  type ViewState,
  type ViewStop,
  viewState,
} from '../../core/view-errors.ts'
import type { BatchViewMeta, Horizon, Store } from '../../store/store.ts'
import { answerFrom } from '../query.ts'
import { type LogOffsets, lagOf } from './log-offsets.ts'

export interface ViewStatus {
  name: string
  window: { kind: 'tumbling' | 'hopping'; size: number; advance: number } | null
  /** The aggregate's name (count, sum, distinctCount, topK, …). */
  aggregate: string
  /** Hash of the view's definition as configured now. */
  codeHash: string
  /** The served batch version, or null before the first batch run of the view. */
  batch: (Omit<BatchViewMeta, 'view'> & { durationMs: number }) | null
  /** True while the served batch version is of an older definition of the view. */
  recomputing: boolean
  /** The speed layer's consumed offset per partition (null where it never ran). */
  speed: Array<number | null>
  /** Offsets per partition that every answer of this view covers right now. */
  asOf: Horizon
  /** Per partition: end offset of the log − asOf; null when the end offsets are unknown. */
  lag: number[] | null
  /**
   * Events the view's code threw on: skipped by it in the served batch version and in the speed
   * layer, and those it stopped on (`stops`).
   */
  errors: { batch: number; speed: number }
  /**
   * 'stopped' while a layer is stopped on an event the view (onError('stop')) threw on,
   * 'failing' when its code throws on most events, else 'ok' (core/view-errors.ts, viewState).
   */
  state: ViewState
  /** Where the view threw and stopped a layer (a speed partition, the batch run); empty when none. */
  stops: ViewStop[]
}

export async function readViewStatus(
  store: Store,
  view: CompiledView<any, any>,
  offsets: LogOffsets | undefined,
  speedErrors?: ReadonlyMap<string, ViewErrorTally>,
  /** Every view stop this process's roles know (role-health.ts, viewStops); with the store's (currentStops). */
  allStops: readonly ViewStop[] = [],
): Promise<ViewStatus> {
  // from = to = 0 selects no window (and not the pseudo window 0 of unwindowed views).
  const snapshot = await store.snapshot(view.name, '', { from: 0, to: 0 })
  const answer = answerFrom(view, '', snapshot)
  const served = snapshot.batch
  let batch: ViewStatus['batch'] = null
  if (served !== undefined) {
    const { view: _name, ...meta } = served
    batch = { ...meta, durationMs: meta.completedAt - meta.startedAt }
  }
  const window = view.window
  const speedTally = (speedErrors ?? (await store.speedViewErrors())).get(view.name)
  const batchErrors = served?.foldErrors?.count ?? 0
  const stops = currentStops(view.name, speedTally, answer.speed, allStops)
  const state = viewState(
    served ? { errors: batchErrors, events: served.events } : undefined,
    speedTally,
    stops,
    Date.now(),
  )
  const stoppedIn = (layer: ViewStop['layer']) => stops.filter((s) => s.layer === layer).length
  return {
    name: view.name,
    window: window === null ? null : { kind: window.kind, size: window.size, advance: window.advance },
    aggregate: view.monoid.definition.name,
    codeHash: view.codeHash,
    batch,
    recomputing: answer.recomputing,
    speed: answer.speed,
    asOf: answer.asOf,
    lag: lagOf(answer.asOf, offsets),
    errors: { batch: batchErrors + stoppedIn('batch'), speed: (speedTally?.count ?? 0) + stoppedIn('speed') },
    state,
    stops,
  }
}

/** The configured views by name; `get` throws STRATA_ERR_UNKNOWN_VIEW (404) for any other. */
export class ViewIndex {
  readonly #views: Map<string, CompiledView<any, any>>

  constructor(views: ReadonlyArray<CompiledView<any, any>>) {
    this.#views = new Map(views.map((v) => [v.name, v]))
  }

  all(): CompiledView<any, any>[] {
    return [...this.#views.values()]
  }

  /** The view named `name`, or undefined (get() refuses with STRATA_ERR_UNKNOWN_VIEW). */
  find(name: string): CompiledView<any, any> | undefined {
    return this.#views.get(name)
  }

  get(name: string): CompiledView<any, any> {
    const view = this.#views.get(name)
    if (view === undefined) {
      const names = [...this.#views.keys()].join(', ') || 'none'
      throw invalidInput(ErrorCodes.UNKNOWN_VIEW, `no view named '${name}' (views: ${names})`, {
        field: 'view',
      })
    }
    return view
  }
}
