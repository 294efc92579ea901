// A view's aggregate is a monoid: an identity `zero()`, a way to `lift` one input into a state,
// and an associative `combine`. That is what lets the batch layer fold partitions in parallel and
// the serving layer add realtime partials to a batch view: any split of the events, folded
// piecewise and combined, equals the fold of the whole. Every built-in is proved against these
// laws by property tests in test/core/monoids/.
//
// Contract beyond the laws, for the hot path and for storage:
// - add(state, input) folds one input in place. It may mutate and return `state`, and its result
//   equals combine(state, lift(input)). Always use the returned value (numbers are immutable).
// - combine(a, b) may mutate and return `a`; it never mutates `b` and never keeps a reference to
//   `b` or to anything inside it, so `b` stays valid and independent. To combine without giving up
//   `a`, write combine(combine(zero(), a), b).
// - zero() and lift() return fresh states that share nothing.
// - encode(state) returns a JSON-safe value that is canonical (equal states encode to equal JSON)
//   and self-describing (sketches carry their type, version and parameters); decode() accepts
//   exactly what encode() returns, after a JSON round trip, and throws STRATA_ERR_INVALID_STATE on
//   anything else (for example a sketch written with other parameters).
// - result(state) is the answer a query prints.
import { ErrorCodes, StrataError } from './errors.ts'
import type { Json } from './event.ts'

/** What identifies an aggregate: part of a view's code hash and of every encoded sketch. */
export interface MonoidDefinition {
  readonly name: string
  /** Bumped whenever the meaning or the encoding of states changes. */
  readonly version: number
  readonly params: { readonly [name: string]: Json }
  /** Source text of the functions the aggregate calls (value extractors). */
  readonly functions: readonly string[]
}

export interface Monoid<S, In = unknown, R = unknown> {
  readonly definition: MonoidDefinition
  /** True when combine(a, b) equals combine(b, a); every built-in is. */
  readonly commutative: boolean
  zero(): S
  lift(input: In): S
  combine(a: S, b: S): S
  add(state: S, input: In): S
  result(state: S): R
  encode(state: S): Json
  decode(encoded: Json): S
}

// Which functions a built-in monoid's add() passes its input to, so that the batch layer can tell
// which event fields a view reads (view-fields.ts). Only the factories in monoids/ record this, in
// a module-private map keyed by the monoid object itself: a copy ({ ...sum(fn), add }) or a
// monoid written by a user is not in it, and a view using one is folded over whole events.
const inputReaders = new WeakMap<object, { add: unknown; readers: ReadonlyArray<(input: any) => unknown> }>()

/** Records that `monoid.add` reads its input only by calling `readers` with it (built-ins only). */
export function withInputReaders<M extends Monoid<any, any, any>>(
  monoid: M,
  readers: ReadonlyArray<(input: any) => unknown>,
): M {
  inputReaders.set(monoid, { add: monoid.add, readers: Object.freeze([...readers]) })
  return monoid
}

/** The functions a built-in monoid's add() passes its input to, or undefined when unknown. */
export function inputReadersOf(
  monoid: Monoid<any, any, any>,
): ReadonlyArray<(input: any) => unknown> | undefined {
  const known = inputReaders.get(monoid)
  // add() replaced on the object after the factory returned it: no longer what was recorded.
  return known !== undefined && known.add === monoid.add ? known.readers : undefined
}

// Built-in monoids whose state is one double (count, sum while exact, min, max) also record a
// numeric kernel: the same add() on a state held as a double, so that the batch fold can keep
// such states in a Float64Array, one slot per group, instead of a Map entry per group that is
// read and written back per event (batch/numeric-table.ts). Module-private as inputReaders is:
// a copy of a monoid, or one written by a user, has none and is folded the generic way.
export interface NumericKernel<S = unknown, In = any> {
  /** zero() as a double. */
  readonly zero: number
  /**
   * add() on a state held as a double. It returns the next state as a double, or the monoid's
   * own state when that is no longer one double (a sum that became inexact, exact-sum.ts): the
   * group then goes on with the monoid's add() on that state.
   */
  add(held: number, input: In): number | S
  /** The monoid's state for a double the kernel holds. */
  state(held: number): S
  /**
   * True when combine() gives the same bits whatever the grouping of the states (count below
   * 2^53 per group, min, max); false for sum, whose overflow to ±Infinity depends on it. The
   * batch run may then let each thread combine a run of partitions (batch-run.ts).
   */
  readonly associative: boolean
}

const numericKernels = new WeakMap<object, { add: unknown; kernel: NumericKernel<any, any> }>()

/** Records the numeric kernel of a built-in monoid (see NumericKernel). */
export function withNumericKernel<S, In, M extends Monoid<S, In, any>>(
  monoid: M,
  kernel: NumericKernel<S, In>,
): M {
  numericKernels.set(monoid, { add: monoid.add, kernel: Object.freeze(kernel) })
  return monoid
}

/** The numeric kernel of a built-in monoid, or undefined (not one, or add() since replaced). */
export function numericKernelOf<S>(monoid: Monoid<S, any, any>): NumericKernel<S> | undefined {
  const known = numericKernels.get(monoid)
  return known !== undefined && known.add === monoid.add ? known.kernel : undefined
}

/** The state, input and result types of a monoid. */
export type StateOf<M> = M extends Monoid<infer S, any, any> ? S : never
export type ResultOf<M> = M extends Monoid<any, any, infer R> ? R : never

export function isMonoid(value: unknown): value is Monoid<unknown> {
  if (value === null || typeof value !== 'object') return false
  const m = value as Monoid<unknown>
  return (
    typeof m.zero === 'function' &&
    typeof m.lift === 'function' &&
    typeof m.combine === 'function' &&
    typeof m.add === 'function' &&
    typeof m.result === 'function' &&
    typeof m.encode === 'function' &&
    typeof m.decode === 'function' &&
    typeof m.definition?.name === 'string'
  )
}

/**
 * Items compared by aggregates (distinct values, top-k items) and view keys are strings. Other
 * values map to their string form: numbers and booleans as String(v), objects as JSON; null and
 * undefined mean "no value" and the input is skipped (as SQL aggregates skip NULL).
 */
export function itemOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (value === undefined || value === null) return undefined
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value)
  return JSON.stringify(value)
}

/**
 * Numeric aggregates (sum, min, max, mean, quantiles) take finite numbers only; anything else
 * (a missing field, null, a string, NaN) is skipped, as SQL skips NULL. Strings are not parsed:
 * '12' is not 12, because guessing would make the result depend on formatting.
 */
export function isNumeric(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

/** The source text of a value extractor, for the code hash. */
export function sourceOf(fn: (...args: any[]) => unknown): string {
  return Function.prototype.toString.call(fn)
}

export function definitionOf(
  name: string,
  version: number,
  params: { [name: string]: Json },
  functions: Array<(...args: any[]) => unknown> = [],
): MonoidDefinition {
  return Object.freeze({
    name,
    version,
    params: Object.freeze(params),
    functions: Object.freeze(functions.map(sourceOf)),
  })
}

/** A state that does not decode for this monoid: corrupt, or written by another definition. */
export function invalidState(monoid: string, message: string, cause?: unknown): StrataError {
  return new StrataError(ErrorCodes.INVALID_STATE, `cannot decode ${monoid} state: ${message}`, { cause })
}

/** The envelope every encoded sketch carries, checked on decode. */
export function checkEnvelope(
  encoded: Json,
  type: string,
  version: number,
  params: { [name: string]: Json },
): { [key: string]: Json } {
  if (encoded === null || typeof encoded !== 'object' || Array.isArray(encoded)) {
    throw invalidState(type, `expected an object, got ${JSON.stringify(encoded)?.slice(0, 80)}`)
  }
  if (encoded.type !== type || encoded.version !== version) {
    throw invalidState(
      type,
      `expected type ${type} version ${version}, got ${encoded.type} version ${encoded.version}`,
    )
  }
  for (const [name, value] of Object.entries(params)) {
    if (encoded[name] !== value) {
      throw invalidState(
        type,
        `it was written with ${name}=${encoded[name]}, this view uses ${name}=${value}`,
      )
    }
  }
  return encoded
}

/** Argument checks for monoid factories, raised when the config is evaluated. */
export function checkFunction(fn: unknown, where: string): void {
  if (typeof fn !== 'function') {
    throw new StrataError(ErrorCodes.INVALID_VIEW, `${where} needs a function, got ${typeof fn}`)
  }
}

export function checkInteger(value: unknown, where: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw new StrataError(
      ErrorCodes.INVALID_VIEW,
      `${where} must be an integer from ${min} to ${max}, got ${value}`,
    )
  }
  return value as number
}
