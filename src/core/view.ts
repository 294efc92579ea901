// A view is the unit a user defines once and both layers run: a pipeline of filter and map
// steps, a key, an optional event-time window and an aggregate monoid.
//
//   view('pageviews_by_url').filter((e) => e.type === 'page_view').key((e) => e.url)
//     .window(tumbling('1h')).aggregate(count())
//
// Every builder step returns a new frozen view, so a partly built view can be shared and
// extended safely. Filter and map steps run in the order written and must come before key() and
// aggregate(), which see their output. A filter keeps the inputs for which it returns a truthy
// value. The key is a string (other values map through itemOf; null/undefined skip the input).
// The window always uses the raw event's event time, so a map step cannot break windowing.
//
// Identity: a view's code hash (view-hash.ts) covers the source text of its functions, its
// window and its aggregate's parameters, so a changed definition is noticed and recomputed.
import { ErrorCodes, invalidInput } from './errors.ts'
import type { Json, StrataEvent } from './event.ts'
import { isMonoid, type Monoid, sourceOf } from './monoid.ts'
import { describeWindow, isWindow, type Window } from './window.ts'

export interface ViewStep {
  readonly kind: 'filter' | 'map'
  readonly fn: (input: any) => unknown
}

/** Lower-case or upper-case letters, digits, '_' and '-', starting with a letter: safe in URLs and topic names. */
export const VIEW_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/

const viewBrand = Symbol.for('strata.view')

interface ViewParts {
  name: string
  steps: readonly ViewStep[]
  keyFn: ((input: any) => unknown) | undefined
  timeWindow: Window | null
  windowSet: boolean
  monoid: Monoid<any, any, any> | undefined
  errorPolicy: ViewErrorPolicy
}

/** What a view does when its code throws on an event (core/view-errors.ts). */
export type ViewErrorPolicy = 'skip' | 'stop'

export class View<E = StrataEvent, S = unknown, R = unknown> {
  readonly name: string
  readonly steps: readonly ViewStep[]
  readonly keyFn: ((input: E) => unknown) | undefined
  /** The event-time window, null when not windowed. */
  readonly timeWindow: Window | null
  /** The aggregate monoid, undefined until aggregate() is called. */
  readonly monoid: Monoid<S, E, R> | undefined
  /** 'skip' (default): the event is skipped by this view and the error recorded; 'stop': the layers stop. */
  readonly errorPolicy: ViewErrorPolicy
  readonly #windowSet: boolean

  constructor(parts: ViewParts) {
    this.name = parts.name
    this.steps = Object.freeze([...parts.steps])
    this.keyFn = parts.keyFn
    this.timeWindow = parts.timeWindow
    this.monoid = parts.monoid
    this.errorPolicy = parts.errorPolicy
    this.#windowSet = parts.windowSet
    Object.defineProperty(this, viewBrand, { value: true })
    Object.freeze(this)
  }

  /** Keeps the inputs for which fn returns a truthy value. */
  filter(fn: (input: E) => unknown): View<E, S, R> {
    this.#checkPipelineStep('filter', fn)
    return this.#with({ steps: [...this.steps, { kind: 'filter', fn }] })
  }

  /** Replaces each input by fn(input) for the steps after it, the key and the aggregate. */
  map<F>(fn: (input: E) => F): View<F, unknown, unknown> {
    this.#checkPipelineStep('map', fn)
    return this.#with({ steps: [...this.steps, { kind: 'map', fn }] }) as unknown as View<F, unknown, unknown>
  }

  /** The grouping key; a constant (() => 'all') makes one group. */
  key(fn: (input: E) => unknown): View<E, S, R> {
    this.#check(typeof fn === 'function', 'key', 'key(fn) needs a function')
    this.#check(this.keyFn === undefined, 'key', 'key() is already set')
    return this.#with({ keyFn: fn })
  }

  /** An event-time window: tumbling('1h') or hopping({ size, advance }). */
  window(window: Window): View<E, S, R> {
    this.#check(isWindow(window), 'window', 'window() needs tumbling(...) or hopping(...)')
    this.#check(!this.#windowSet, 'window', 'window() is already set')
    return this.#with({ timeWindow: window, windowSet: true })
  }

  /** The aggregate: a monoid such as count(), sum(fn), distinctCount(fn), topK(k, fn). */
  aggregate<S2, R2>(monoid: Monoid<S2, E, R2>): View<E, S2, R2> {
    this.#check(isMonoid(monoid), 'aggregate', 'aggregate() needs a monoid such as count() or sum(fn)')
    this.#check(this.monoid === undefined, 'aggregate', 'aggregate() is already set')
    return this.#with({ monoid }) as unknown as View<E, S2, R2>
  }

  /**
   * When the view's code throws on an event: 'skip' (the default) skips the event for this view
   * only and records the error (GET /views/:view/errors); 'stop' stops the speed layer's
   * partition and fails the batch run, for views where a skipped event is worse than no answer.
   * Not part of the code hash: the answer over the events the view accepts does not change.
   */
  onError(policy: ViewErrorPolicy): View<E, S, R> {
    this.#check(policy === 'skip' || policy === 'stop', 'onError', "onError() takes 'skip' or 'stop'")
    return this.#with({ errorPolicy: policy })
  }

  /** The definition as JSON: what the code hash covers, and what GET /views can show. */
  describe(): Json {
    return {
      name: this.name,
      steps: this.steps.map((step) => ({ kind: step.kind, source: sourceOf(step.fn) })),
      key: this.keyFn === undefined ? null : sourceOf(this.keyFn),
      window: describeWindow(this.timeWindow),
      aggregate: this.monoid === undefined ? null : (this.monoid.definition as unknown as Json),
    }
  }

  #with(changes: Partial<ViewParts>): View<E, S, R> {
    return new View({
      name: this.name,
      steps: this.steps,
      keyFn: this.keyFn,
      timeWindow: this.timeWindow,
      windowSet: this.#windowSet,
      monoid: this.monoid,
      errorPolicy: this.errorPolicy,
      ...changes,
    })
  }

  #checkPipelineStep(step: 'filter' | 'map', fn: unknown): void {
    this.#check(typeof fn === 'function', step, `${step}(fn) needs a function`)
    this.#check(
      this.keyFn === undefined && this.monoid === undefined,
      step,
      `${step}() must come before key() and aggregate(), which see its output`,
    )
  }

  #check(condition: boolean, field: string, message: string): asserts condition {
    if (!condition) {
      throw invalidInput(ErrorCodes.INVALID_VIEW, `view '${this.name}': ${message}`, { field })
    }
  }
}

/** Starts a view definition. */
export function view<E = StrataEvent>(name: string): View<E> {
  if (typeof name !== 'string' || !VIEW_NAME.test(name)) {
    throw invalidInput(
      ErrorCodes.INVALID_VIEW,
      `view name must be 1-64 letters, digits, '_' or '-', starting with a letter, got ${JSON.stringify(name)}`,
      { field: 'name' },
    )
  }
  return new View<E>({
    name,
    steps: [],
    keyFn: undefined,
    timeWindow: null,
    windowSet: false,
    monoid: undefined,
    errorPolicy: 'skip',
  })
}

/** True for views built by view(), also from another copy of this module. */
export function isView(value: unknown): value is View<any, any, any> {
  return (
    value !== null && typeof value === 'object' && (value as { [viewBrand]?: boolean })[viewBrand] === true
  )
}

/** The reason a view cannot run yet (no key, no aggregate), or null when it is complete. */
export function incompleteField(v: View<any, any, any>): 'key' | 'aggregate' | null {
  if (v.keyFn === undefined) return 'key'
  if (v.monoid === undefined) return 'aggregate'
  return null
}
